//! The `hamstr` command line (feature `cli`): run, check, mock and init a YAML project.

mod args;
mod extract;
mod output;
mod serve;

use std::{io::IsTerminal, path::Path, process::ExitCode, sync::Arc};

use clap::Parser;

use crate::{
    app::{AppError, Hamstr, shutdown_signal},
    backend::{Backend, JsonLines},
    config::{self, ConfigError, Storage},
    testing::{MockApi, demo},
    text::ErrorChain,
};
pub use args::Cli;
use args::Command;
use output::{Progress, cluster_tables, print_summary, status_tables};

/// Runs the command line; `main` is this and the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match runtime(cli.threads) {
        Ok(runtime) => runtime.block_on(dispatch(cli.command)),
        Err(error) => {
            report_error_text(&format!("cannot start the async runtime: {error}"));
            ExitCode::from(2)
        }
    }
}

/// One thread unless told otherwise: a second one costs a hand-over per page and an allocator
/// arena of its own, and buys nothing while pages come from the network faster than one thread
/// parses them (docs/performance.md).
fn runtime(threads: u16) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(threads.into());
        builder
    };
    builder.enable_all().build()
}

async fn dispatch(command: Command) -> ExitCode {
    match command {
        Command::Run {
            file,
            once,
            storage,
            full,
            worker,
            lease,
            admin,
            only,
            set,
            state,
        } => {
            let options = RunOptions {
                once,
                storage,
                is_full: full,
                worker,
                lease,
                admin,
                only,
                set,
                state,
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
        Command::Extract {
            source,
            collector,
            arguments,
            set,
            envelope,
            output,
            state,
        } => {
            let request = extract::Request {
                source,
                collector,
                arguments,
                set,
                is_enveloped: envelope,
                output,
                state,
            };
            extract::extract(request).await
        }
        Command::Search {
            source,
            query,
            only,
            set,
            timeout,
        } => extract::search(&source, &query, only, set, timeout).await,
        Command::Catalog { api } => extract::catalog(api.as_deref()),
        Command::Init {
            path,
            force,
            from: Some(api),
        } => extract::init_from(&api, path, force),
        Command::Init {
            path,
            force,
            from: None,
        } => init(path.as_deref().unwrap_or(Path::new("hamstr.yml")), force),
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
    set: Vec<(String, String)>,
    state: Option<std::path::PathBuf>,
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
        set,
        state,
    } = options;
    let (mut project, storage) = match project_and_storage(file, storage.as_deref()) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let mut values = config::ParameterValues::new().only(only.iter().cloned());
    values.set = set;
    if let Err(code) = bind(&mut project, values) {
        return code;
    }
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
    let on_stdout = match state.map(|path| stdout_with_state(&storage, &path)) {
        None => None,
        Some(Ok(backend)) => Some(backend),
        Some(Err(code)) => return code,
    };
    init_logs(show_progress);
    let built = match on_stdout {
        Some(backend) => project.into_app_on(backend),
        None => project.into_app(&storage),
    }
    .map(|app| if only.is_empty() { app } else { app.only(only) });
    let app = match checked(built) {
        Ok(app) => app,
        Err(code) => return code,
    };
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
    let report = match run_once(app, |error| report_start_error(error, file)).await {
        Ok(report) => report,
        Err(code) => return code,
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

/// Records on stdout as `storage` says, their state in the file at `path`; any other storage
/// keeps its own state, and is refused with exit status 2.
fn stdout_with_state(storage: &Storage, path: &Path) -> Result<Arc<dyn Backend>, ExitCode> {
    let writer = match storage.scheme() {
        "stdout" => JsonLines::stdout(),
        "stdout+envelope" => JsonLines::stdout().enveloped(),
        _ => {
            report_error_text(&format!(
                "--state is for records written to stdout (--storage stdout); {storage} keeps its own state"
            ));
            return Err(ExitCode::from(2));
        }
    };
    match writer.state_file(path) {
        Ok(writer) => Ok(Arc::new(writer)),
        Err(error) => {
            report_error(&error);
            Err(ExitCode::from(2))
        }
    }
}

/// The app `built` is, checked before any request; a problem is reported, with exit status 2.
fn checked(built: Result<Hamstr, AppError>) -> Result<Hamstr, ExitCode> {
    let app = built.and_then(|app| app.check().map(|()| app));
    app.map_err(|error| {
        report_error(&error);
        ExitCode::from(2)
    })
}

/// One pass of every collector of `app`, ended early by Ctrl-C or SIGTERM; an error before the
/// first request goes to `report` (exit status 2), one setting up the signals exits 1.
async fn run_once(
    app: Hamstr,
    report: impl FnOnce(&AppError),
) -> Result<crate::report::Report, ExitCode> {
    let signal = shutdown_signal().map_err(|error| {
        report_error(&error);
        ExitCode::FAILURE
    })?;
    app.run_once_until(signal).await.map_err(|error| {
        report(&error);
        ExitCode::from(2)
    })
}

/// Fills the project's parameters; a problem is reported, with exit code 2.
fn bind(project: &mut config::Project, values: config::ParameterValues) -> Result<(), ExitCode> {
    project.bind(&values).map_err(|error| {
        for problem in error.problems() {
            report_error_text(problem);
        }
        ExitCode::from(2)
    })
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
    let next = format!(
        "try it: `hamstr mock` in one terminal, `hamstr run {} --once` in another",
        path.display()
    );
    write_new(path, STARTER, force, &next)
}

/// Writes `text` to `path`, unless it exists and not `force`; says what to do `next`.
fn write_new(path: &Path, text: &str, force: bool, next: &str) -> ExitCode {
    if path.exists() && !force {
        report_error_text(&format!(
            "{} exists; use --force to replace it",
            path.display()
        ));
        return ExitCode::FAILURE;
    }
    match std::fs::write(path, text) {
        Ok(()) => {
            report_ok(&format!("wrote {}; {next}", path.display()));
            ExitCode::SUCCESS
        }
        Err(error) => {
            report_error_text(&format!("cannot write {}: {error}", path.display()));
            ExitCode::FAILURE
        }
    }
}
