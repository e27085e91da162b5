use super::*;

fn join(base: &str, endpoint: &str) -> Option<String> {
    join_endpoint(&Url::parse(base).unwrap(), endpoint).map(String::from)
}

#[test]
fn endpoints_join_under_the_base_path() {
    let mollie = "https://api.mollie.com/v2/";
    assert_eq!(
        join(mollie, "payments").unwrap(),
        "https://api.mollie.com/v2/payments"
    );
    assert_eq!(
        join(mollie, "/payments").unwrap(),
        "https://api.mollie.com/v2/payments"
    );
    assert_eq!(
        join("https://api.mollie.com/v2", "payments").unwrap(),
        "https://api.mollie.com/v2/payments"
    );
    assert_eq!(
        join(mollie, "payments?status=paid").unwrap(),
        "https://api.mollie.com/v2/payments?status=paid"
    );
    assert_eq!(
        join(mollie, "customers/cst_1/payments").unwrap(),
        "https://api.mollie.com/v2/customers/cst_1/payments"
    );
    assert_eq!(
        join("https://h.test/?v=1", "items?x=2").unwrap(),
        "https://h.test/items?v=1&x=2"
    );
    assert_eq!(
        join(mollie, "https://api.mollie.com/v2/orders").unwrap(),
        "https://api.mollie.com/v2/orders"
    );
}

#[test]
fn endpoints_cannot_leave_the_base() {
    let mollie = "https://api.mollie.com/v2/";
    assert_eq!(join(mollie, "../v1/payments"), None);
    assert_eq!(join(mollie, "payments/../../admin"), None);
    assert_eq!(join(mollie, "%2e%2e/admin"), None);
    assert_eq!(join(mollie, "https://evil.test/v2/payments"), None);
    assert_eq!(
        join(mollie, "//evil.test/x").unwrap(),
        "https://api.mollie.com/v2/evil.test/x"
    );
    assert_eq!(join(mollie, "http://api.mollie.com/v2/payments"), None);
}

#[test]
fn bad_configuration_is_reported_not_panicked() {
    let error = Service::new("not a url").check().unwrap_err();
    assert!(
        error
            .to_string()
            .contains("the base URL `not a url` is invalid"),
        "{error}"
    );
    // A base without its scheme says what to write, not the url crate's "relative URL without a base".
    let error = Service::new("api.github.com").check().unwrap_err();
    assert_eq!(
        error.to_string(),
        "api.github.com: the base URL `api.github.com` is invalid: it has no scheme (write `https://api.github.com`)"
    );
    let error = Service::new("ftp://h.test/").check().unwrap_err();
    assert!(error.to_string().contains("only http and https"), "{error}");
    let error = Service::new("https://h.test/")
        .header("bad header", "x")
        .check()
        .unwrap_err();
    assert!(
        error.to_string().contains("the header `bad header`"),
        "{error}"
    );
    let error = Service::new("https://h.test/")
        .api_key_header("bad name", Secret::new("k"))
        .check()
        .unwrap_err();
    assert!(format!("{error:?}").contains("bad name"), "{error:?}");
}

/// Credentials over plain http are refused unless the host is this machine or the user opts
/// in; without credentials, plain http is fine.
#[test]
fn credentials_over_plain_http_need_loopback_or_an_opt_in() {
    let token = || Secret::new("tok3n");
    let error = Service::new("http://api.example.com/")
        .bearer_auth(token())
        .check()
        .unwrap_err();
    assert!(
        matches!(error, ServiceError::InsecureCredentials { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("allow_insecure_http"), "{error}");
    for loopback in [
        "http://127.0.0.1:8080/",
        "http://127.8.0.1/",
        "http://[::1]:9000/",
        "http://LOCALHOST/",
    ] {
        Service::new(loopback).bearer_auth(token()).check().unwrap();
    }
    Service::new("http://api.example.com/")
        .bearer_auth(token())
        .allow_insecure_http()
        .check()
        .unwrap();
    Service::new("http://api.example.com/").check().unwrap();
    Service::new("https://api.example.com/")
        .api_key_query("key", token())
        .check()
        .unwrap();
}

#[test]
fn the_default_name_is_the_host_and_debug_hides_credentials() {
    let service = Service::new("https://api.example.com/v1/").bearer_auth(Secret::new("tok3n"));
    assert_eq!(service.service_name(), "api.example.com");
    let shown = format!("{service:?}");
    assert!(!shown.contains("tok3n"), "{shown}");
    assert!(shown.contains("Bearer(***)"), "{shown}");
}
