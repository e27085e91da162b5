#[derive(hamstr::Model, serde::Deserialize)]
struct Payment {
    id: String,
}

#[derive(hamstr::Collector)]
#[hamstr(endpoint = "payments", model = Payment, every = "5s", service = "")]
#[hamstr(endpoint = "orders", params(page::size = 2, limit = [1]))]
struct PaymentsCollector;

fn main() {}
