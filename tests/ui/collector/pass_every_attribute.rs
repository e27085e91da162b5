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

fn log_problem(_collector: &PaidPayments, error: &hamstr::Error) {
    let _ = error.to_string();
}

/// The least a derived collector needs.
#[derive(hamstr::Collector)]
#[hamstr(endpoint = "payments", model = Payment)]
struct AllPayments;

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
    let least = hamstr::Collector::settings(&AllPayments);
    assert!(least.run_interval().is_none());
}
