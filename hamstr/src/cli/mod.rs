//! The `hamstr` command line (feature `cli`): run, check, mock and init a YAML project.

mod output;
mod serve;

use std::{
    io::IsTerminal,
    path::{Path, PathBuf},
    process::ExitCode,
};

use clap::{Parser, Subcommand};

use crate::{
    app::{AppError, Hamstr, shutdown_signal},
    config::{self, ConfigError, Storage},
    testing::{MockApi, demo},
    text::ErrorChain,
};
use output::{Progress, cluster_tables, print_summary, status_tables};

const EXAMPLES: &str = "\
Examples:
  hamstr init                              write a starter hamstr.yml
  hamstr mock &                            serve the demo API it points at, on 127.0.0.1:8080
  hamstr check hamstr.yml                  validate it, without sending a request
  hamstr run hamstr.yml --once             one pass of every collector into hamstr.db
  hamstr run hamstr.yml --once --storage stdout > records.jsonl
  hamstr run hamstr.yml                    collect on every interval until Ctrl-C
  hamstr status hamstr.yml                 each collector's state and its last runs
  hamstr run hamstr.yml --once --full      read everything once (a backfill), keeping the state
  hamstr reset hamstr.yml payments         forget a collector's state: its next run reads everything
  hamstr migrate hamstr.yml --apply        change tables whose model changed a field's type or its key";

/// Collect records from HTTP APIs into one store, described in a YAML file.
#[derive(Debug, Parser)]
#[command(name = "hamstr", version, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run every collector of a project: on its interval until Ctrl-C/SIGTERM, or once.
    #[command(after_help = "\
Examples:
  hamstr run hamstr.yml
  hamstr run hamstr.yml --once
  hamstr run hamstr.yml --once --storage stdout | jq .id
  hamstr run hamstr.yml --once --storage jsonl://out
  hamstr run hamstr.yml --once --only payments refunds

Exit status with --once: 0 when every collector succeeded, 1 when one failed (what the others
collected stays stored), 2 when the file has errors (nothing runs).")]
    Run {
        /// The project file.
        file: PathBuf,
        /// One pass of every collector, then exit.
        #[arg(long)]
        once: bool,
        /// Where to store instead of the file's `storage`: sqlite://PATH, jsonl://DIR, stdout
        /// (JSON lines; nothing else goes to stdout), memory.
        #[arg(long, value_name = "STORAGE")]
        storage: Option<String>,
        /// Read everything once, ignoring incremental strategies (a backfill); the stored state
        /// is kept and moved on. With intervals, only each collector's first run.
        #[arg(long)]
        full: bool,
        /// This process's name among workers sharing a PostgreSQL store (instead of the file's
        /// `cluster.worker`; default: host and process id).
        #[arg(long, value_name = "NAME")]
        worker: Option<String>,
        /// How long a worker's claim on a collector holds unless renewed (instead of the file's
        /// `cluster.lease`; default 30s).
        #[arg(long, value_name = "DURATION", value_parser = parse_lease)]
        lease: Option<std::time::Duration>,
        /// Serve the admin API, status page and metrics on ADDR (default 127.0.0.1:9650;
        /// instead of the file's `admin.listen`). Off loopback it needs a token
        /// (`admin.token`, or HAMSTR_ADMIN_TOKEN).
        #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "127.0.0.1:9650", conflicts_with = "once")]
        admin: Option<std::net::SocketAddr>,
        /// Run only these collectors (`name` or `service/name`); the others' models stay known.
        #[arg(long, value_name = "NAME", num_args = 1..)]
        only: Vec<String>,
    },
    /// Show each collector's stored state and its last runs (the load history).
    #[command(
        after_help = "Examples:\n  hamstr status hamstr.yml\n  hamstr status hamstr.yml --runs 50"
    )]
    Status {
        /// The project file.
        file: PathBuf,
        /// Read this storage instead of the file's `storage`: sqlite://PATH or jsonl://DIR.
        #[arg(long, value_name = "STORAGE")]
        storage: Option<String>,
        /// How many runs to show per collector.
        #[arg(long, default_value_t = 10)]
        runs: usize,
    },
    /// Forget what a collector remembers (its walk in progress, its mark): its next run reads
    /// everything. Stored records stay.
    #[command(
        after_help = "Examples:\n  hamstr reset hamstr.yml payments\n  hamstr reset hamstr.yml mollie/payments"
    )]
    Reset {
        /// The project file.
        file: PathBuf,
        /// The collector: its name, or service/name.
        collector: String,
        /// Use this storage instead of the file's `storage`: sqlite://PATH or jsonl://DIR.
        #[arg(long, value_name = "STORAGE")]
        storage: Option<String>,
    },
    /// Show how each model's table must change to take the model as it is now (a field whose
    /// type changed, another primary key), as the statements that would run; with --apply, run
    /// them, every table in one transaction.
    #[command(after_help = "\
Examples:
  hamstr migrate hamstr.yml
  hamstr migrate hamstr.yml --apply
  hamstr migrate hamstr.yml --storage postgres://app:secret@db:5432/shop --apply

A field a model gained needs no migration: `hamstr run` adds its column. A value that does not
convert, or two rows that would share a new key, stop --apply with nothing changed.")]
    Migrate {
        /// The project file.
        file: PathBuf,
        /// Run the statements (in one transaction) instead of printing them.
        #[arg(long)]
        apply: bool,
        /// Migrate this storage instead of the file's `storage`: sqlite://PATH or
        /// postgres://USER:PASSWORD@HOST:PORT/DATABASE.
        #[arg(long, value_name = "STORAGE")]
        storage: Option<String>,
    },
    /// Validate a project without sending a request: every error, with its line and column.
    #[command(after_help = "Example:\n  hamstr check hamstr.yml")]
    Check {
        /// The project file.
        file: PathBuf,
    },
    /// Serve the bundled demo API (or a folder of recorded fixtures) on 127.0.0.1.
    #[command(after_help = "\
Examples:
  hamstr mock                   the demo API on http://127.0.0.1:8080/
  hamstr mock --port 9000 fixtures/")]
    Mock {
        /// The port to listen on.
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// A folder of fixtures recorded with `Service::record_to`, served instead of the demo.
        fixtures: Option<PathBuf>,
    },
    /// Write a commented starter hamstr.yml that runs as is against `hamstr mock`.
    #[command(after_help = "Examples:\n  hamstr init\n  hamstr init shop.yml")]
    Init {
        /// Where to write it.
        #[arg(default_value = "hamstr.yml")]
        path: PathBuf,
        /// Replace the file if it exists.
        #[arg(long)]
        force: bool,
    },
}

/// Runs the command line; `main` is this and the exit code.
pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Run {
            file,
            once,
            storage,
            full,
            worker,
            lease,
            admin,
            only,
        } => {
            let options = RunOptions {
                once,
                storage,
                is_full: full,
                worker,
                lease,
                admin,
                only,
            };
            run(&file, options).await
        }
        Command::Status {
            file,
            storage,
            runs,
        } => status(&file, storage.as_deref(), runs).await,
        Command::Reset {
            file,
            collector,
            storage,
        } => reset(&file, &collector, storage.as_deref()).await,
        Command::Migrate {
            file,
            apply,
            storage,
        } => migrate(&file, apply, storage.as_deref()).await,
        Command::Check { file } => check(&file),
        Command::Mock { port, fixtures } => mock(port, fixtures.as_deref()).await,
        Command::Init { path, force } => init(&path, force),
    }
}

/// The starter project `hamstr init` writes.
pub const STARTER: &str = include_str!("starter.yml");

fn init_logs(is_quiet: bool) {
    let default = if is_quiet {
        "hamstr=warn"
    } else {
        "hamstr=info"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

fn load(file: &Path) -> Result<config::Project, ExitCode> {
    config::load(file).map_err(|error| {
        report_config_error(&error);
        ExitCode::from(2)
    })
}

#[allow(clippy::print_stderr)]
fn report_config_error(error: &ConfigError) {
    eprintln!("{}", error.render());
}

fn report_error(error: &(dyn std::error::Error + 'static)) {
    report_error_text(&ErrorChain(error).to_string());
}

/// The project at `file` and the storage to use: `--storage`, else the file's.
fn project_and_storage(
    file: &Path,
    storage: Option<&str>,
) -> Result<(config::Project, Storage), ExitCode> {
    let project = load(file)?;
    match storage.map(Storage::parse).transpose() {
        Ok(chosen) => {
            let storage = chosen.unwrap_or_else(|| project.storage.clone());
            Ok((project, storage))
        }
        Err(message) => {
            report_error_text(&format!("--storage: {message}"));
            Err(ExitCode::from(2))
        }
    }
}

/// The app over a storage that outlives the process, for `status` and `reset`.
fn stored_app(file: &Path, storage: Option<&str>) -> Result<Hamstr, ExitCode> {
    let (project, storage) = project_and_storage(file, storage)?;
    let scheme = storage.scheme_entry().map_err(|error| {
        report_error(&error);
        ExitCode::from(2)
    })?;
    if !scheme.is_persistent {
        let kept: Vec<String> = crate::backend::schemes()
            .iter()
            .filter(|scheme| scheme.is_persistent)
            .map(|scheme| scheme.form())
            .collect();
        report_error_text(&format!(
            "storage {storage} keeps nothing between runs; use {}",
            kept.join(" or ")
        ));
        return Err(ExitCode::from(2));
    }
    // Reading the state must not create an empty database.
    if let Some(path) = storage.local_path()
        && !path.exists()
    {
        report_error_text(&format!(
            "{} does not exist: nothing has run with this storage yet",
            path.display()
        ));
        return Err(ExitCode::FAILURE);
    }
    init_logs(true);
    let app = project
        .into_app(&storage)
        .and_then(|app| app.check().map(|()| app));
    app.map_err(|error| {
        report_error(&error);
        ExitCode::from(2)
    })
}

async fn status(file: &Path, storage: Option<&str>, runs: usize) -> ExitCode {
    let app = match stored_app(file, storage) {
        Ok(app) => app,
        Err(code) => return code,
    };
    let cluster = match app.cluster_status().await {
        Ok(cluster) => cluster.filter(|cluster| !cluster.workers.is_empty()),
        Err(error) => {
            report_error(&error);
            return ExitCode::FAILURE;
        }
    };
    match app.status(runs).await {
        Ok(statuses) => {
            report_ok(&status_tables(&statuses));
            if let Some(cluster) = cluster {
                report_ok(&format!("\n{}", cluster_tables(&cluster)));
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            report_error(&error);
            ExitCode::FAILURE
        }
    }
}

async fn reset(file: &Path, collector: &str, storage: Option<&str>) -> ExitCode {
    let app = match stored_app(file, storage) {
        Ok(app) => app,
        Err(code) => return code,
    };
    match app.reset_state(collector).await {
        Ok(id) => {
            report_ok(&format!(
                "{id}: state forgotten; its next run reads everything (stored records stay)"
            ));
            ExitCode::SUCCESS
        }
        Err(error @ AppError::UnknownCollector { .. }) => {
            report_error(&error);
            ExitCode::from(2)
        }
        Err(error) => {
            report_error(&error);
            ExitCode::FAILURE
        }
    }
}

async fn migrate(file: &Path, apply: bool, storage: Option<&str>) -> ExitCode {
    let app = match stored_app(file, storage) {
        Ok(app) => app,
        Err(code) => return code,
    };
    let plans = if apply {
        app.migrate().await
    } else {
        app.migration_plan().await
    };
    match plans {
        Ok(plans) => {
            report_ok(&output::migration_plans(
                &plans,
                apply,
                &file.display().to_string(),
            ));
            ExitCode::SUCCESS
        }
        Err(error) => {
            report_error(&error);
            ExitCode::FAILURE
        }
    }
}

/// Reports an error that stopped a run before its first request; a model change only a
/// migration can make says how to make it.
fn report_start_error(error: &AppError, file: &Path) {
    report_error(error);
    if let AppError::Backend(crate::backend::BackendError::Incompatible { .. }) = error {
        report_error_text(&format!(
            "`hamstr migrate {0}` shows how the table would change; `hamstr migrate {0} --apply` changes it",
            file.display()
        ));
    }
}

/// `hamstr run`'s options.
struct RunOptions {
    once: bool,
    storage: Option<String>,
    is_full: bool,
    worker: Option<String>,
    lease: Option<std::time::Duration>,
    admin: Option<std::net::SocketAddr>,
    only: Vec<String>,
}

fn parse_lease(text: &str) -> Result<std::time::Duration, String> {
    let lease = humantime::parse_duration(text).map_err(|error| error.to_string())?;
    if lease < std::time::Duration::from_secs(1) {
        return Err("a lease is at least 1s".to_owned());
    }
    Ok(lease)
}

async fn run(file: &Path, options: RunOptions) -> ExitCode {
    let RunOptions {
        once,
        storage,
        is_full,
        worker,
        lease,
        admin,
        only,
    } = options;
    let (project, storage) = match project_and_storage(file, storage.as_deref()) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let admin = match serve::admin_of(admin, project.admin.clone()) {
        Ok(admin) => admin.filter(|_| !once),
        Err(error) => {
            report_error_text(&error);
            return ExitCode::from(2);
        }
    };
    let to_stdout = storage
        .scheme_entry()
        .is_ok_and(|scheme| scheme.writes_stdout);
    let show_progress = once && std::io::stderr().is_terminal();
    init_logs(show_progress);
    let app = match project.into_app(&storage) {
        Ok(app) if only.is_empty() => app,
        Ok(app) => app.only(only),
        Err(error) => {
            report_error(&error);
            return ExitCode::from(2);
        }
    };
    if let Err(error) = app.check() {
        report_error(&error);
        return ExitCode::from(2);
    }
    let app = if is_full { app.backfill() } else { app };
    let app = match worker {
        Some(worker) => app.worker_name(worker),
        None => app,
    };
    let app = match lease {
        Some(lease) => app.lease_period(lease),
        None => app,
    };
    if let Some(admin) = admin {
        return serve::run_serving(app, admin, file).await;
    }
    if !once {
        return match app.run().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                report_start_error(&error, file);
                ExitCode::FAILURE
            }
        };
    }
    let progress = show_progress.then(|| Progress::spawn(app.subscribe()));
    let signal = match shutdown_signal() {
        Ok(signal) => signal,
        Err(error) => {
            report_error(&error);
            return ExitCode::FAILURE;
        }
    };
    let report = match app.run_once_until(signal).await {
        Ok(report) => report,
        Err(error) => {
            report_start_error(&error, file);
            return ExitCode::from(2);
        }
    };
    if let Some(progress) = progress {
        progress.finish().await;
    }
    print_summary(&report, to_stdout);
    if report.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[allow(clippy::print_stderr)]
fn report_error_text(message: &str) {
    eprintln!("error: {message}");
}

fn check(file: &Path) -> ExitCode {
    let project = match load(file) {
        Ok(project) => project,
        Err(code) => return code,
    };
    let storage = project.storage.clone();
    // Without opening the storage: `check` must not create a database.
    let app = project.into_app(&Storage::memory());
    match app.and_then(|app| app.check()) {
        Ok(()) => {
            report_ok(&format!("{}: ok (storage: {storage})", file.display()));
            ExitCode::SUCCESS
        }
        Err(error) => {
            report_error(&error);
            ExitCode::from(2)
        }
    }
}

#[allow(clippy::print_stdout)]
fn report_ok(message: &str) {
    println!("{message}");
}

async fn mock(port: u16, fixtures: Option<&Path>) -> ExitCode {
    init_logs(false);
    let api = match MockApi::bind(([127, 0, 0, 1], port).into()).await {
        Ok(api) => api,
        Err(error) => {
            report_error_text(&format!("cannot listen on 127.0.0.1:{port}: {error}"));
            return ExitCode::FAILURE;
        }
    };
    match fixtures {
        Some(dir) => match api.load_fixtures(dir) {
            Ok(count) => report_ok(&format!(
                "serving {count} recorded answers from {} on {}",
                dir.display(),
                api.url()
            )),
            Err(error) => {
                report_error_text(&error.to_string());
                return ExitCode::FAILURE;
            }
        },
        None => {
            api.serve_demo();
            report_ok(&format!(
                "serving the demo API on {url}: {url}v2/payments ({} payments), {url}shop/orders ({} orders); Ctrl-C stops",
                demo::DEMO_PAYMENTS,
                demo::DEMO_ORDERS,
                url = api.url()
            ));
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    ExitCode::SUCCESS
}

fn init(path: &Path, force: bool) -> ExitCode {
    if path.exists() && !force {
        report_error_text(&format!(
            "{} exists; use --force to replace it",
            path.display()
        ));
        return ExitCode::FAILURE;
    }
    match std::fs::write(path, STARTER) {
        Ok(()) => {
            report_ok(&format!(
                "wrote {path}; try it: `hamstr mock` in one terminal, `hamstr run {path} --once` in another",
                path = path.display()
            ));
            ExitCode::SUCCESS
        }
        Err(error) => {
            report_error_text(&format!("cannot write {}: {error}", path.display()));
            ExitCode::FAILURE
        }
    }
}
