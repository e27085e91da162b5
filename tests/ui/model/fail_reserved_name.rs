use hamstr::Model;

/// Would write API records into hamstr's own state table.
#[derive(Model, serde::Deserialize)]
#[hamstr(name = "_hamstr_state")]
struct Sneaky {
    id: i64,
}

/// Would write its JSON Lines file outside the store's folder.
#[derive(Model, serde::Deserialize)]
#[hamstr(name = "../escape")]
struct Escape {
    id: i64,
}

fn main() {}
