//! The collectors' endpoints: status, load history, run now, pause, resume, reset.

use axum::{
    Json,
    extract::{Path, Query},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};

use super::{State, problem::Problem};
use crate::{
    app::RunNow,
    backend::Frontier,
    state::{CollectorStatus, RunRecord},
};

/// Runs shown unless `limit` says otherwise, and the most a request gets.
const DEFAULT_RUNS: usize = 20;
const MAX_RUNS: usize = 1000;

/// One collector.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(super) struct CollectorView {
    /// `service/collector`: the name the other endpoints take.
    name: String,
    service: String,
    collector: String,
    /// What it reads: its endpoint's URL (no credentials), `file:PATH`, or empty for a collect
    /// step of its own.
    source: String,
    /// The model (table) it stores.
    model: String,
    /// How often it runs, in seconds; null without an interval.
    interval_seconds: Option<f64>,
    /// Its incremental strategy.
    strategy: String,
    /// In one word: `running`, `paused`, `failing` (its last run failed) or `idle`.
    state: &'static str,
    is_running: bool,
    is_paused: bool,
    /// When its next scheduled run starts; null while running, paused, or without interval.
    next_run: Option<DateTime<Utc>>,
    /// Failed runs in a row.
    failures: u32,
    /// Its stored incremental mark.
    mark: Option<MarkView>,
    /// A walk over its pages that has not reached its end; the next run goes on from it.
    walk: Option<WalkView>,
    /// Its last run.
    last_run: Option<RunView>,
    /// For a fan-out collector (an endpoint with a `{placeholder}`): its keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    frontier: Option<FrontierView>,
}

/// A fan-out collector's keys: how many it knows, and in what state.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(super) struct FrontierView {
    known: usize,
    /// Read, last read fine.
    done: usize,
    /// Due now: new, stale, or failed with the backoff over.
    due: usize,
    /// Last read failed; tried again later.
    failed: usize,
    /// The API said they are gone (404, 410).
    gone: usize,
    /// Beyond the collector's depth limit (or at a depth not known): not read.
    beyond_depth: usize,
}

impl From<Frontier> for FrontierView {
    fn from(frontier: Frontier) -> Self {
        Self {
            known: frontier.known,
            done: frontier.done,
            due: frontier.due,
            failed: frontier.failed,
            gone: frontier.gone,
            beyond_depth: frontier.beyond_depth,
        }
    }
}

/// A collector's view, with its frontier when it is a fan-out.
async fn view_of(
    shared: &super::Shared,
    status: &CollectorStatus,
) -> Result<CollectorView, Problem> {
    let mut view = CollectorView::from(status);
    view.frontier = shared
        .control
        .frontier(&status.collector.to_string())
        .await?
        .map(FrontierView::from);
    Ok(view)
}

/// An incremental strategy's stored position.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(super) struct MarkView {
    strategy: String,
    field: String,
    value: String,
}

/// A walk in progress.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(super) struct WalkView {
    /// Pages stored so far.
    pages: usize,
    /// When the run that began it started.
    started_at: DateTime<Utc>,
    /// Whether it reads everything (a backfill).
    is_full: bool,
}

/// One run, as the load history keeps it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(super) struct RunView {
    started_at: DateTime<Utc>,
    finished_at: DateTime<Utc>,
    /// `succeeded`, `failed` or `stopped`.
    outcome: String,
    duration_seconds: f64,
    pages: usize,
    /// Records seen.
    records: usize,
    /// Rows stored with a new key.
    inserted: usize,
    /// Rows that changed a stored row.
    updated: usize,
    /// Rows equal to the stored row.
    unchanged: usize,
    /// Records callbacks dropped.
    dropped: usize,
    /// Records that did not fit the model.
    skipped: usize,
    /// Whether it read everything.
    is_full: bool,
    /// What stopped it, for a failed run.
    error: Option<String>,
}

impl From<&RunRecord> for RunView {
    fn from(run: &RunRecord) -> Self {
        Self {
            started_at: run.started_at,
            finished_at: run.finished_at,
            outcome: run.outcome.to_string(),
            duration_seconds: (run.finished_at - run.started_at)
                .to_std()
                .unwrap_or_default()
                .as_secs_f64(),
            pages: run.pages,
            records: run.records,
            inserted: run.inserted,
            updated: run.updated,
            unchanged: run.unchanged,
            dropped: run.dropped,
            skipped: run.skipped,
            is_full: run.is_full,
            error: run.error.clone(),
        }
    }
}

impl From<&CollectorStatus> for CollectorView {
    fn from(status: &CollectorStatus) -> Self {
        let last_run = status.runs.first();
        let state = if status.is_running {
            "running"
        } else if status.is_paused {
            "paused"
        } else if status.failures > 0 {
            "failing"
        } else {
            "idle"
        };
        let stored = status.state.as_ref();
        Self {
            name: status.collector.to_string(),
            service: status.collector.service.clone(),
            collector: status.collector.collector.clone(),
            source: status.source.clone(),
            model: status.model.clone(),
            interval_seconds: status.interval.map(|interval| interval.as_secs_f64()),
            strategy: status.strategy.name().to_owned(),
            state,
            is_running: status.is_running,
            is_paused: status.is_paused,
            next_run: status.next_run,
            failures: status.failures,
            mark: stored
                .and_then(|state| state.mark.as_ref())
                .map(|mark| MarkView {
                    strategy: mark.strategy.clone(),
                    field: mark.field.clone(),
                    value: mark.value.clone(),
                }),
            walk: stored
                .and_then(|state| state.walk.as_ref())
                .map(|walk| WalkView {
                    pages: walk.pages,
                    started_at: walk.started_at,
                    is_full: walk.is_full,
                }),
            last_run: last_run.map(RunView::from),
            frontier: None,
        }
    }
}

/// Every collector.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(super) struct CollectorList {
    collectors: Vec<CollectorView>,
}

/// Every collector: what it reads and stores, its state, its last run and next run.
#[utoipa::path(get, path = "/api/collectors", tag = "collectors",
    responses(
        (status = 200, description = "Every collector and its state", body = CollectorList),
        (status = 503, description = "The store did not answer", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn collectors(
    axum::extract::State(shared): State,
) -> Result<Json<CollectorList>, Problem> {
    let statuses = shared.control.status(1).await?;
    let mut collectors = Vec::with_capacity(statuses.len());
    for status in &statuses {
        collectors.push(view_of(&shared, status).await?);
    }
    Ok(Json(CollectorList { collectors }))
}

/// One collector, as in the list.
#[utoipa::path(get, path = "/api/collectors/{name}", tag = "collectors",
    params(("name" = String, Path, description = "`service/collector` (URL-encoded: `service%2Fcollector`), or the collector's name alone")),
    responses(
        (status = 200, description = "The collector and its state", body = CollectorView),
        (status = 404, description = "No collector of that name", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn collector(
    axum::extract::State(shared): State,
    Path(name): Path<String>,
) -> Result<Json<CollectorView>, Problem> {
    let status = shared.control.collector_status(&name, 1).await?;
    Ok(Json(view_of(&shared, &status).await?))
}

/// `?limit=` of the load history.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct RunsParams {
    /// The most runs to answer with, newest first (default 20, at most 1000).
    limit: Option<String>,
}

/// A collector's load history.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(super) struct RunList {
    collector: String,
    /// Newest first.
    runs: Vec<RunView>,
    /// The limit applied.
    limit: usize,
    /// Said when the limit asked for was changed (over the maximum).
    #[serde(skip_serializing_if = "Option::is_none")]
    notice: Option<String>,
}

/// A `limit` parameter: a positive number, clamped to `max` (and said so).
pub(super) fn parse_limit(
    given: Option<&str>,
    default: usize,
    max: usize,
) -> Result<(usize, Option<String>), Problem> {
    let Some(given) = given else {
        return Ok((default, None));
    };
    match given.parse::<usize>() {
        Ok(0) | Err(_) => Err(Problem::bad_request(format!(
            "limit `{given}` is not a number from 1 to {max}"
        ))),
        Ok(limit) if limit > max => Ok((
            max,
            Some(format!("limit {limit} is over the maximum; {max} given")),
        )),
        Ok(limit) => Ok((limit, None)),
    }
}

/// A collector's load history: its last runs, newest first.
#[utoipa::path(get, path = "/api/collectors/{name}/runs", tag = "collectors",
    params(("name" = String, Path, description = "`service/collector` or the collector's name"), RunsParams),
    responses(
        (status = 200, description = "Its last runs, newest first", body = RunList),
        (status = 400, description = "A limit that is not a positive number", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No collector of that name", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn runs(
    axum::extract::State(shared): State,
    Path(name): Path<String>,
    Query(params): Query<RunsParams>,
) -> Result<Json<RunList>, Problem> {
    let (limit, notice) = parse_limit(params.limit.as_deref(), DEFAULT_RUNS, MAX_RUNS)?;
    let status = shared.control.collector_status(&name, limit).await?;
    Ok(Json(RunList {
        collector: status.collector.to_string(),
        runs: status.runs.iter().map(RunView::from).collect(),
        limit,
        notice,
    }))
}

/// What an action did.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(super) struct ActionResult {
    collector: String,
    /// `run`, `pause`, `resume` or `reset`.
    action: &'static str,
    /// `started`, `already_running`, `paused`, `resumed` or `reset`.
    result: &'static str,
    /// The same, for people.
    message: String,
}

impl ActionResult {
    /// The answer to an action that asked for a run: `202 started`, or `409 already_running`.
    fn ran(
        collector: String,
        action: &'static str,
        ran: RunNow,
        started: String,
        running: String,
    ) -> Response {
        match ran {
            RunNow::AlreadyRunning => Self::answer(
                StatusCode::CONFLICT,
                collector,
                action,
                "already_running",
                running,
            ),
            _ => Self::answer(StatusCode::ACCEPTED, collector, action, "started", started),
        }
    }

    fn answer(
        status: StatusCode,
        collector: String,
        action: &'static str,
        result: &'static str,
        message: String,
    ) -> Response {
        (
            status,
            Json(Self {
                collector,
                action,
                result,
                message,
            }),
        )
            .into_response()
    }
}

/// The collector's full name, for answers.
fn full_name(shared: &super::Shared, name: &str) -> String {
    shared
        .control
        .collector_id(name)
        .map_or_else(|_| name.to_owned(), |id| id.to_string())
}

/// Runs a collector now, whatever its schedule (even when paused); never a second run at once.
#[utoipa::path(post, path = "/api/collectors/{name}/run", tag = "collectors",
    params(("name" = String, Path, description = "`service/collector` or the collector's name")),
    responses(
        (status = 202, description = "A run starts now", body = ActionResult),
        (status = 409, description = "A run of it is going on: no second one is started (or it no longer runs)", body = ActionResult),
        (status = 404, description = "No collector of that name", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn run_now(
    axum::extract::State(shared): State,
    Path(name): Path<String>,
) -> Result<Response, Problem> {
    let ran = shared.control.run_now(&name)?;
    Ok(ActionResult::ran(
        full_name(&shared, &name),
        "run",
        ran,
        "a run starts now".to_owned(),
        "a run of it is going on; no second run was started".to_owned(),
    ))
}

/// Pauses a collector: it starts no scheduled run until resumed.
#[utoipa::path(post, path = "/api/collectors/{name}/pause", tag = "collectors",
    params(("name" = String, Path, description = "`service/collector` or the collector's name")),
    responses(
        (status = 200, description = "It starts no scheduled run until resumed (a run going on ends as usual)", body = ActionResult),
        (status = 404, description = "No collector of that name", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn pause(
    axum::extract::State(shared): State,
    Path(name): Path<String>,
) -> Result<Response, Problem> {
    shared.control.pause(&name)?;
    Ok(ActionResult::answer(
        StatusCode::OK,
        full_name(&shared, &name),
        "pause",
        "paused",
        "paused: no scheduled run starts until it is resumed".to_owned(),
    ))
}

/// Resumes a paused collector.
#[utoipa::path(post, path = "/api/collectors/{name}/resume", tag = "collectors",
    params(("name" = String, Path, description = "`service/collector` or the collector's name")),
    responses(
        (status = 200, description = "Back on its schedule; a run missed while paused starts at once", body = ActionResult),
        (status = 404, description = "No collector of that name", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn resume(
    axum::extract::State(shared): State,
    Path(name): Path<String>,
) -> Result<Response, Problem> {
    shared.control.resume(&name)?;
    Ok(ActionResult::answer(
        StatusCode::OK,
        full_name(&shared, &name),
        "resume",
        "resumed",
        "resumed: back on its schedule".to_owned(),
    ))
}

/// Reads one key of a fan-out collector now: adds it when it is new (a seed), makes it due when
/// it is known, and starts a run.
#[utoipa::path(post, path = "/api/collectors/{name}/keys/{key}", tag = "collectors",
    params(
        ("name" = String, Path, description = "`service/collector` or the collector's name"),
        ("key" = String, Path, description = "The key (URL-encoded), e.g. a user's login"),
    ),
    responses(
        (status = 202, description = "The key is due, and a run starts now", body = ActionResult),
        (status = 409, description = "The key is due; a run going on reads it next time", body = ActionResult),
        (status = 404, description = "No collector of that name", body = Problem, content_type = "application/problem+json"),
        (status = 400, description = "The collector reads no keys", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn crawl_key(
    axum::extract::State(shared): State,
    Path((name, key)): Path<(String, String)>,
) -> Result<Response, Problem> {
    let ran = shared.control.crawl_key(&name, &key).await?;
    Ok(ActionResult::ran(
        full_name(&shared, &name),
        "crawl_key",
        ran,
        format!("`{key}` is due, and a run starts now"),
        format!("`{key}` is due; the run going on, or the next, reads it"),
    ))
}

/// `?confirm=true` of a reset.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ResetParams {
    /// Must be `true`: a reset makes the next run read everything again.
    confirm: Option<String>,
}

/// Forgets a collector's mark and walk in progress, so that its next run reads everything.
#[utoipa::path(post, path = "/api/collectors/{name}/reset", tag = "collectors",
    params(("name" = String, Path, description = "`service/collector` or the collector's name"), ResetParams),
    responses(
        (status = 200, description = "Its mark and walk are forgotten; its next run reads everything. Stored records stay", body = ActionResult),
        (status = 400, description = "Without `confirm=true`", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No collector of that name", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A run of it is going on", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn reset(
    axum::extract::State(shared): State,
    Path(name): Path<String>,
    Query(params): Query<ResetParams>,
) -> Result<Response, Problem> {
    if params.confirm.as_deref() != Some("true") {
        return Err(Problem::bad_request(format!(
            "a reset makes the next run of `{name}` read everything again; confirm it with `?confirm=true`"
        )));
    }
    let collector = shared.control.reset(&name).await?;
    Ok(ActionResult::answer(
        StatusCode::OK,
        collector.to_string(),
        "reset",
        "reset",
        "its mark and walk are forgotten; its next run reads everything (stored records stay)"
            .to_owned(),
    ))
}
