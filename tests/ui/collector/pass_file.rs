//! A collector of a file: every `file(...)` key, and a file format told by its name.

#[derive(hamstr::Model, serde::Deserialize)]
#[hamstr(name = "dishes")]
struct Dish {
    #[hamstr(primary_key)]
    id: i64,
    name: String,
}

#[derive(hamstr::Collector)]
#[hamstr(
    model = Dish,
    file(path = "data/menu.txt", format = "csv", key = "id", page_size = 500, delimiter = ";"),
    interval = "1h",
    incremental(strategy = "append")
)]
struct Menu;

#[derive(hamstr::Collector)]
#[hamstr(model = Dish, name = "specials", file(path = "data/specials.jsonl", key = "row_number"))]
struct Specials;

#[derive(hamstr::Collector)]
#[hamstr(model = Dish, name = "tabbed", file(path = "data/menu.tsv"))]
struct Tabbed;

fn main() {
    use hamstr::Collector as _;
    let menu = Menu.settings();
    assert_eq!(menu.file_source().map(|file| file.location()).as_deref(), Some("data/menu.txt"));
    assert_eq!(menu.incremental_strategy().name(), "append");
    assert!(Specials.settings().file_source().is_some());
    assert!(Tabbed.settings().endpoint_path().is_none());
}
