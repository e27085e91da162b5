//! What the app checks before the first request: each mistake is an error that names the
//! collector or service, and no request is sent.

use hamstr::{AppError, CollectorSpec, Hamstr, Service, backend::MemoryBackend, testing::MockApi};

use crate::{Payment, mollie};

fn payments() -> CollectorSpec<Payment> {
    CollectorSpec::endpoint("payments")
        .records("_embedded.payments")
        .model::<Payment>()
}

/// The error as `{}` shows it (as `main` returning it does): it must carry its cause itself.
async fn check_error(app: Hamstr) -> String {
    app.run_once().await.unwrap_err().to_string()
}

/// Every configuration mistake is found before the first request, with a message that names
/// what is wrong and where.
#[tokio::test]
async fn mistakes_are_reported_before_the_first_request() {
    let api = MockApi::start_demo().await;
    let store = MemoryBackend::new();
    let base = || Hamstr::new().backend(store.clone());

    let error =
        check_error(Hamstr::new().register_service(mollie(&api).add_collector(payments()))).await;
    assert!(error.starts_with("no backend"), "{error}");

    let error = check_error(base().register_service(mollie(&api))).await;
    assert!(error.starts_with("no collectors"), "{error}");

    let error = check_error(
        base()
            .register_service(mollie(&api))
            .add_collector(payments()),
    )
    .await;
    assert_eq!(
        error,
        "collector `payments` names no service; set `service = \"...\"` or add it to a service"
    );

    let error = check_error(
        base()
            .register_service(mollie(&api))
            .add_collector(payments().service("stripe")),
    )
    .await;
    assert_eq!(
        error,
        "collector `payments` names the service `stripe`, which is not registered (registered: mollie)"
    );

    let error = check_error(
        base().register_service(mollie(&api).add_collector(payments().interval("5 parsecs"))),
    )
    .await;
    assert!(
        error.starts_with(
            "collector `mollie/payments`: invalid interval: `5 parsecs` is not an interval"
        ),
        "{error}"
    );

    let error = check_error(
        base().register_service(
            mollie(&api)
                .add_collector(payments())
                .add_collector(payments()),
        ),
    )
    .await;
    assert!(
        error.contains("two collectors are named `mollie/payments`"),
        "{error}"
    );

    let error = check_error(base().register_service(
        mollie(&api).add_collector(CollectorSpec::endpoint("../admin").model::<Payment>()),
    ))
    .await;
    assert!(
        error.contains("the endpoint `../admin` is not under"),
        "{error}"
    );

    let error = check_error(
        base()
            .register_service(mollie(&api).add_collector(payments()))
            .register_service(mollie(&api)),
    )
    .await;
    assert!(
        error.starts_with("two services are named `mollie`"),
        "{error}"
    );

    let error = check_error(
        base().register_service(Service::new("ftp://h.test/").add_collector(payments())),
    )
    .await;
    assert!(error.contains("only http and https"), "{error}");

    assert_eq!(api.request_count(), 0);
    assert!(store.tables().is_empty());
}

/// Two models stored under one table name are refused before anything is created.
#[tokio::test]
async fn two_models_cannot_share_a_table() {
    #[derive(hamstr::Model, serde::Deserialize)]
    #[hamstr(name = "payments")]
    struct Other {
        id: i64,
    }
    let api = MockApi::start_demo().await;
    let error = Hamstr::new()
        .backend(MemoryBackend::new())
        .register_service(
            mollie(&api).add_collector(payments()).add_collector(
                CollectorSpec::endpoint("payments")
                    .name("other")
                    .model::<Other>(),
            ),
        )
        .run_once()
        .await
        .unwrap_err();
    assert!(matches!(error, AppError::TableConflict { .. }));
    assert!(
        error
            .to_string()
            .contains("collectors `mollie/payments` and `mollie/other` store different models in the table `payments`"),
        "{error}"
    );

    // `Payments` and `payments` are one table to SQL.
    #[derive(hamstr::Model, serde::Deserialize)]
    #[hamstr(name = "Payments")]
    struct Shouting {
        id: i64,
    }
    let error = Hamstr::new()
        .backend(MemoryBackend::new())
        .register_service(
            mollie(&api).add_collector(payments()).add_collector(
                CollectorSpec::endpoint("payments")
                    .name("shouting")
                    .model::<Shouting>(),
            ),
        )
        .run_once()
        .await
        .unwrap_err();
    assert!(matches!(error, AppError::TableConflict { .. }), "{error}");
}
