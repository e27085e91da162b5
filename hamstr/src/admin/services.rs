//! The services' endpoint (rate limits, budgets, refused credentials), the cluster's (workers
//! and leases), liveness and readiness.

use axum::{Json, http::StatusCode};
use chrono::{DateTime, Utc};

use super::{State, problem::Problem};
use crate::app::ServiceStatus;

/// A service's rate limit as its API last reported it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(super) struct RateLimitView {
    limit: Option<u64>,
    remaining: Option<u64>,
    reset: Option<DateTime<Utc>>,
    /// When an answer last reported it.
    updated: Option<DateTime<Utc>>,
    /// Until when its requests wait (quota used up, or `Retry-After`).
    paused_until: Option<DateTime<Utc>>,
}

/// A service's client-side budget.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(super) struct BudgetView {
    requests_per_second: Option<u32>,
    requests_per_minute: Option<u32>,
    max_concurrent_requests: Option<usize>,
    /// The share of the API's quota hamstr may use.
    max_quota_fraction: f64,
}

/// One service.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(super) struct ServiceView {
    name: String,
    /// Without credentials.
    base_url: String,
    /// Null before its first request, or when its API reports none.
    rate_limit: Option<RateLimitView>,
    budget: BudgetView,
    /// The API's message when it refused the credentials (the service sends nothing more).
    credentials_refused: Option<String>,
}

impl From<ServiceStatus> for ServiceView {
    fn from(service: ServiceStatus) -> Self {
        Self {
            name: service.name,
            base_url: service.base_url,
            rate_limit: service.rate_limit.map(|rate| RateLimitView {
                limit: rate.limit,
                remaining: rate.remaining,
                reset: rate.reset,
                updated: rate.updated,
                paused_until: rate.paused_until,
            }),
            budget: BudgetView {
                requests_per_second: service.limits.requests_per_second,
                requests_per_minute: service.limits.requests_per_minute,
                max_concurrent_requests: service.limits.max_concurrent,
                max_quota_fraction: service.limits.max_quota_fraction,
            },
            credentials_refused: service.credentials_refused,
        }
    }
}

/// Every service.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(super) struct ServiceList {
    services: Vec<ServiceView>,
}

/// Every service: its rate limit as its API last reported it, its budget, refused credentials.
#[utoipa::path(get, path = "/api/services", tag = "services",
    responses((status = 200, description = "Every service: rate limit, budget, refused credentials", body = ServiceList)))]
pub(super) async fn services(axum::extract::State(shared): State) -> Json<ServiceList> {
    Json(ServiceList {
        services: shared
            .control
            .services()
            .into_iter()
            .map(ServiceView::from)
            .collect(),
    })
}

/// A health answer.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(super) struct Health {
    /// `ok` or `ready`.
    status: &'static str,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/health", tag = "health",
    responses((status = 200, description = "The process answers", body = Health)))]
pub(super) async fn health() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Readiness: the app is started and its store answers.
#[utoipa::path(get, path = "/ready", tag = "health",
    responses(
        (status = 200, description = "The app is started and its store answers", body = Health),
        (status = 503, description = "The store does not answer", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn ready(axum::extract::State(shared): State) -> Result<Json<Health>, Problem> {
    let unavailable = |detail: String| Problem::new(StatusCode::SERVICE_UNAVAILABLE, detail);
    match tokio::time::timeout(shared.ready_timeout, shared.control.check_store()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => return Err(unavailable(format!("the store does not answer: {error}"))),
        Err(_) => {
            return Err(unavailable(format!(
                "the store did not answer within {:?}",
                shared.ready_timeout
            )));
        }
    }
    Ok(Json(Health { status: "ready" }))
}

/// A worker sharing the store.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(super) struct WorkerView {
    name: String,
    started_at: DateTime<Utc>,
    /// Its last sign of life.
    heartbeat_at: DateTime<Utc>,
    /// This process.
    is_self: bool,
}

/// Who holds a collector.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(super) struct LeaseView {
    collector: String,
    /// The worker running it now; null when none does.
    holder: Option<String>,
    expires_at: Option<DateTime<Utc>>,
    /// When its next run is due, whichever worker takes it.
    next_due: Option<DateTime<Utc>>,
    /// Runs claimed so far.
    claims: i64,
    /// The worker whose lease ran out when the holder took it over.
    taken_over_from: Option<String>,
}

/// The workers sharing the store, and the collectors' leases.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(super) struct ClusterView {
    /// False when the store is not shared: the lists are then empty.
    is_shared: bool,
    /// This process's name among the workers.
    worker: Option<String>,
    workers: Vec<WorkerView>,
    leases: Vec<LeaseView>,
}

/// The workers sharing the store (PostgreSQL) and who holds which collector.
#[utoipa::path(get, path = "/api/cluster", tag = "collectors",
    responses(
        (status = 200, description = "The workers and the collectors' leases", body = ClusterView),
        (status = 503, description = "The store did not answer", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn cluster(
    axum::extract::State(shared): State,
) -> Result<Json<ClusterView>, Problem> {
    let worker = shared.control.worker_name();
    let Some(status) = shared.control.cluster_status().await? else {
        return Ok(Json(ClusterView {
            is_shared: false,
            worker: None,
            workers: Vec::new(),
            leases: Vec::new(),
        }));
    };
    Ok(Json(ClusterView {
        is_shared: true,
        workers: status
            .workers
            .into_iter()
            .map(|known| WorkerView {
                is_self: worker.as_deref() == Some(known.name.as_str()),
                name: known.name,
                started_at: known.started_at,
                heartbeat_at: known.heartbeat_at,
            })
            .collect(),
        leases: status
            .leases
            .into_iter()
            .map(|lease| LeaseView {
                collector: lease.collector.to_string(),
                holder: lease.holder,
                expires_at: lease.expires_at,
                next_due: lease.next_due,
                claims: lease.claims,
                taken_over_from: lease.taken_over_from,
            })
            .collect(),
        worker,
    }))
}
