#[derive(hamstr::Model, serde::Deserialize)]
struct Payment {
    #[hamstr(primary_key)]
    id: Option<String>,
    #[hamstr(rename = "total")]
    amount: i64,
    total: i64,
    #[hamstr(skip, primary_key)]
    cache: u8,
}

fn main() {}
