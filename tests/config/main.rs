//! The YAML project loader: valid files into exactly the expected `Project`, a corpus of broken
//! files each with the errors it must give, secrets that never show, mutated files that must
//! never panic, collectors' incremental strategies on their way to the runs, services' retries
//! and limits on their way to the requests, and files collected with no service.

mod broken;
mod files;
mod incremental;
mod never_panics;
mod project_files;
mod resilience;
mod secrets;

use hamstr::config::{self, ConfigError, Project};

/// The token `MOLLIE_API_KEY` holds in these tests; no error or `Debug` output may contain it.
pub(crate) const MOLLIE_TOKEN: &str = "live_tok3n_that_must_never_show";

/// The environment these tests see: `MOLLIE_API_KEY`, `EMPTY` (set, empty) and nothing else.
pub(crate) fn environment(name: &str) -> Option<String> {
    match name {
        "MOLLIE_API_KEY" => Some(MOLLIE_TOKEN.to_owned()),
        "EMPTY" => Some(String::new()),
        "OWNER" => Some("dacort".to_owned()),
        "PAGE_PARAM" => Some("per_page".to_owned()),
        _ => None,
    }
}

/// Parses `source` as `hamstr.yml` in the test environment.
pub(crate) fn parse(source: &str) -> Result<Project, ConfigError> {
    config::parse_with_env(source, "hamstr.yml", &environment)
}

/// The example project, comments and all.
pub(crate) const SHOP: &str = include_str!("shop.yml");
