//! The command line's words: every command, its options and examples.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

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
  hamstr migrate hamstr.yml --apply        change tables whose model changed a field's type or its key
  hamstr catalog                           the ready-made APIs (GitHub, Stripe, Jira, ...)
  hamstr extract github repos rust-lang    one collector once, JSON lines on stdout";

/// Collect records from HTTP APIs into one store, described in a YAML file.
#[derive(Debug, Parser)]
#[command(name = "hamstr", version, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub(super) command: Command,
    /// Threads for the collectors, their pages and the admin API. One (the default) is the
    /// fastest and smallest for API calls; more spread the parsing of many busy services over
    /// cores. A SQLite store writes on a thread of its own either way.
    #[arg(
        long,
        global = true,
        value_name = "N",
        default_value_t = 1,
        value_parser = clap::value_parser!(u16).range(1..)
    )]
    pub(super) threads: u16,
}

#[derive(Debug, Subcommand)]
pub(super) enum Command {
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
        /// A value of one of the project's `parameters:` (repeat for more); instead of the
        /// environment variable of its name and its default.
        #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_set)]
        set: Vec<(String, String)>,
        /// With `--storage stdout`: keep the collectors' state in FILE (read first when it is
        /// there), so that the next run goes on where this one stopped.
        #[arg(long, value_name = "FILE")]
        state: Option<PathBuf>,
    },
    /// Run one collector once, of a catalog API or a project file, and write its records to
    /// stdout as JSON lines (nothing else goes to stdout); keeps no state unless `--state`.
    #[command(after_help = "\
Examples:
  hamstr extract github repos rust-lang
  GITHUB_TOKEN=... hamstr extract github traffic dacort/cargo-crates views
  OURA_PAT=... start=2021-01-01 hamstr extract oura activity
  hamstr extract crates_io versions serde --output versions.jsonl
  hamstr extract hamstr.yml payments --set from=tr_123 --envelope

The collector takes its parameters as positional arguments (`hamstr catalog API` lists them),
`--set NAME=VALUE`, or environment variables of their names. A collector named `a_b` can be
written `a ... b`: `traffic dacort/cargo-crates views` is `traffic_views dacort/cargo-crates`.
Exit status: 0 when it succeeded, 1 when it failed (the records before the failure are
written), 2 when the definition, a parameter or a credential is wrong (nothing is sent).")]
    Extract {
        /// A catalog API (`hamstr catalog`) or a project file.
        source: String,
        /// The collector: its name, or service/name.
        collector: String,
        /// Its positional arguments, in the order `hamstr catalog API` lists them.
        arguments: Vec<String>,
        /// A parameter's value (repeat for more).
        #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_set)]
        set: Vec<(String, String)>,
        /// Put each record in an envelope: {"collector":...,"model":...,"record":...}.
        #[arg(long)]
        envelope: bool,
        /// Write the JSON lines to this file, or to s3://BUCKET/KEY (AWS_* credentials),
        /// instead of stdout.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Keep the collector's state in FILE (read first when it is there), so that the next
        /// extract goes on where this one stopped: an incremental collector writes only what is
        /// new.
        #[arg(long, value_name = "FILE")]
        state: Option<PathBuf>,
    },
    /// Search every collector and file of a catalog API or a project at once, each its own way
    /// (the API's search, or a scan), and write what matches as JSON lines tagged with where it
    /// came from.
    #[command(after_help = "\
Examples:
  hamstr search hamstr.yml 'rust engineer'
  GITHUB_TOKEN=... hamstr search github 'language:rust stars:>1000' --only repos --set owner=rust-lang
  hamstr search hamstr.yml invoice --timeout 10s | jq .title

Each line: {\"source\":\"service/collector\",\"title\":...,\"url\":...,\"created_at\":...,\"record\":{...}}.
A source that fails or passes --timeout is named on stderr; the others' results still come.
Exit status: 0 when every source answered, 1 when one failed, 2 when the definition or a
parameter is wrong (nothing is sent).")]
    Search {
        /// A catalog API (`hamstr catalog`) or a project file.
        source: String,
        /// The query, as each source takes it (an API's own syntax where it searches).
        query: String,
        /// Search only these collectors (`name` or `service/name`) and files.
        #[arg(long, value_name = "NAME", num_args = 1..)]
        only: Vec<String>,
        /// A parameter's value (repeat for more).
        #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_set)]
        set: Vec<(String, String)>,
        /// How long each source may take.
        #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
        timeout: Option<std::time::Duration>,
    },
    /// List the ready-made APIs, or show one: its collectors, parameters and environment.
    #[command(after_help = "Examples:\n  hamstr catalog\n  hamstr catalog github")]
    Catalog {
        /// The API to show.
        api: Option<String>,
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
    #[command(
        after_help = "Examples:\n  hamstr init\n  hamstr init shop.yml\n  hamstr init --from github"
    )]
    Init {
        /// Where to write it (default hamstr.yml, or API.yml with --from).
        path: Option<PathBuf>,
        /// Write this catalog API's definition instead, to run, extend or copy from.
        #[arg(long, value_name = "API")]
        from: Option<String>,
        /// Replace the file if it exists.
        #[arg(long)]
        force: bool,
    },
}

pub(super) fn parse_lease(text: &str) -> Result<std::time::Duration, String> {
    let lease = humantime::parse_duration(text).map_err(|error| error.to_string())?;
    if lease < std::time::Duration::from_secs(1) {
        return Err("a lease is at least 1s".to_owned());
    }
    Ok(lease)
}

/// `NAME=VALUE` of `--set`.
pub(super) fn parse_set(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.to_owned()))
        }
        _ => Err("write NAME=VALUE, e.g. --set start=2021-01-01".to_owned()),
    }
}

/// `--timeout`: a duration of at least 1ms.
pub(super) fn parse_timeout(text: &str) -> Result<std::time::Duration, String> {
    let timeout = humantime::parse_duration(text).map_err(|error| error.to_string())?;
    if timeout.is_zero() {
        return Err("a timeout is longer than zero".to_owned());
    }
    Ok(timeout)
}
