//! The server side: shared state, and the one handler that records and answers every request.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::Response;
use tokio::sync::watch;

use super::ReceivedRequest;
use super::collection::PageRequest;
use super::conditional::Conditional;
use super::fault::{self, Fault, Plan, Reply};
use super::fixtures::{ExchangeKey, Fixtures};
use super::quota::Quota;
use super::route::{MockAuth, MockResponse, Route};

/// The largest request body the mock reads and records; a larger one is recorded as empty.
const MAX_REQUEST_BODY: usize = 16 * 1024 * 1024;

/// What the handler and [`MockApi`](super::MockApi) share.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<ApiState>,
    /// How many requests were recorded; `wait_for_requests` waits on it.
    pub(crate) received: watch::Sender<usize>,
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub(crate) origin: String,
}

/// Everything the mock knows; the lock is never held across an `.await`.
#[derive(Debug, Default)]
pub(crate) struct ApiState {
    pub(crate) routes: HashMap<String, RouteEntry>,
    pub(crate) fixtures: Fixtures,
    pub(crate) auth: Option<MockAuth>,
    pub(crate) oauth2: Option<super::oauth2::TokenServer>,
    pub(crate) faults: HashMap<String, VecDeque<Fault>>,
    pub(crate) requests: Vec<ReceivedRequest>,
    in_flight: usize,
    pub(crate) max_in_flight: usize,
    pub(crate) quota: Option<Quota>,
    /// Requests refused because the quota was used up.
    pub(crate) requests_over_quota: usize,
    pub(crate) conditional: Option<Conditional>,
    /// Answers sent with status 304.
    pub(crate) not_modified: usize,
}

/// A route and how many requests it answered (for [`Route::Sequence`]).
#[derive(Debug)]
pub(crate) struct RouteEntry {
    pub(crate) route: Route,
    served: usize,
}

impl RouteEntry {
    pub(crate) fn new(route: Route) -> Self {
        RouteEntry { route, served: 0 }
    }
}

impl Shared {
    pub(crate) fn new(origin: String) -> Self {
        Shared {
            state: Mutex::new(ApiState::default()),
            received: watch::Sender::new(0),
            origin,
        }
    }

    /// The state; a panic in another holder (a failed assertion) does not make it unusable.
    pub(crate) fn lock(&self) -> MutexGuard<'_, ApiState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The mock's router: one fallback handler that dispatches on the path.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

/// Counts a request as being served until it is dropped (also when the client goes away).
struct InFlight(Arc<Shared>);

impl InFlight {
    fn enter(shared: &Arc<Shared>) -> Self {
        let mut state = shared.lock();
        state.in_flight += 1;
        state.max_in_flight = state.max_in_flight.max(state.in_flight);
        InFlight(Arc::clone(shared))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.lock().in_flight -= 1;
    }
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let received_at = Instant::now();
    let _in_flight = InFlight::enter(&shared);
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, MAX_REQUEST_BODY)
        .await
        .unwrap_or_else(|error| {
            tracing::warn!(%error, "mock api could not read a request body; recording it as empty");
            bytes::Bytes::new()
        });
    let request = ReceivedRequest::new(&parts, &body, received_at);
    let (method, path) = (request.method.clone(), request.path.clone());
    let Plan { delay, reply, .. } = shared.lock().plan(request, &shared.origin);
    shared.received.send_modify(|count| *count += 1);
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    log_answer(&method, &path, &reply);
    reply.into_response()
}

fn log_answer(method: &str, path: &str, reply: &Reply) {
    tracing::debug!(method, path, status = reply.status(), "mock api answered");
}

impl ApiState {
    /// Records `request` and decides how to answer it.
    ///
    /// The quota comes first, as on GitHub: a request over it is refused before auth and takes
    /// no fault and no [`Route::Sequence`] step. Then auth, an injected fault, and the route or
    /// fixture. A normal 200 then meets the request's conditions and may become a 304. Last,
    /// the answer is charged to the quota (a 304 is free) and gets the quota's headers.
    fn plan(&mut self, request: ReceivedRequest, origin: &str) -> Plan {
        self.requests.push(request.clone());
        let now = Instant::now();
        if let Some(quota) = &mut self.quota
            && !quota.admit(now)
        {
            self.requests_over_quota += 1;
            return Plan::instead(quota.refusal(now));
        }
        let mut plan = self.plan_admitted(&request, origin);
        if let Some(conditional) = &mut self.conditional
            && plan.is_normal
            && let Reply::Complete(response) = &mut plan.reply
            && response.status == 200
        {
            conditional.answer(&request, response);
        }
        let is_not_modified = plan.reply.status() == 304;
        if is_not_modified {
            self.not_modified += 1;
        }
        if let Some(quota) = &mut self.quota {
            if !is_not_modified {
                quota.charge();
            }
            quota.advertise(plan.reply.response_mut(), now);
        }
        plan
    }

    /// How to answer a request the quota let in: auth first, then an injected fault, then the
    /// route or fixture.
    fn plan_admitted(&mut self, request: &ReceivedRequest, origin: &str) -> Plan {
        if let Some(server) = &mut self.oauth2 {
            if let Some(answer) = server.answer(request) {
                return Plan::instead(answer);
            }
            if !server.admits(request) {
                return Plan::instead(
                    MockResponse::json_error(401, "invalid_token")
                        .header("www-authenticate", "Bearer error=\"invalid_token\""),
                );
            }
        }
        if let Some(auth) = &self.auth
            && !auth.is_satisfied_by(&request.headers, &request.query)
        {
            return Plan::instead(unauthorized(auth));
        }
        let fault = self
            .faults
            .get_mut(&request.path)
            .and_then(VecDeque::pop_front);
        fault::plan(fault, || self.answer(request, origin))
    }

    /// The normal answer: the route for the path, else a matching fixture, else a 404.
    fn answer(&mut self, request: &ReceivedRequest, origin: &str) -> MockResponse {
        if let Some(entry) = self.routes.get_mut(&request.path) {
            return match &entry.route {
                Route::Collection(collection) => collection.render(&PageRequest {
                    origin,
                    path: &request.path,
                    raw_query: request.url_query(),
                    query: &request.query,
                }),
                Route::Static(response) => response.clone(),
                Route::Sequence(responses) => {
                    let index = entry.served.min(responses.len().saturating_sub(1));
                    entry.served += 1;
                    responses.get(index).cloned().unwrap_or_else(|| {
                        MockResponse::json_error(500, "this route is an empty sequence")
                    })
                }
            };
        }
        let key = ExchangeKey::new(&request.method, &request.path, &request.query);
        if let Some(response) = self.fixtures.answer(&key) {
            return response;
        }
        let target = match request.url_query() {
            "" => request.path.clone(),
            query => format!("{}?{query}", request.path),
        };
        let kind = if self.fixtures.is_empty() {
            "route"
        } else {
            "fixture"
        };
        MockResponse::json_error(
            404,
            format!("no {kind} matches {} {target}", request.method),
        )
    }
}

fn unauthorized(auth: &MockAuth) -> MockResponse {
    let response = MockResponse::json_error(401, "unauthorized");
    match auth {
        MockAuth::Bearer(_) => response.header("www-authenticate", "Bearer"),
        MockAuth::Basic { .. } => response.header("www-authenticate", "Basic realm=\"mock\""),
        MockAuth::Header { .. } | MockAuth::Query { .. } => response,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use crate::testing::{MockApi, MockResponse};

    /// Each request records when it arrived, between the moments the client sent and got it.
    #[tokio::test]
    async fn requests_record_when_they_arrived() {
        let api = MockApi::start().await;
        api.route("/ping", MockResponse::status(204));
        let client = reqwest::Client::new();
        let mut moments = vec![Instant::now()];
        for _ in 0..2 {
            client
                .get(format!("{}ping", api.url()))
                .send()
                .await
                .unwrap();
            moments.push(Instant::now());
        }
        let requests = api.requests("/ping");
        assert_eq!(requests.len(), 2);
        for (index, request) in requests.iter().enumerate() {
            assert!(moments[index] <= request.received_at);
            assert!(request.received_at <= moments[index + 1]);
        }
    }
}
