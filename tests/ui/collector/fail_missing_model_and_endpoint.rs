#[derive(hamstr::Collector)]
#[hamstr(service = "mollie")]
struct PaymentsCollector;

fn main() {}
