//! Recording a live API's answers and replaying them offline.

use futures_util::TryStreamExt;
use hamstr::{
    Secret, Service,
    paginate::LinkHeader,
    testing::{Collection, MockApi, MockAuth, Paging},
};
use serde_json::Value;

use super::{items, numbers};

const TOKEN: &str = "live_tok_123456";

/// A recorded walk replays offline to the same records, without the token, with the next
/// links rewritten to the replaying server.
#[tokio::test]
async fn a_recorded_walk_replays_offline() {
    let fixtures = tempfile::tempdir().unwrap();
    let live = MockApi::start().await;
    live.route(
        "/v1/repos",
        Collection::new(items(23))
            .records_at("")
            .paging(Paging::link_header()),
    );
    live.require_auth(MockAuth::query("access_token", TOKEN));
    let recording = Service::new(format!("{}v1/", live.url()))
        .name("github")
        .api_key_query("access_token", Secret::new(TOKEN))
        .paginator(LinkHeader::new())
        .param("sort", "created")
        .record_to(fixtures.path());
    let recorded: Vec<Value> = recording.list("repos").try_collect().await.unwrap();
    assert_eq!(recorded.len(), 23);

    let file = fixtures.path().join("github.json");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(!text.contains(TOKEN), "{text}");
    assert!(
        !text.contains(&live.url()),
        "the live origin is replaced: {text}"
    );
    assert!(text.contains("{{origin}}/v1/repos?"), "{text}");
    drop(live);

    let replay = MockApi::replay(fixtures.path()).await.unwrap();
    let offline = Service::new(format!("{}v1/", replay.url()))
        .paginator(LinkHeader::new())
        .param("sort", "created");
    let replayed: Vec<Value> = offline.list("repos").try_collect().await.unwrap();
    assert_eq!(numbers(&replayed), numbers(&recorded));
    assert_eq!(replay.request_count(), 3);
    // The live API echoed the key into its next links; the walk sent it once per request.
    assert!(
        recording
            .endpoint("repos")
            .list_pages()
            .try_collect::<Vec<_>>()
            .await
            .is_err(),
        "live is gone"
    );
}

/// An API that echoes the query key into its next links gets it once per request, and
/// checkpoints never hold it.
#[tokio::test]
async fn an_echoed_query_key_is_sent_once_and_never_kept() {
    let live = MockApi::start().await;
    live.route(
        "/repos",
        Collection::new(items(23))
            .records_at("")
            .paging(Paging::link_header()),
    );
    live.require_auth(MockAuth::query("access_token", TOKEN));
    let service = Service::new(live.url())
        .api_key_query("access_token", Secret::new(TOKEN))
        .paginator(LinkHeader::new());
    let pages: Vec<_> = service.list_pages("repos").try_collect().await.unwrap();
    for request in live.requests("/repos") {
        let keys = request
            .query
            .iter()
            .filter(|(name, _)| name == "access_token")
            .count();
        assert_eq!(keys, 1, "{}", request.url_query());
    }
    for page in &pages {
        if let Some(checkpoint) = page.checkpoint() {
            assert!(!checkpoint.as_str().contains(TOKEN), "{checkpoint:?}");
        }
    }
}
