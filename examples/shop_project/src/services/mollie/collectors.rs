//! What to collect from the payment provider, and how often.

use std::sync::atomic::{AtomicUsize, Ordering};

use hamstr::{
    Collector,
    collector::{BoxError, RecordBatch},
};

use super::models::{OpenPayment, Payment};

/// Every payment, every 5 seconds; counts what it has seen.
#[derive(Collector, Default)]
#[hamstr(
    service = "mollie",
    endpoint = "payments",
    model = Payment,
    interval = "5s",
    params(limit = 250),
    on_records = Self::count
)]
pub(crate) struct PaymentsCollector {
    seen: AtomicUsize,
}

impl PaymentsCollector {
    async fn count(&self, batch: RecordBatch<Payment>) -> Result<(), BoxError> {
        let total = self.seen.fetch_add(batch.len(), Ordering::Relaxed) + batch.len();
        tracing::debug!(total, "payments seen");
        Ok(())
    }
}

/// Payments still open, into a table of their own: the callback keeps only those.
#[derive(Collector)]
#[hamstr(
    name = "open_payments",
    service = "mollie",
    endpoint = "payments",
    model = OpenPayment,
    interval = "1m",
    on_records = keep_open
)]
pub(crate) struct OpenPaymentsCollector;

async fn keep_open(
    _collector: &OpenPaymentsCollector,
    batch: RecordBatch<OpenPayment>,
) -> Result<(), BoxError> {
    batch.retain(|payment| payment.status == "open");
    Ok(())
}
