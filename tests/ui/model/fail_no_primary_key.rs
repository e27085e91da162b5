#[derive(hamstr::Model, serde::Deserialize)]
struct Payment {
    uuid: String,
    amount: i64,
}

fn main() {}
