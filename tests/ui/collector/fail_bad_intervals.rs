#[derive(hamstr::Model, serde::Deserialize)]
struct Payment {
    id: String,
}

#[derive(hamstr::Collector)]
#[hamstr(endpoint = "payments", model = Payment, interval = "5")]
struct NoUnit;

#[derive(hamstr::Collector)]
#[hamstr(endpoint = "payments", model = Payment, interval = "0s")]
struct Zero;

#[derive(hamstr::Collector)]
#[hamstr(endpoint = "payments", model = Payment, interval = "5 parsecs")]
struct UnknownUnit;

fn main() {}
