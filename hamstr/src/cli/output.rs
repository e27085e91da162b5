//! What the command line prints: the summary of a pass, the progress bars, the status tables,
//! migration plans.

use std::{collections::BTreeMap, time::Duration};

use chrono::{DateTime, Utc};

use crate::{
    backend::{ClusterStatus, TablePlan},
    events::{Event, Events},
    report::Report,
    state::{CollectorId, CollectorStatus, RunOutcome, RunRecord},
    text::ErrorChain,
};

/// The summary table, on stdout unless records go there.
#[allow(clippy::print_stdout, clippy::print_stderr)]
pub(super) fn print_summary(report: &Report, to_stderr: bool) {
    let text = summary(report);
    if to_stderr {
        eprintln!("{text}");
    } else {
        println!("{text}");
    }
}

/// A pass's summary: a row per run, then the records skipped and the services' rate limits.
fn summary(report: &Report) -> String {
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
            match run.not_modified {
                0 => run.pages.to_string(),
                not_modified => format!("{} ({not_modified} not modified)", run.pages),
            },
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
    let mut text = table.to_string();
    if !skipped.is_empty() {
        text.push_str(&format!("\nskipped records:\n  {}", skipped.join("\n  ")));
    }
    if !report.rate_limits.is_empty() {
        text.push_str("\nrate limits:");
        let count = |count: Option<u64>| count.map_or_else(|| "?".to_owned(), |n| n.to_string());
        let at = |time: DateTime<Utc>| time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        for (service, limit) in &report.rate_limits {
            text.push_str(&format!(
                "\n  {service}: {} of {} left",
                count(limit.remaining),
                count(limit.limit)
            ));
            if let Some(reset) = limit.reset {
                text.push_str(&format!(", resets at {}", at(reset)));
            }
            if let Some(until) = limit.paused_until {
                text.push_str(&format!(", requests paused until {}", at(until)));
            }
        }
    }
    text
}

/// The state of each collector, then its last runs.
/// What `hamstr migrate` prints: each table's changes and statements, or that it fits.
pub(super) fn migration_plans(plans: &[TablePlan], is_applied: bool, file: &str) -> String {
    let mut text = String::new();
    let pending = plans.iter().filter(|plan| !plan.is_empty()).count();
    for plan in plans {
        if plan.is_empty() {
            text.push_str(&format!("{}: fits its model\n", plan.table));
            continue;
        }
        let verb = if is_applied { "changed" } else { "to change" };
        text.push_str(&format!("{}: {verb}\n", plan.table));
        for change in &plan.changes {
            text.push_str(&format!("  - {change}\n"));
        }
        for statement in &plan.statements {
            text.push_str(&format!("    {statement};\n"));
        }
    }
    match (pending, is_applied) {
        (0, _) => text.push_str("nothing to migrate\n"),
        (count, true) => text.push_str(&format!("migrated {count} table(s) in one transaction\n")),
        (count, false) => text.push_str(&format!(
            "{count} table(s) to change; `hamstr migrate {file} --apply` runs these statements in one transaction\n"
        )),
    }
    text
}

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

/// The workers sharing the store and who holds which collector, for `hamstr status`.
pub(super) fn cluster_tables(cluster: &ClusterStatus) -> String {
    let mut workers = table(["worker", "started", "last heartbeat"]);
    for worker in &cluster.workers {
        workers.add_row([
            worker.name.clone(),
            time(&worker.started_at),
            time(&worker.heartbeat_at),
        ]);
    }
    let mut leases = table([
        "collector",
        "held by",
        "lease until",
        "next due",
        "claims",
        "taken over from",
    ]);
    for lease in &cluster.leases {
        let dash = || "-".to_owned();
        leases.add_row([
            lease.collector.to_string(),
            lease.holder.clone().unwrap_or_else(dash),
            lease.expires_at.as_ref().map_or_else(dash, time),
            lease
                .next_due
                .as_ref()
                .map_or_else(|| "when asked".to_owned(), time),
            lease.claims.to_string(),
            lease.taken_over_from.clone().unwrap_or_else(dash),
        ]);
    }
    format!("{workers}\n{leases}")
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

pub(super) fn table<const N: usize>(header: [&str; N]) -> comfy_table::Table {
    let mut table = comfy_table::Table::new();
    table.load_preset(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(header);
    table
}

/// A progress bar per collector while `--once` runs on a terminal, drawn from the app's events
/// on a task of its own (a slow terminal never slows a run).
pub(super) struct Progress {
    task: tokio::task::JoinHandle<()>,
}

impl Progress {
    pub(super) fn spawn(events: Events) -> Self {
        let task = tokio::spawn(async move {
            let mut bars = Bars {
                bars: indicatif::MultiProgress::new(),
                by_collector: BTreeMap::new(),
            };
            let mut events = events;
            while let Some(event) = events.next().await {
                bars.show(event);
            }
            let _ = bars.bars.clear();
        });
        Self { task }
    }

    /// Waits until every event of the finished app is shown, then clears the bars.
    pub(super) async fn finish(self) {
        let _ = self.task.await;
    }
}

struct Bars {
    bars: indicatif::MultiProgress,
    by_collector: BTreeMap<CollectorId, (indicatif::ProgressBar, usize)>,
}

impl Bars {
    fn show(&mut self, event: Event) {
        match event {
            Event::RunStarted { collector, .. } => {
                let bar = self.bars.add(indicatif::ProgressBar::new_spinner());
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{spinner} {prefix:30} {msg} ({per_sec})",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
                );
                bar.set_prefix(collector.to_string());
                bar.enable_steady_tick(Duration::from_millis(120));
                self.by_collector.insert(collector, (bar, 0));
            }
            Event::PageStored {
                collector, records, ..
            } if records > 0 => {
                if let Some((bar, pages)) = self.by_collector.get_mut(&collector) {
                    *pages += 1;
                    bar.inc(records as u64);
                    bar.set_message(format!("{pages} pages, {} records", bar.position()));
                }
            }
            Event::RunFinished { record } => {
                if let Some((bar, _)) = self.by_collector.get(&record.collector) {
                    bar.finish_with_message(match record.outcome {
                        RunOutcome::Failed => format!("{} records, failed", record.records),
                        _ => format!("{} records, done", record.records),
                    });
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{report::RunReport, service::RateLimit};

    #[test]
    fn the_summary_shows_pages_not_modified_and_rate_limits() {
        let run = RunReport {
            collector: CollectorId::new("github", "repos"),
            started_at: Utc::now(),
            elapsed: Duration::from_millis(1200),
            pages: 12,
            not_modified: 3,
            records: 1100,
            dropped: 0,
            inserted: 10,
            updated: 0,
            unchanged: 1090,
            skipped: 0,
            skipped_records: Vec::new(),
            failure: None,
            was_stopped: false,
        };
        let reset = "2026-12-07T01:00:00Z".parse().unwrap();
        let mut limit = RateLimit::default();
        (limit.limit, limit.remaining, limit.reset) = (Some(5000), Some(4988), Some(reset));
        let report = Report {
            runs: vec![run],
            rate_limits: vec![("github".to_owned(), limit)],
        };
        let text = summary(&report);
        assert!(text.contains("12 (3 not modified)"), "{text}");
        assert!(
            text.contains("github: 4988 of 5000 left, resets at 2026-12-07T01:00:00Z"),
            "{text}"
        );
        assert!(!text.contains("paused"), "{text}");
    }
}
