//! What changes between machines, read from the environment once at start.

use hamstr::Secret;

/// The project's settings.
#[derive(Debug)]
pub(crate) struct Settings {
    /// Where to store, as a storage URL: `DATABASE_URL` (`postgres://…`) when set, else the
    /// SQLite file `HAMSTR_DB` (default `hamstr.db`).
    pub(crate) database: String,
    /// The payment provider's API, and its key.
    pub(crate) mollie: Endpoint,
    /// The shop's till API.
    pub(crate) shop: Endpoint,
    /// Keep collecting on the intervals (`--watch`) instead of one pass.
    pub(crate) should_watch: bool,
}

/// Where one API is, and its key when it needs one.
#[derive(Debug)]
pub(crate) struct Endpoint {
    pub(crate) base_url: String,
    pub(crate) api_key: Option<Secret>,
}

impl Settings {
    /// Reads the environment; an API without a `*_BASE_URL` is served by the bundled demo API
    /// (`provider_demo`, `till_demo`), the provider with a test key.
    pub(crate) fn from_env(provider_demo: &str, till_demo: &str) -> anyhow::Result<Self> {
        let mollie = match std::env::var("MOLLIE_BASE_URL") {
            Ok(base_url) => Endpoint {
                base_url,
                api_key: Some(Secret::from_env("MOLLIE_API_KEY")?),
            },
            Err(_) => Endpoint {
                base_url: format!("{provider_demo}v2/"),
                api_key: Some(Secret::new(DEMO_KEY)),
            },
        };
        let shop = Endpoint {
            base_url: std::env::var("SHOP_BASE_URL")
                .unwrap_or_else(|_| format!("{till_demo}shop/")),
            api_key: None,
        };
        Ok(Self {
            database: std::env::var("DATABASE_URL").unwrap_or_else(|_| {
                let file = std::env::var("HAMSTR_DB").unwrap_or_else(|_| "hamstr.db".to_owned());
                format!("sqlite://{file}")
            }),
            mollie,
            shop,
            should_watch: std::env::args().any(|arg| arg == "--watch"),
        })
    }
}

/// The test key the demo API is told to require.
pub(crate) const DEMO_KEY: &str = "test_demo_3mJ5xN8qLw2";
