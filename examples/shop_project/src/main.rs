//! The derive style in a project's layout: settings, then one folder per service with its
//! connection (`conf.rs`), its records (`models.rs`) and what to collect (`collectors.rs`).
//!
//! Run it from the repository's root: `cargo run -p shop_project`.

mod services;
mod settings;

use hamstr::{
    Hamstr,
    backend::Storage,
    testing::{MockApi, MockAuth},
};

use crate::settings::{DEMO_KEY, Settings};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "hamstr=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();

    // The bundled demo API stands in for any API not configured in the environment: one copy
    // plays the payment provider (and wants its key), another the shop's till.
    let provider = MockApi::start_demo().await;
    provider.require_auth(MockAuth::bearer(DEMO_KEY));
    let till = MockApi::start_demo().await;
    let settings = Settings::from_env(&provider.url(), &till.url())?;

    // Printed with any password as `***`.
    let storage = Storage::parse(&settings.database)?;
    let app = services::register(Hamstr::new().shared_backend(storage.open()?), &settings);
    app.check()?;
    if settings.should_watch {
        println!("collecting into {storage}; Ctrl-C stops");
        app.run().await?;
        return Ok(());
    }
    let report = app.run_once().await?;
    print!("{report}");
    println!("stored in {storage}");
    anyhow::ensure!(report.is_success(), "a collector failed");
    Ok(())
}
