//! A fan-out collector: an endpoint with a placeholder, its keys from another model's field and
//! from seeds, with every `keys(...)` setting.

#[derive(hamstr::Model, serde::Deserialize)]
#[hamstr(name = "users")]
struct User {
    #[hamstr(primary_key)]
    login: String,
}

#[derive(hamstr::Collector)]
#[hamstr(
    model = User,
    endpoint = "users/{login}/followers",
    keys(
        from = ["users.login", "stars.login"],
        seeds = ["octocat"],
        refresh_after = "1d",
        max_per_run = 5,
        concurrency = 2,
        parent_field = "followed",
        max_depth = 3
    ),
    interval = "1h"
)]
struct Followers;

#[derive(hamstr::Collector)]
#[hamstr(model = User, name = "links", endpoint = "{+link}", keys(from = "users.login"))]
struct Links;

fn main() {
    use hamstr::Collector as _;
    let followers = Followers.settings();
    let fan_out = followers.fan_out_settings().expect("a fan-out");
    assert_eq!(fan_out.seed_keys(), ["octocat"]);
    assert_eq!(fan_out.model_sources().len(), 2);
    assert_eq!((fan_out.keys_per_run(), fan_out.keys_at_once()), (5, 2));
    assert_eq!(fan_out.parent_field_for("login"), "followed");
    assert_eq!(fan_out.depth_limit(), Some(3));
    assert!(Links.settings().fan_out_settings().is_some());
}
