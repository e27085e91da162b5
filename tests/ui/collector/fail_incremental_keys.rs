#[derive(hamstr::Model, serde::Deserialize)]
struct Payment {
    id: String,
}

#[derive(hamstr::Collector)]
#[hamstr(endpoint = "payments", model = Payment, incremental(strategy = "cursor_field", field = "updated_at"))]
struct MissingParam;

#[derive(hamstr::Collector)]
#[hamstr(endpoint = "payments", model = Payment, incremental(strategy = "stop_when_seen"))]
struct MissingField;

#[derive(hamstr::Collector)]
#[hamstr(endpoint = "payments", model = Payment, incremental(strategy = "seek", lookback = "10m", feild = "id"))]
struct KeysOfOtherStrategies;

#[derive(hamstr::Collector)]
#[hamstr(endpoint = "payments", model = Payment, incremental(strategy = "full_refresh", field = "id"))]
struct FullRefreshTakesNoKeys;

#[derive(hamstr::Collector)]
#[hamstr(
    endpoint = "payments",
    model = Payment,
    incremental(strategy = "cursor_field", field = "meta..updated_at", param = "", lookback = "10")
)]
struct BadValues;

#[derive(hamstr::Collector)]
#[hamstr(
    endpoint = "payments",
    model = Payment,
    incremental(strategy = "cursor_field", field = "updated_at", param = "since", lookback = "0s")
)]
struct ZeroLookback;

fn main() {}
