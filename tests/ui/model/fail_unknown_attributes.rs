#[derive(hamstr::Model, serde::Deserialize)]
#[hamstr(table = "payments")]
struct Payment {
    #[hamstr(primary)]
    id: String,
    #[hamstr(rename = "a", rename = "b")]
    amount: i64,
}

fn main() {}
