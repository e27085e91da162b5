//! Ready-made API definitions shipped with hamstr: project files for GitHub, crates.io, Stripe,
//! Mollie, Oura, Greenhouse, Jira, Confluence and S3, each runnable as it is (`hamstr extract github
//! repos rust-lang`), to extend in YAML, or to copy (`hamstr init --from github`).
//!
//! Each names its credentials' environment variables by the API's usual names, its paging, and
//! its parameters; every model has the common attributes `title`, `url` and `created_at`.
//!
//! ```
//! use hamstr::config::{ParameterValues, catalog};
//!
//! let github = catalog::find("github").unwrap();
//! let environment = |name: &str| (name == "GITHUB_TOKEN").then(|| "ghp_example".to_owned());
//! let mut project = github.project_with_env(&environment).unwrap();
//! project
//!     .bind_with_env(&ParameterValues::new().set("owner", "rust-lang").only(["repos"]), &environment)
//!     .unwrap();
//! let repos = project.endpoint("repos").unwrap(); // list, list_pages, get, search
//! # let _ = repos;
//! ```

use super::{ConfigError, Project, parse_with_env};

/// One API of the catalog.
#[derive(Debug, Clone, Copy)]
pub struct Api {
    name: &'static str,
    source: &'static str,
}

const APIS: [Api; 9] = [
    Api::new("confluence", include_str!("confluence.yml")),
    Api::new("crates_io", include_str!("crates_io.yml")),
    Api::new("github", include_str!("github.yml")),
    Api::new("greenhouse", include_str!("greenhouse.yml")),
    Api::new("jira", include_str!("jira.yml")),
    Api::new("mollie", include_str!("mollie.yml")),
    Api::new("oura", include_str!("oura.yml")),
    Api::new("s3", include_str!("s3.yml")),
    Api::new("stripe", include_str!("stripe.yml")),
];

/// Every API of the catalog, by name.
pub fn apis() -> &'static [Api] {
    &APIS
}

/// The API named `name` (`crates-io` is `crates_io`).
pub fn find(name: &str) -> Option<&'static Api> {
    let name = name.replace('-', "_");
    APIS.iter().find(|api| api.name == name)
}

/// An environment variable a definition reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    /// Its name.
    pub name: String,
    /// Whether it has a default (`${NAME:-default}`), so it may be left unset.
    pub is_optional: bool,
}

impl Api {
    const fn new(name: &'static str, source: &'static str) -> Self {
        Self { name, source }
    }

    /// Its name: `hamstr extract NAME ...`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The definition, as `hamstr init --from NAME` writes it.
    pub fn source(&self) -> &'static str {
        self.source
    }

    /// What it is: the first line of its leading comment.
    pub fn summary(&self) -> &'static str {
        self.source
            .lines()
            .next()
            .and_then(|line| line.strip_prefix("# "))
            .unwrap_or_default()
    }

    /// Its leading comment: credentials, paging, rate limits, without the `# `.
    pub fn notes(&self) -> String {
        self.source
            .lines()
            .map_while(|line| line.strip_prefix('#'))
            .map(str::trim)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The name its errors give the definition: `catalog/NAME.yml`.
    pub fn file_name(&self) -> String {
        format!("catalog/{}.yml", self.name)
    }

    /// The environment variables it reads, in the order first written.
    pub fn variables(&self) -> Vec<Variable> {
        let mut found: Vec<Variable> = Vec::new();
        let mut rest = self.source;
        while let Some(start) = rest.find("${") {
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else { break };
            let inner = &after[..end];
            let (name, is_optional) = match inner.split_once(":-") {
                Some((name, _)) => (name, true),
                None => (inner, false),
            };
            if !found.iter().any(|variable| variable.name == name) {
                found.push(Variable {
                    name: name.to_owned(),
                    is_optional,
                });
            }
            rest = &after[end + 1..];
        }
        found
    }

    /// The definition as a project, its `${VAR}` from the process environment.
    ///
    /// # Errors
    /// A credential's variable that is not set, named with its place in the definition.
    pub fn project(&self) -> Result<Project, ConfigError> {
        self.project_with_env(&|name| std::env::var(name).ok())
    }

    /// The definition as a project, its `${VAR}` read through `env`.
    ///
    /// # Errors
    /// As [`project`](Self::project).
    pub fn project_with_env(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Project, ConfigError> {
        parse_with_env(self.source, &self.file_name(), env)
    }

    /// The definition as a project for describing it (`hamstr catalog`): unset variables get
    /// stand-ins, so no credential is needed and none is read.
    pub fn described(&self) -> Project {
        let stand_in = |name: &str| {
            Some(if name.ends_with("_URL") {
                "https://api.example.invalid/".to_owned()
            } else {
                format!("stand-in-{}", name.to_ascii_lowercase())
            })
        };
        self.project_with_env(&stand_in)
            .expect("every catalog definition is checked by the tests")
    }
}
