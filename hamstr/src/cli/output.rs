//! What the command line prints: the summary of a pass, the progress bars, the status tables.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use chrono::{DateTime, Utc};

use crate::{
    report::{Observer, Report, RunReport},
    state::{CollectorId, CollectorStatus, RunRecord},
    text::ErrorChain,
};

/// The summary table, on stdout unless records go there.
#[allow(clippy::print_stdout, clippy::print_stderr)]
pub(super) fn print_summary(report: &Report, to_stderr: bool) {
    let mut table = table([
        "collector",
        "records",
        "new",
        "updated",
        "unchanged",
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
            run.unchanged.to_string(),
            run.pages.to_string(),
            run.skipped.to_string(),
            run.failure
                .as_ref()
                .map(|error| ErrorChain(error).to_string())
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

/// The state of each collector, then its last runs.
pub(super) fn status_tables(statuses: &[CollectorStatus]) -> String {
    let mut state = table([
        "collector",
        "strategy",
        "mark",
        "walk in progress",
        "last finished run",
    ]);
    let mut runs = table([
        "collector",
        "started",
        "took",
        "outcome",
        "pages",
        "records",
        "new",
        "updated",
        "unchanged",
        "skipped",
        "error",
    ]);
    for status in statuses {
        let stored = status.state.as_ref();
        state.add_row([
            status.collector.to_string(),
            status.strategy.to_string(),
            stored
                .and_then(|state| state.mark.as_ref())
                .map_or_else(|| "-".to_owned(), ToString::to_string),
            stored.and_then(|state| state.walk.as_ref()).map_or_else(
                || "-".to_owned(),
                |walk| {
                    let kind = if walk.is_full { "backfill, " } else { "" };
                    format!(
                        "{kind}{} pages stored, next {}",
                        walk.pages,
                        walk.next.as_str()
                    )
                },
            ),
            stored
                .and_then(|state| state.last_run)
                .map_or_else(|| "never".to_owned(), |instant| time(&instant)),
        ]);
        for run in &status.runs {
            runs.add_row(history_row(run));
        }
    }
    if statuses.iter().all(|status| status.runs.is_empty()) {
        return format!("{state}\nno runs yet");
    }
    format!("{state}\n{runs}")
}

fn history_row(run: &RunRecord) -> [String; 11] {
    let took = (run.finished_at - run.started_at)
        .to_std()
        .unwrap_or_default();
    let mut outcome = run.outcome.to_string();
    if run.is_full {
        outcome.push_str(" (backfill)");
    }
    if let Some(page) = run.resumed_at_page {
        outcome.push_str(&format!(" (resumed after page {page})"));
    }
    [
        run.collector.to_string(),
        time(&run.started_at),
        format!("{:.1}s", took.as_secs_f64()),
        outcome,
        run.pages.to_string(),
        run.records.to_string(),
        run.inserted.to_string(),
        run.updated.to_string(),
        run.unchanged.to_string(),
        run.skipped.to_string(),
        run.error.clone().unwrap_or_default(),
    ]
}

fn time(instant: &DateTime<Utc>) -> String {
    instant.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn table<const N: usize>(header: [&str; N]) -> comfy_table::Table {
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(header);
    table
}

/// A progress bar per collector while `--once` runs on a terminal.
pub(super) struct Progress {
    bars: indicatif::MultiProgress,
    by_collector: Mutex<BTreeMap<CollectorId, (indicatif::ProgressBar, usize)>>,
}

impl Progress {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Self {
            bars: indicatif::MultiProgress::new(),
            by_collector: Mutex::new(BTreeMap::new()),
        })
    }

    pub(super) fn finish(&self) {
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
