//! Valid project files: every key, both shorthands, the long model form, `${VAR}`, every storage.

use std::time::Duration;

use hamstr::{
    config::{self, AuthConfig, FieldConfig, PaginatorConfig, Storage},
    model::FieldType,
};

use crate::{MOLLIE_TOKEN, SHOP, parse};

fn field(path: &str, column: &str, field_type: FieldType, is_required: bool) -> FieldConfig {
    FieldConfig {
        column: column.to_owned(),
        path: path.to_owned(),
        field_type,
        is_required,
    }
}

/// A project with one service around the given service keys and collector.
fn with_service(service: &str) -> String {
    format!("services:\n  api:\n    base_url: https://api.example.com/\n{service}")
}

/// The issue's example parses into exactly the project it describes.
#[test]
fn the_issue_example_parses_into_the_expected_project() {
    let project = parse(SHOP).unwrap();
    assert_eq!(project.name.as_deref(), Some("shop"));
    assert_eq!(project.storage.to_string(), "sqlite://hamstr.db");
    let [mollie] = project.services.as_slice() else {
        panic!("one service expected: {:?}", project.services);
    };
    assert_eq!(mollie.name, "mollie");
    assert_eq!(mollie.base_url, "https://api.mollie.com/v2/");
    let Some(AuthConfig::Bearer(token)) = &mollie.auth else {
        panic!("a bearer token expected: {:?}", mollie.auth);
    };
    assert_eq!(token.expose(), MOLLIE_TOKEN);
    assert_eq!(
        mollie.settings.headers,
        [("Accept".to_owned(), "application/json".to_owned())]
    );
    assert!(mollie.settings.params.is_empty());
    assert_eq!(
        mollie.paginator,
        PaginatorConfig::JsonNext {
            path: Some("_links.next.href".to_owned())
        }
    );
    assert_eq!(mollie.records, None);
    assert_eq!(mollie.settings.timeout, Duration::from_secs(30)); // the default
    let [payments] = mollie.collectors.as_slice() else {
        panic!("one collector expected: {:?}", mollie.collectors);
    };
    assert_eq!(payments.endpoint, "/payments");
    assert_eq!(payments.name, "payments");
    assert_eq!(payments.interval, Some(Duration::from_secs(5)));
    assert_eq!(payments.records.as_deref(), Some("_embedded.payments"));
    assert_eq!(payments.params, [("limit".to_owned(), "250".to_owned())]);
    assert_eq!(
        payments.fields,
        [
            field("id", "id", FieldType::String, true),
            field("createdAt", "createdAt", FieldType::DateTime, false),
            field("resource", "resource", FieldType::String, false),
        ]
    );
    assert_eq!(payments.primary_key, ["id"]);
}

/// What may be left out takes its default: storage, name, paginator, primary key, and the
/// collector's name from its endpoint.
#[test]
fn defaults_fill_what_is_left_out() {
    let project = parse(&with_service(
        "    collectors:\n      /v1/customers/:\n        model: {id: integer}\n",
    ))
    .unwrap();
    assert_eq!(project.name, None);
    assert_eq!(project.storage, Storage::default());
    assert_eq!(Storage::parse(Storage::DEFAULT), Ok(Storage::default()));
    let service = &project.services[0];
    assert!(service.auth.is_none());
    assert_eq!(service.paginator, PaginatorConfig::None);
    let collector = &service.collectors[0];
    assert_eq!(collector.name, "customers");
    assert_eq!(collector.interval, None);
    assert_eq!(collector.records, None);
    assert_eq!(collector.primary_key, ["id"]);
    assert_eq!(
        collector.fields,
        [field("id", "id", FieldType::Integer, true)]
    );
}

/// A service without collectors is allowed, and `collectors:` left empty means none.
#[test]
fn a_service_may_have_no_collectors() {
    let project = parse(&with_service("")).unwrap();
    assert!(project.services[0].collectors.is_empty());
    let project = parse(&with_service("    collectors:\n")).unwrap();
    assert!(project.services[0].collectors.is_empty());
}

/// `api_key: "..."` directly under a service is a bearer token.
#[test]
fn api_key_under_a_service_is_a_bearer_token() {
    let project = parse(&with_service("    api_key: \"${MOLLIE_API_KEY}\"\n")).unwrap();
    let Some(AuthConfig::Bearer(token)) = &project.services[0].auth else {
        panic!("a bearer token expected: {:?}", project.services[0].auth);
    };
    assert_eq!(token.expose(), MOLLIE_TOKEN);
}

/// Each kind of `auth`: bearer, an API key in a header or the query, and basic.
#[test]
fn every_auth_kind_is_read() {
    let auth = |yaml: &str| {
        parse(&with_service(&format!("    auth: {yaml}\n")))
            .unwrap()
            .services
            .remove(0)
            .auth
            .unwrap()
    };
    let AuthConfig::ApiKeyHeader { header, value } =
        auth("{api_key: {header: X-API-Key, value: k1}}")
    else {
        panic!("a header key expected");
    };
    assert_eq!((header.as_str(), value.expose()), ("X-API-Key", "k1"));
    let AuthConfig::ApiKeyQuery { param, value } = auth("{api_key: {query: key, value: k2}}")
    else {
        panic!("a query key expected");
    };
    assert_eq!((param.as_str(), value.expose()), ("key", "k2"));
    let AuthConfig::Basic { username, password } =
        auth("{basic: {username: ann, password: \"${MISSING:-pw}\"}}")
    else {
        panic!("basic auth expected");
    };
    assert_eq!((username.as_str(), password.expose()), ("ann", "pw"));
    // Under the service, `api_key` may also be the long form.
    let project = parse(&with_service("    api_key: {query: token, value: k3}\n")).unwrap();
    assert!(matches!(
        &project.services[0].auth,
        Some(AuthConfig::ApiKeyQuery { param, value }) if param == "token" && value.expose() == "k3"
    ));
}

/// `paginator: SeekPaginator` as a bare name is that paginator with its defaults, however the
/// name is written.
#[test]
fn a_paginator_may_be_given_by_its_name_alone() {
    let paginator = |name: &str| {
        parse(&with_service(&format!("    paginator: {name}\n")))
            .unwrap()
            .services
            .remove(0)
            .paginator
    };
    let seek = PaginatorConfig::Seek {
        param: None,
        id_field: None,
        size_param: None,
        size: None,
    };
    let page_number = PaginatorConfig::PageNumber {
        param: None,
        start: None,
        size_param: None,
        size: None,
        total_path: None,
    };
    let json_next = PaginatorConfig::JsonNext { path: None };
    let link_header = PaginatorConfig::LinkHeader {
        rel: None,
        size_param: None,
        size: None,
    };
    for (name, expected) in [
        ("seek", &seek),
        ("SeekPaginator", &seek),
        ("page_number", &page_number),
        ("PageNumberPaginator", &page_number),
        ("jsonnext", &json_next),
        ("next_link", &json_next),
        ("JSON-Next", &json_next),
        ("link_header", &link_header),
        ("LinkHeaderPaginator", &link_header),
        ("none", &PaginatorConfig::None),
    ] {
        assert_eq!(&paginator(name), expected, "{name}");
    }
    assert!(matches!(
        paginator("OffsetPaginator"),
        PaginatorConfig::Offset { limit: None, .. }
    ));
}

/// Every paginator type takes its own keys, numbers as numbers.
#[test]
fn every_paginator_type_takes_its_keys() {
    let paginator = |yaml: &str| {
        parse(&with_service(&format!("    paginator: {yaml}\n")))
            .unwrap()
            .services
            .remove(0)
            .paginator
    };
    assert_eq!(
        paginator(
            "{type: page_number, param: p, start: 0, size_param: per_page, size: 50, total_path: meta.total}"
        ),
        PaginatorConfig::PageNumber {
            param: Some("p".to_owned()),
            start: Some(0),
            size_param: Some("per_page".to_owned()),
            size: Some(50),
            total_path: Some("meta.total".to_owned()),
        }
    );
    assert_eq!(
        paginator("{type: offset, offset_param: skip, limit_param: take, limit: 100}"),
        PaginatorConfig::Offset {
            offset_param: Some("skip".to_owned()),
            limit_param: Some("take".to_owned()),
            limit: Some(100),
            total_path: None,
        }
    );
    assert_eq!(
        paginator(
            "{type: cursor, path: meta.next, param: after, has_more_path: has_more, id_field: id, size_param: limit, size: 10}"
        ),
        PaginatorConfig::Cursor {
            path: Some("meta.next".to_owned()),
            param: "after".to_owned(),
            has_more_path: Some("has_more".to_owned()),
            id_field: Some("id".to_owned()),
            size_param: Some("limit".to_owned()),
            size: Some(10),
        }
    );
    assert_eq!(
        paginator("{type: LinkHeader, rel: next, size_param: per_page, size: 100}"),
        PaginatorConfig::LinkHeader {
            rel: Some("next".to_owned()),
            size_param: Some("per_page".to_owned()),
            size: Some(100),
        }
    );
    assert_eq!(
        paginator("{type: seek, param: from, id_field: uuid}"),
        PaginatorConfig::Seek {
            param: Some("from".to_owned()),
            id_field: Some("uuid".to_owned()),
            size_param: None,
            size: None,
        }
    );
    assert_eq!(paginator("{type: none}"), PaginatorConfig::None);
}

/// The long model form sets type, required and column; a dotted key reads a nested value into
/// a column named with `_`; the primary key may name a field by its key or its column.
#[test]
fn the_long_model_form_and_dotted_paths() {
    let source = with_service(
        "    collectors:
      /orders:
        model:
          id: {type: string}
          amount.value: {type: float, required: true}
          amount.currency: string
          customer.id: {type: integer, column: customer}
          meta: json
          paid: {type: bool, required: false}
          day: date
        primary_key: [id, customer]
",
    );
    let project = parse(&source).unwrap();
    let orders = &project.services[0].collectors[0];
    assert_eq!(
        orders.fields,
        [
            field("id", "id", FieldType::String, true),
            field("amount.value", "amount_value", FieldType::Float, true),
            field(
                "amount.currency",
                "amount_currency",
                FieldType::String,
                false
            ),
            field("customer.id", "customer", FieldType::Integer, true),
            field("meta", "meta", FieldType::Json, false),
            field("paid", "paid", FieldType::Bool, false),
            field("day", "day", FieldType::Date, false),
        ]
    );
    assert_eq!(orders.primary_key, ["id", "customer"]);

    let by_path = with_service(
        "    collectors:\n      /orders:\n        model: {customer.id: {type: integer, column: customer}}\n        primary_key: customer.id\n",
    );
    assert_eq!(
        parse(&by_path).unwrap().services[0].collectors[0].primary_key,
        ["customer"]
    );
}

/// Service-level `records`, `params`, `headers` and `timeout`; collector-level `params`;
/// intervals as text or as a mapping of units.
#[test]
fn service_settings_and_intervals() {
    let source = with_service(
        "    records: data.items
    params: {api_version: 2, verbose: true, tag: \"x y\"}
    headers:
      Accept: application/json
      X-Trace: \"${TRACE:-off}\"
    timeout: 30s
    connect_timeout: 5s
    user_agent: shop-sync/1.0
    max_body_bytes: 1048576
    collectors:
      /a: {interval: 1h 30m, model: {id: string}}
      /b: {interval: {hours: 2, minutes: 30}, model: {id: string}}
      /c: {interval: {weeks: 1, days: 1, seconds: 1, milliseconds: 500}, model: {id: string}}
      /d: {interval: 500ms, model: {id: string}, params: {status: open}}
",
    );
    let project = parse(&source).unwrap();
    let service = &project.services[0];
    assert_eq!(service.records.as_deref(), Some("data.items"));
    let pairs = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect()
    };
    assert_eq!(
        service.settings.params,
        pairs(&[("api_version", "2"), ("verbose", "true"), ("tag", "x y")])
    );
    assert_eq!(
        service.settings.headers,
        pairs(&[("Accept", "application/json"), ("X-Trace", "off")])
    );
    assert_eq!(service.settings.timeout, Duration::from_secs(30));
    assert_eq!(service.settings.connect_timeout, Duration::from_secs(5));
    assert_eq!(service.settings.user_agent, "shop-sync/1.0");
    assert_eq!(service.settings.max_body_bytes, 1_048_576);
    let intervals: Vec<Option<Duration>> = service
        .collectors
        .iter()
        .map(|collector| collector.interval)
        .collect();
    assert_eq!(
        intervals,
        [
            Some(Duration::from_secs(5_400)),
            Some(Duration::from_secs(9_000)),
            Some(Duration::from_millis((8 * 86_400 + 1) * 1_000 + 500)),
            Some(Duration::from_millis(500)),
        ]
    );
    assert_eq!(service.collectors[3].params, pairs(&[("status", "open")]));
}

/// `${VAR}` is replaced in every value, `${VAR:-default}` falls back when unset or empty, and
/// `$${` is a literal `${`.
#[test]
fn environment_variables_are_expanded_in_values() {
    let source = "name: ${UNSET:-shop}-${EMPTY:-x}
storage: ${STORAGE:-jsonl://out}
services:
  api:
    base_url: https://${HOST:-api.example.com}/v1/
    headers: {X-Literal: \"$${NOT_A_VARIABLE}\"}
    collectors:
      /things:
        interval: ${INTERVAL:-15m}
        model: {id: string}
";
    let project = parse(source).unwrap();
    assert_eq!(project.name.as_deref(), Some("shop-x"));
    assert_eq!(project.storage.to_string(), "jsonl://out");
    let service = &project.services[0];
    assert_eq!(service.base_url, "https://api.example.com/v1/");
    assert_eq!(service.settings.headers[0].1, "${NOT_A_VARIABLE}");
    assert_eq!(
        service.collectors[0].interval,
        Some(Duration::from_secs(900))
    );

    let missing = parse("name: ${NO_SUCH_VARIABLE}\nservices: {}\n").unwrap_err();
    let first = &missing.diagnostics()[0];
    assert_eq!((first.line, first.column), (1, 7));
    assert_eq!(
        first.message,
        "environment variable `NO_SUCH_VARIABLE` is not set"
    );
}

/// Every storage form, in a file and through `Storage::parse`; anything else names the forms.
#[test]
fn every_storage_form() {
    for (text, scheme, location) in [
        ("sqlite://hamstr.db", "sqlite", "hamstr.db"),
        ("sqlite:///var/lib/shop.db", "sqlite", "/var/lib/shop.db"),
        ("jsonl://out", "jsonl", "out"),
        (
            "postgres://app:pw@db.local:5432/shop?schema=raw",
            "postgres",
            "app:pw@db.local:5432/shop?schema=raw",
        ),
        (
            "postgresql://app@db.local/shop",
            "postgresql",
            "app@db.local/shop",
        ),
        ("stdout", "stdout", ""),
        ("stdout+envelope", "stdout+envelope", ""),
        ("memory", "memory", ""),
    ] {
        let expected = Storage::parse(text).unwrap();
        assert_eq!((expected.scheme(), expected.location()), (scheme, location));
        let project = parse(&format!("storage: {text}\n{}", with_service(""))).unwrap();
        assert_eq!(project.storage, expected, "{text}");
    }
    for text in ["sqlite://", "jsonl://", "mysql://db", "Memory", ""] {
        let error = Storage::parse(text).unwrap_err().to_string();
        assert!(
            error.contains(
                "sqlite://PATH, postgres://USER:PASSWORD@HOST:PORT/DATABASE, postgresql://USER:PASSWORD@HOST:PORT/DATABASE, jsonl://DIR, stdout, stdout+envelope or memory"
            ),
            "{error}"
        );
    }
    // A server's URL is read at once: a typo is an error where it is written.
    let error = Storage::parse("postgres://app:s3cret@db.local:54x32/shop")
        .unwrap_err()
        .to_string();
    assert!(error.contains("not a PostgreSQL URL"), "{error}");
    assert!(!error.contains("s3cret"), "{error}");
}

/// `load` reads a file from disk; a missing file or one over 1 MiB is one error at 1:1.
#[test]
fn load_reads_a_file_and_refuses_a_huge_one() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("hamstr.yml");
    std::fs::write(&path, with_service("    api_key: \"${EMPTY:-k}\"\n")).unwrap();
    let project = config::load(&path).unwrap();
    assert_eq!(project.services[0].name, "api");

    let error = config::load(&folder.path().join("absent.yml")).unwrap_err();
    assert_eq!(error.diagnostics().len(), 1);
    assert!(
        error
            .to_string()
            .contains("absent.yml:1:1: cannot read the file")
    );

    let mut huge = with_service("");
    huge.push_str(&"# padding\n".repeat(120_000));
    std::fs::write(&path, huge).unwrap();
    let error = config::load(&path).unwrap_err();
    assert!(
        error.to_string().contains("larger than the limit of 1 MiB"),
        "{error}"
    );
}

/// The YAML reference cannot drift: its complete files parse, and its error example is what
/// `render` shows.
#[test]
fn the_yaml_reference_shows_what_the_loader_does() {
    let reference = include_str!("../../docs/yaml.md");
    let blocks = |language: &str| -> Vec<String> {
        reference
            .split(&format!("```{language}\n"))
            .skip(1)
            .map(|rest| rest.split("```").next().unwrap_or_default().to_owned())
            .collect()
    };
    let files: Vec<String> = blocks("yaml")
        .into_iter()
        .filter(|block| {
            ["services:", "files:"]
                .iter()
                .any(|key| block.starts_with(key) || block.contains(&format!("\n{key}")))
        })
        .collect();
    assert!(files.len() >= 3, "{files:?}");
    for file in &files {
        let environment = |name: &str| Some(format!("{name}_value"));
        if let Err(error) = config::parse_with_env(file, "hamstr.yml", &environment) {
            panic!(
                "a complete file of the reference does not parse:\n{}",
                error.render()
            );
        }
    }
    let error =
        parse("name: shop\nservices:\n  mollie:\n    bse_url: https://api.mollie.com/v2/\n")
            .unwrap_err();
    let shown = &blocks("text")[0];
    assert!(
        error.render().contains(shown.trim_end()),
        "{}\n---\n{shown}",
        error.render()
    );
}

/// `spread_schedules: 1h` spreads the first runs of collectors with the same interval through
/// the window: the k-th of four is due k quarters of an hour after the start. Without it, all
/// four run at the start.
#[tokio::test]
async fn spread_schedules_spreads_the_first_runs() {
    let api = hamstr::testing::MockApi::start().await;
    let names = ["a", "b", "c", "d"];
    for name in names {
        api.route(
            &format!("/{name}"),
            hamstr::testing::Collection::new(vec![serde_json::json!({"id": 1})]),
        );
    }
    let collectors: String = names
        .map(|name| {
            format!("      /{name}:\n        interval: 1h\n        model: {{id: integer}}\n")
        })
        .concat();
    // Minutes from the start to each collector's next run, once started.
    let due_in = |spread: &'static str| {
        let source = format!(
            "{spread}services:\n  api:\n    base_url: {}\n    records: data\n    collectors:\n{collectors}",
            api.url()
        );
        async move {
            let project = parse(&source).unwrap();
            let app = project.into_app(&Storage::memory()).unwrap();
            let started = chrono::Utc::now();
            let mut handle = app.start().await.unwrap();
            // Until every scheduler has planned its first run (or started it).
            let mut statuses = handle.status(0).await.unwrap();
            for _ in 0..10_000 {
                if statuses
                    .iter()
                    .all(|status| status.next_run.is_some() || status.is_running)
                {
                    break;
                }
                tokio::task::yield_now().await;
                statuses = handle.status(0).await.unwrap();
            }
            handle.stop().await;
            statuses.sort_by(|left, right| left.collector.cmp(&right.collector));
            statuses
                .iter()
                .map(|status| status.next_run.map(|next| (next - started).num_minutes()))
                .collect::<Vec<_>>()
        }
    };
    let spread = due_in("spread_schedules: 1h\n").await;
    assert_eq!(spread[1..], [Some(15), Some(30), Some(45)], "{spread:?}");
    let together = due_in("").await;
    assert!(
        together
            .iter()
            .all(|minutes| minutes.is_none_or(|minutes| minutes == 0 || minutes >= 59)),
        "{together:?}"
    );
    let refused = parse(
        "spread_schedules: soon\nservices: {api: {base_url: 'http://127.0.0.1/', collectors: {/a: {model: {id: integer}}}}}\n",
    )
    .unwrap_err()
    .to_string();
    assert!(refused.contains("`spread_schedules`"), "{refused}");
}
