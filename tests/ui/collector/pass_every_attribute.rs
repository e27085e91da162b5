// Every collector attribute, with nothing imported.

#[derive(hamstr::Model, serde::Deserialize)]
#[hamstr(name = "payments")]
struct Payment {
    id: String,
    status: String,
}

#[derive(hamstr::Collector)]
#[hamstr(
    name = "paid_payments",
    service = "mollie",
    endpoint = "payments",
    records = "_embedded.payments",
    model = Payment,
    interval = "1h 30m",
    incremental(strategy = "cursor_field", field = "updated_at", param = "since", lookback = "10m"),
    params(limit = 250, status = "paid", test = true),
    on_records = Self::keep_paid,
    on_error = log_problem
)]
struct PaidPayments {
    minimum: usize,
}

impl PaidPayments {
    async fn keep_paid(
        &self,
        batch: hamstr::collector::RecordBatch<Payment>,
    ) -> Result<(), hamstr::collector::BoxError> {
        batch.retain(|payment| payment.status == "paid");
        if batch.len() < self.minimum {
            return Err("too few paid payments".into());
        }
        Ok(())
    }
}

fn log_problem(_collector: &PaidPayments, error: &hamstr::CollectError) {
    let _ = error.to_string();
}

/// The least a derived collector needs.
#[derive(hamstr::Collector)]
#[hamstr(endpoint = "payments", model = Payment)]
struct AllPayments;

/// Every other strategy: `seek` with its defaults and with its keys, `stop_when_seen`, and
/// `full_refresh` written out.
#[derive(hamstr::Collector)]
#[hamstr(endpoint = "payments", model = Payment, incremental(strategy = "seek"))]
struct SeekDefaults;

#[derive(hamstr::Collector)]
#[hamstr(
    endpoint = "payments",
    model = Payment,
    incremental(strategy = "seek", param = "starting_after", id_field = "data.uuid")
)]
struct SeekKeys;

#[derive(hamstr::Collector)]
#[hamstr(endpoint = "payments", model = Payment)]
#[hamstr(incremental(strategy = "stop_when_seen", field = "created_at"))]
struct NewestFirst;

#[derive(hamstr::Collector)]
#[hamstr(endpoint = "payments", model = Payment, incremental(strategy = "full_refresh"))]
struct Everything;

fn main() {
    let settings = hamstr::Collector::settings(&PaidPayments { minimum: 0 });
    assert_eq!(settings.collector_name(), Some("paid_payments"));
    assert_eq!(settings.service_name(), Some("mollie"));
    assert_eq!(settings.endpoint_path(), Some("payments"));
    assert_eq!(
        settings.run_interval().unwrap().duration().unwrap(),
        std::time::Duration::from_secs(5400)
    );
    let params: Vec<(&str, &str)> = settings
        .params()
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    assert_eq!(params, [("limit", "250"), ("status", "paid"), ("test", "true")]);
    assert_eq!(
        settings.incremental_strategy(),
        &hamstr::state::Incremental::from(
            hamstr::state::Incremental::cursor_field("updated_at", "since")
                .lookback(std::time::Duration::from_secs(600))
        )
    );
    let least = hamstr::Collector::settings(&AllPayments);
    assert!(least.run_interval().is_none());
    assert_eq!(
        least.incremental_strategy(),
        &hamstr::state::Incremental::FullRefresh
    );
    for (settings, expected) in [
        (
            hamstr::Collector::settings(&SeekDefaults),
            hamstr::state::Incremental::seek("from", "id"),
        ),
        (
            hamstr::Collector::settings(&SeekKeys),
            hamstr::state::Incremental::seek("starting_after", "data.uuid"),
        ),
        (
            hamstr::Collector::settings(&NewestFirst),
            hamstr::state::Incremental::stop_when_seen("created_at"),
        ),
        (
            hamstr::Collector::settings(&Everything),
            hamstr::state::Incremental::FullRefresh,
        ),
    ] {
        assert_eq!(settings.incremental_strategy(), &expected);
    }
}
