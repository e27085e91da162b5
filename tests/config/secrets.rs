//! Credentials never show: not in errors (`Display` or rendered), not in `Debug`, whether the
//! file has problems elsewhere or the credential itself is the problem.

use hamstr::config;

use crate::{MOLLIE_TOKEN, environment, parse};

fn assert_hidden(text: &str) {
    assert!(
        !text.contains(MOLLIE_TOKEN) && !text.contains("tok3n"),
        "the token shows in:\n{text}"
    );
}

/// A valid project's `Debug` output shows `***` for every credential.
#[test]
fn debug_of_a_project_hides_every_credential() {
    let source = "services:
  a: {base_url: https://a.example/, auth: {bearer: \"${MOLLIE_API_KEY}\"}}
  b: {base_url: https://b.example/, api_key: \"${MOLLIE_API_KEY}\"}
  c: {base_url: https://c.example/, auth: {api_key: {header: X-Key, value: \"${MOLLIE_API_KEY}\"}}}
  d: {base_url: https://d.example/, auth: {api_key: {query: key, value: \"${MOLLIE_API_KEY}\"}}}
  e: {base_url: https://e.example/, auth: {basic: {username: u, password: \"${MOLLIE_API_KEY}\"}}}
";
    let project = parse(source).unwrap();
    let debug = format!("{project:?} {project:#?}");
    assert_hidden(&debug);
    assert_eq!(debug.matches("***").count(), 10, "{debug}");
}

/// Errors elsewhere in a file with credentials never show them, in any output of the error.
#[test]
fn errors_never_show_a_credential_from_the_environment() {
    let source = "storage: ${MOLLIE_API_KEY}
services:
  mollie:
    base_url: ${MOLLIE_API_KEY}
    auth: {bearer: \"${MOLLIE_API_KEY}\", basic: {username: u, password: \"${MOLLIE_API_KEY}\"}}
    headers: {Authorization: \"Bearer ${MOLLIE_API_KEY}\"}
    timeout: ${MOLLIE_API_KEY}
    paginator: ${MOLLIE_API_KEY}
    params: {key: \"${MOLLIE_API_KEY}\", bad: [1]}
    collectors:
      /payments:
        interval: ${MOLLIE_API_KEY}
        incremental: {strategy: \"${MOLLIE_API_KEY}\"}
        model: {id: \"${MOLLIE_API_KEY}\"}
        primary_key: ${MOLLIE_API_KEY}
      /refunds:
        incremental: {strategy: cursor_field, field: a, param: b, lookback: \"${MOLLIE_API_KEY}\"}
        model: {id: string}
";
    let error = parse(source).unwrap_err();
    assert!(error.diagnostics().len() >= 8, "{error}");
    for expected in [
        "unknown incremental strategy `${MOLLIE_API_KEY}`",
        "`${MOLLIE_API_KEY}` is not a duration for `lookback`",
    ] {
        assert!(error.to_string().contains(expected), "{expected}: {error}");
    }
    assert_hidden(&error.to_string());
    assert_hidden(&error.render());
    assert_hidden(&format!("{error:?}"));
    assert_hidden(&format!("{:?}", hamstr::Error::from(error)));
}

/// A credential that makes a header value invalid is reported without being shown.
#[test]
fn a_credential_that_is_the_problem_is_not_shown() {
    let environment = |name: &str| match name {
        "BROKEN" => Some(format!("{MOLLIE_TOKEN}\nsecond line")),
        other => environment(other),
    };
    let source = "services:
  api:
    base_url: https://api.example/
    headers: {X-Key: \"${BROKEN}\"}
    auth: {bearer: \"${EMPTY}\"}
";
    let error = config::parse_with_env(source, "hamstr.yml", &environment).unwrap_err();
    assert_eq!(
        error.to_string(),
        "hamstr.yml:4:22: the value of header `X-Key` is not a valid header value (help: a header value is one line of visible ASCII text)
hamstr.yml:5:20: the bearer token is empty (help: its environment variable is empty)"
    );
    assert_hidden(&error.render());
}

/// A service with credentials and a plain-http base URL on another machine is refused when the
/// app is built, without showing the credential, unless `allow_insecure_http: true` says so.
#[test]
fn credentials_over_plain_http_need_an_opt_in() {
    let source = |opt_in: &str| {
        format!(
            "services:\n  shop:\n    base_url: http://shop.example/\n    api_key: \"${{MOLLIE_API_KEY}}\"\n{opt_in}    collectors:\n      /orders:\n        model: {{id: integer}}\n"
        )
    };
    let refused = parse(&source(""))
        .unwrap()
        .into_app(&config::Storage::memory())
        .and_then(|app| app.check())
        .unwrap_err();
    let message = refused.to_string();
    assert!(message.contains("plain http"), "{message}");
    assert_hidden(&format!("{message} {refused:?}"));
    parse(&source("    allow_insecure_http: true\n"))
        .unwrap()
        .into_app(&config::Storage::memory())
        .and_then(|app| app.check())
        .unwrap();
}
