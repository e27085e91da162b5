#[derive(hamstr::Model, serde::Deserialize)]
struct Payment {
    id: String,
}

#[derive(hamstr::Collector)]
#[hamstr(endpoint = "payments", model = Payment, incremental(strategy = "cursor", field = "updated_at"))]
struct UnknownStrategy;

#[derive(hamstr::Collector)]
#[hamstr(endpoint = "payments", model = Payment, incremental(field = "updated_at"))]
struct NoStrategy;

#[derive(hamstr::Collector)]
#[hamstr(endpoint = "payments", model = Payment, incremental = "seek", interval = "5")]
struct NotParenthesized;

#[derive(hamstr::Collector)]
#[hamstr(endpoint = "payments", model = Payment, incremental(strategy = "seek"))]
#[hamstr(incremental(strategy = "full_refresh"))]
struct GivenTwice;

fn main() {}
