#[derive(hamstr::Model, serde::Deserialize)]
enum Payment {
    Paid { id: String },
}

#[derive(hamstr::Model, serde::Deserialize)]
struct Pair(String, i64);

#[derive(hamstr::Model, serde::Deserialize)]
struct Wrapper<T> {
    id: String,
    value: T,
}

fn main() {}
