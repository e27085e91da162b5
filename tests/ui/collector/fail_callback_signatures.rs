// Callbacks with another signature than the one each attribute takes: the error is at the
// function's name in the attribute and says what to write.
use hamstr::collector::{BoxError, RecordBatch};

#[derive(hamstr::Model, serde::Deserialize)]
struct Payment {
    id: String,
}

#[derive(hamstr::Collector)]
#[hamstr(endpoint = "payments", model = Payment, on_records = drop_forks)]
struct NoResult;

async fn drop_forks(_: &NoResult, batch: RecordBatch<Payment>) {
    batch.retain(|payment| !payment.id.is_empty());
}

#[derive(hamstr::Collector)]
#[hamstr(endpoint = "payments", model = Payment, on_records = no_collector)]
struct NoCollector;

async fn no_collector(_batch: RecordBatch<Payment>) -> Result<(), BoxError> {
    Ok(())
}

#[derive(hamstr::Collector)]
#[hamstr(endpoint = "payments", model = Payment, on_error = log_problem)]
struct ErrorByValue;

fn log_problem(_: &ErrorByValue, _error: String) {}

fn main() {}
