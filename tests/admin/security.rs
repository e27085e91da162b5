//! Who the admin server answers: a token off loopback, no actions from other origins, no
//! answers for other host names on loopback.

use hamstr::{
    Secret,
    admin::{Admin, AdminError},
    backend::MemoryBackend,
    testing::MockApi,
};

use super::{answer, payments_app, serve, serve_with};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_loopback_without_a_token_is_refused_at_start() {
    let api = MockApi::start_demo().await;
    let mut handle = payments_app(&api, &MemoryBackend::new())
        .start()
        .await
        .expect("starts");
    let refused = Admin::parse("0.0.0.0:0")
        .expect("an address")
        .serve(handle.control())
        .await
        .expect_err("no token");
    assert!(
        matches!(refused, AdminError::TokenRequired { .. }),
        "{refused}"
    );
    assert!(
        refused.to_string().contains("HAMSTR_ADMIN_TOKEN"),
        "{refused}"
    );
    assert!(
        Admin::parse("localhost:80").is_err(),
        "an IP address, not a name"
    );
    handle.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_token_every_request_needs_it() {
    const TOKEN: &str = "admin-t0ken-of-this-test";
    let api = MockApi::start_demo().await;
    let admin = Admin::parse("0.0.0.0:0")
        .expect("an address")
        .token(Secret::new(TOKEN));
    let mut served = serve_with(payments_app(&api, &MemoryBackend::new()), admin).await;
    served.run_finished().await;
    for path in [
        "/",
        "/api/collectors",
        "/metrics",
        "/health",
        "/api/openapi.json",
    ] {
        let refused = served.get(path).await;
        refused.assert_problem(401, "token");
        assert!(!refused.text.contains(TOKEN));
    }
    let response = served
        .client
        .get(format!("{}/api/collectors", served.base))
        .send()
        .await
        .expect("answers");
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .expect("text");
    assert!(
        challenge.contains("Basic"),
        "a browser asks for it: {challenge}"
    );

    let url = format!("{}/api/collectors", served.base);
    let wrong = answer(
        served
            .client
            .get(&url)
            .bearer_auth("admin-t0ken-of-this-tesT"),
    )
    .await;
    assert_eq!(wrong.status, 401);
    let right = answer(served.client.get(&url).bearer_auth(TOKEN)).await;
    assert_eq!(right.status, 200, "{}", right.text);
    let basic = answer(served.client.get(&url).basic_auth("anyone", Some(TOKEN))).await;
    assert_eq!(basic.status, 200, "a browser's basic auth: {}", basic.text);
    let run = answer(
        served
            .client
            .post(format!("{}/api/collectors/payments/run", served.base))
            .bearer_auth(TOKEN),
    )
    .await;
    assert_eq!(run.status, 202, "{}", run.text);
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_from_another_origin_are_refused() {
    let api = MockApi::start_demo().await;
    let mut served = serve(payments_app(&api, &MemoryBackend::new())).await;
    served.run_finished().await;
    let before = api.requests("/v2/payments").len();
    let run = format!("{}/api/collectors/payments/run", served.base);
    let forged = answer(
        served
            .client
            .post(&run)
            .header("origin", "http://evil.example"),
    )
    .await;
    forged.assert_problem(403, "another origin");
    let fetched = answer(
        served
            .client
            .post(&run)
            .header("origin", served.base.clone())
            .header("sec-fetch-site", "cross-site"),
    )
    .await;
    assert_eq!(fetched.status, 403, "{}", fetched.text);
    let opaque = answer(served.client.post(&run).header("origin", "null")).await;
    assert_eq!(opaque.status, 403, "a sandboxed page: {}", opaque.text);
    // Reading is harmless from anywhere; pages of another site cannot read the answer anyway.
    let read = answer(
        served
            .client
            .get(format!("{}/api/collectors", served.base))
            .header("origin", "http://evil.example"),
    )
    .await;
    assert_eq!(read.status, 200);
    assert_eq!(api.requests("/v2/payments").len(), before, "no run started");

    // Its own page may.
    let own = answer(
        served
            .client
            .post(&run)
            .header("origin", served.base.clone()),
    )
    .await;
    assert_eq!(own.status, 202, "{}", own.text);
    served.run_finished().await;
    assert_eq!(api.requests("/v2/payments").len(), before + 3);
    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_loopback_it_answers_only_loopback_names() {
    let api = MockApi::start_demo().await;
    let served = serve(payments_app(&api, &MemoryBackend::new())).await;
    let url = format!("{}/api/collectors", served.base);
    // A site whose name was pointed at 127.0.0.1 (DNS rebinding) sends its own name as Host.
    let rebound = answer(served.client.get(&url).header("host", "evil.example")).await;
    rebound.assert_problem(403, "loopback");
    let local = answer(served.client.get(&url).header("host", "localhost")).await;
    assert_eq!(local.status, 200, "{}", local.text);
    // Every answer keeps its pages out of other sites' frames.
    let page = served
        .client
        .get(format!("{}/", served.base))
        .send()
        .await
        .expect("answers");
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .is_ok_and(|policy| policy.contains("frame-ancestors 'none'"))
    );
    served.stop().await;
}
