//! The OpenAPI document: valid OpenAPI 3.1 by a validator's judgement, and it documents every
//! endpoint that answers.

use std::process::Command;

use hamstr::{backend::MemoryBackend, testing::MockApi};

use super::{payments_app, serve};

/// Every documented path of the API.
const PATHS: [&str; 15] = [
    "/api/collectors",
    "/api/collectors/{name}",
    "/api/collectors/{name}/runs",
    "/api/collectors/{name}/run",
    "/api/collectors/{name}/pause",
    "/api/collectors/{name}/resume",
    "/api/collectors/{name}/reset",
    "/api/collectors/{name}/keys/{key}",
    "/api/services",
    "/api/cluster",
    "/api/models",
    "/api/models/{model}/records",
    "/api/models/{model}/records/{key}",
    "/health",
    "/ready",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_document_is_valid_openapi_3_1_and_complete() {
    let api = MockApi::start_demo().await;
    let served = serve(payments_app(&api, &MemoryBackend::new())).await;
    let document = served.get("/api/openapi.json").await;
    assert_eq!(document.status, 200);
    assert_eq!(document.json["openapi"], "3.1.0");
    let paths = document.json["paths"].as_object().expect("paths");
    for path in PATHS {
        assert!(paths.contains_key(path), "{path} is not documented");
    }
    assert_eq!(
        paths.len(),
        PATHS.len(),
        "{:?}",
        paths.keys().collect::<Vec<_>>()
    );
    assert!(paths["/api/collectors/{name}/run"]["post"].is_object());
    assert!(document.json["components"]["schemas"]["CollectorView"].is_object());
    assert_eq!(
        document.json["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );

    // The page that renders it for people is served too.
    let page = served.get("/api/docs").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("openapi.json"));

    let dir = tempfile::tempdir().expect("a directory");
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, &document.text).expect("written");
    let checked = Command::new("python3")
        .args([
            "-c",
            "import sys\nfrom openapi_spec_validator import validate\nfrom openapi_spec_validator.readers import read_from_filename\nspec, _ = read_from_filename(sys.argv[1])\nvalidate(spec)\nprint(spec['openapi'])",
        ])
        .arg(&file)
        .output()
        .expect("python3 runs (the validator is `pip install openapi-spec-validator`)");
    assert!(
        checked.status.success(),
        "the validator refused the document (or is not installed: `pip install openapi-spec-validator`):\n{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&checked.stdout).trim(), "3.1.0");
    served.stop().await;
}
