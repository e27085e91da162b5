// Field types that are neither a column type nor serializable to JSON: one error at each
// field's type, saying what to do.
#[derive(serde::Deserialize)]
struct Secretive {
    value: String,
}

#[derive(hamstr::Model, serde::Deserialize)]
struct Payment {
    id: String,
    hidden: Secretive,
    #[serde(skip)]
    seen_at: Option<std::time::Instant>,
}

fn main() {}
