// A duration written as a number: `interval` and `lookback` take a string with a unit.
#[derive(hamstr::Model, serde::Deserialize)]
struct Payment {
    id: String,
}

#[derive(hamstr::Collector)]
#[hamstr(endpoint = "payments", model = Payment, interval = 300)]
struct Seconds;

#[derive(hamstr::Collector)]
#[hamstr(
    endpoint = "payments",
    model = Payment,
    incremental(strategy = "cursor_field", field = "updated_at", param = "since", lookback = 600)
)]
struct LookbackSeconds;

fn main() {}
