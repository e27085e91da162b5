//! Fan-outs that cannot work: each an error at the token to change.

#[derive(hamstr::Model, serde::Deserialize)]
#[hamstr(name = "users")]
struct User {
    #[hamstr(primary_key)]
    login: String,
}

#[derive(hamstr::Collector)]
#[hamstr(model = User, endpoint = "users/{login}")]
struct NoKeys;

#[derive(hamstr::Collector)]
#[hamstr(model = User, endpoint = "users", keys(seeds = ["a"]))]
struct NoPlaceholder;

#[derive(hamstr::Collector)]
#[hamstr(model = User, endpoint = "crates/{name}/{version}", keys(seeds = ["a"]))]
struct TwoPlaceholders;

#[derive(hamstr::Collector)]
#[hamstr(model = User, endpoint = "users/{login}", keys(from = "users", max_per_run = 0, refresh_after = "1x", depth = 2))]
struct BadKeys;

#[derive(hamstr::Collector)]
#[hamstr(model = User, endpoint = "users/{login}", keys())]
struct EmptyKeys;

#[derive(hamstr::Collector)]
#[hamstr(model = User, endpoint = "users/{login}", keys(seeds = ["a"], refresh_after = "0s", max_depth = -1))]
struct NeverEnds;

fn main() {}
