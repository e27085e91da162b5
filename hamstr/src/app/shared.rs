//! What workers sharing a store share beyond leases: a pause of a service's requests (the API's
//! `Retry-After`, a quota used up) found by one worker holds for all, so that workers on one API
//! token stop together instead of each spending the quota until it finds out itself; and the
//! services' request rates, which the live workers split among themselves.

use std::{sync::Arc, time::Duration};

use futures_util::StreamExt;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::{
    backend::{Backend, SharedPause},
    http::RequestEvent,
    service::Service,
    text::ErrorChain,
};

/// How long the watch waits before listening again after the store's connection ended.
const REWATCH_AFTER: Duration = Duration::from_secs(2);

/// Spawns, into `tasks`, a task that counts the live workers every third of `lease` and keeps
/// each service's request rates at that share (a worker is live when it renewed its leases
/// within two lease periods); it ends with `stop`.
pub(super) fn share_budgets(
    services: &[Service],
    backend: &Arc<dyn Backend>,
    lease: Duration,
    stop: &CancellationToken,
    tasks: &mut JoinSet<()>,
) {
    let (services, backend, stop) = (services.to_vec(), Arc::clone(backend), stop.clone());
    tasks.spawn(async move {
        let mut ticks = tokio::time::interval(lease / 3);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                _ = ticks.tick() => {}
            }
            match backend.live_workers(lease * 2).await {
                Ok(workers) => {
                    let shares = u32::try_from(workers.max(1)).unwrap_or(u32::MAX);
                    for service in &services {
                        service.share_budget(shares);
                    }
                }
                Err(error) => {
                    tracing::warn!(error = %ErrorChain(&error), "could not count the live workers");
                }
            }
        }
    });
}

/// Spawns, into `tasks`, one task per service that shares its pauses through `backend`, and one
/// that applies the pauses other workers share to these services; all end with `stop`.
pub(super) fn share_pauses(
    services: &[Service],
    backend: &Arc<dyn Backend>,
    stop: &CancellationToken,
    tasks: &mut JoinSet<()>,
) {
    for service in services {
        let Some(mut requests) = service.request_events() else {
            continue;
        };
        let (name, backend, stop) = (service.service_name(), Arc::clone(backend), stop.clone());
        tasks.spawn(async move {
            loop {
                let request = tokio::select! {
                    () = stop.cancelled() => return,
                    request = requests.recv() => request,
                };
                match request {
                    Ok(RequestEvent::Paused { resumes_at, .. }) => {
                        let pause = SharedPause::new(name.clone(), resumes_at);
                        if let Err(error) = backend.share_pause(&pause).await {
                            tracing::warn!(service = %name, error = %ErrorChain(&error), "could not share a pause with the other workers");
                        }
                    }
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                }
            }
        });
    }
    let (services, backend, stop) = (services.to_vec(), Arc::clone(backend), stop.clone());
    tasks.spawn(async move {
        loop {
            let watched = tokio::select! {
                () = stop.cancelled() => return,
                watched = backend.watch_pauses() => watched,
            };
            match watched {
                Ok(Some(mut pauses)) => loop {
                    let pause = tokio::select! {
                        () = stop.cancelled() => return,
                        pause = pauses.next() => pause,
                    };
                    let Some(pause) = pause else { break };
                    for service in services
                        .iter()
                        .filter(|service| service.service_name() == pause.service)
                    {
                        service.pause_until(pause.resumes_at);
                    }
                },
                Ok(None) => return,
                Err(error) => {
                    tracing::warn!(error = %ErrorChain(&error), "could not watch the pauses other workers share");
                }
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(REWATCH_AFTER) => {}
            }
        }
    });
}
