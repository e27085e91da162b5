//! The `hamstr` command line (feature `cli`): run, check, mock and init a YAML project.

use std::{
    collections::BTreeMap,
    io::IsTerminal,
    path::{Path, PathBuf},
    process::ExitCode,
    sync::{Arc, Mutex},
    time::Duration,
};

use clap::{Parser, Subcommand};

use crate::{
    Error,
    backend::CollectorId,
    config::{self, ConfigError, Storage},
    report::{Observer, Report, RunReport},
    testing::MockApi,
};

const EXAMPLES: &str = "\
Examples:
  hamstr init                              write a starter hamstr.yml
  hamstr mock &                            serve the demo API it points at, on 127.0.0.1:8080
  hamstr check hamstr.yml                  validate it, without sending a request
  hamstr run hamstr.yml --once             one pass of every collector into hamstr.db
  hamstr run hamstr.yml --once --storage stdout > records.jsonl
  hamstr run hamstr.yml                    collect on every interval until Ctrl-C";

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
        } => run(&file, once, storage.as_deref()).await,
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

fn report_error(error: &Error) {
    report_error_text(&crate::error::ErrorChain(error).to_string());
}

async fn run(file: &Path, once: bool, storage: Option<&str>) -> ExitCode {
    let project = match load(file) {
        Ok(project) => project,
        Err(code) => return code,
    };
    let storage = match storage.map(Storage::parse).transpose() {
        Ok(chosen) => chosen.unwrap_or_else(|| project.storage.clone()),
        Err(message) => {
            report_error_text(&format!("--storage: {message}"));
            return ExitCode::from(2);
        }
    };
    let to_stdout = matches!(storage, Storage::Stdout);
    let show_progress = once && std::io::stderr().is_terminal();
    init_logs(show_progress);
    let app = match project.into_app(&storage) {
        Ok(app) => app,
        Err(error) => {
            report_error(&error);
            return ExitCode::from(2);
        }
    };
    if let Err(error) = app.check() {
        report_error(&error);
        return ExitCode::from(2);
    }
    if !once {
        return match app.run().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                report_error(&error);
                ExitCode::FAILURE
            }
        };
    }
    let progress = show_progress.then(Progress::new);
    let app = match &progress {
        Some(progress) => app.observe(Arc::clone(progress)),
        None => app,
    };
    let signal = match crate::app::shutdown_signal() {
        Ok(signal) => signal,
        Err(error) => {
            report_error(&error);
            return ExitCode::FAILURE;
        }
    };
    let report = match app.run_once_until(signal).await {
        Ok(report) => report,
        Err(error) => {
            report_error(&error);
            return ExitCode::from(2);
        }
    };
    if let Some(progress) = &progress {
        progress.finish();
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

/// The summary table, on stdout unless records go there.
#[allow(clippy::print_stdout, clippy::print_stderr)]
fn print_summary(report: &Report, to_stderr: bool) {
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header([
        "collector",
        "records",
        "new",
        "updated",
        "pages",
        "skipped",
        "error",
        "time",
    ]);
    for run in &report.runs {
        table.add_row([
            run.collector.to_string(),
            run.records.to_string(),
            run.inserted.to_string(),
            run.updated.to_string(),
            run.pages.to_string(),
            run.skipped.to_string(),
            run.failure
                .as_ref()
                .map(|error| crate::error::ErrorChain(error).to_string())
                .unwrap_or_default(),
            format!("{:.1}s", run.elapsed.as_secs_f64()),
        ]);
    }
    let skipped: Vec<String> = report
        .runs
        .iter()
        .flat_map(|run| {
            run.skipped_records
                .iter()
                .map(move |error| format!("{}: {error}", run.collector))
        })
        .collect();
    let text = if skipped.is_empty() {
        table.to_string()
    } else {
        format!("{table}\nskipped records:\n  {}", skipped.join("\n  "))
    };
    if to_stderr {
        eprintln!("{text}");
    } else {
        println!("{text}");
    }
}

fn check(file: &Path) -> ExitCode {
    let project = match load(file) {
        Ok(project) => project,
        Err(code) => return code,
    };
    let storage = project.storage.clone();
    // Without opening the storage: `check` must not create a database.
    let app = project.into_app(&Storage::Memory);
    match app.and_then(|app| app.check()) {
        Ok(()) => {
            report_ok(&format!("{}: ok (storage: {storage:?})", file.display()));
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
                crate::testing::demo::DEMO_PAYMENTS,
                crate::testing::demo::DEMO_ORDERS,
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

/// A progress bar per collector while `--once` runs on a terminal.
struct Progress {
    bars: indicatif::MultiProgress,
    by_collector: Mutex<BTreeMap<CollectorId, (indicatif::ProgressBar, usize)>>,
}

impl Progress {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            bars: indicatif::MultiProgress::new(),
            by_collector: Mutex::new(BTreeMap::new()),
        })
    }

    fn finish(&self) {
        let _ = self.bars.clear();
    }
}

impl Observer for Progress {
    fn run_started(&self, collector: &CollectorId) {
        let bar = self.bars.add(indicatif::ProgressBar::new_spinner());
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {prefix:30} {msg} ({per_sec})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar.set_prefix(collector.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        if let Ok(mut bars) = self.by_collector.lock() {
            bars.insert(collector.clone(), (bar, 0));
        }
    }

    fn page_fetched(&self, collector: &CollectorId, records: usize) {
        if let Ok(mut bars) = self.by_collector.lock()
            && let Some((bar, pages)) = bars.get_mut(collector)
        {
            *pages += 1;
            bar.inc(records as u64);
            bar.set_message(format!("{pages} pages, {} records", bar.position()));
        }
    }

    fn run_finished(&self, report: &RunReport) {
        if let Ok(bars) = self.by_collector.lock()
            && let Some((bar, _)) = bars.get(&report.collector)
        {
            bar.finish_with_message(match &report.failure {
                None => format!("{} records, done", report.records),
                Some(_) => format!("{} records, failed", report.records),
            });
        }
    }
}
