// A field type that is neither a column type nor serializable to JSON.
#[derive(serde::Deserialize)]
struct Secretive {
    value: String,
}

#[derive(hamstr::Model, serde::Deserialize)]
struct Payment {
    id: String,
    hidden: Secretive,
}

fn main() {}
