#[derive(hamstr::Model, serde::Deserialize)]
struct Dish {
    id: i64,
}

#[derive(hamstr::Collector)]
#[hamstr(model = Dish, file(path = "menu.csv", sheet = 1, page_size = 0))]
struct UnknownKey;

#[derive(hamstr::Collector)]
#[hamstr(model = Dish, file(key = "id"))]
struct NoPath;

#[derive(hamstr::Collector)]
#[hamstr(model = Dish, file(path = "menu.xlsx"))]
struct UnknownFormat;

#[derive(hamstr::Collector)]
#[hamstr(model = Dish, file(path = "menu.jsonl", delimiter = ";"))]
struct DelimiterForLines;

#[derive(hamstr::Collector)]
#[hamstr(model = Dish, endpoint = "dishes", file(path = "menu.csv"))]
struct Both;

#[derive(hamstr::Collector)]
#[hamstr(model = Dish, file(path = "menu.csv"), records = "data", params(limit = 10))]
struct EndpointKeys;

fn main() {}
