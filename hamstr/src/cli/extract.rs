//! `hamstr extract`, `hamstr catalog` and `hamstr init --from`: one collector of a ready-made
//! API (or a project file) run once into JSON lines, and the catalog it comes from.

use std::{
    io::IsTerminal,
    path::{Path, PathBuf},
    process::ExitCode,
    sync::Arc,
};

use super::{
    bind, init_logs, output, report_config_error, report_error, report_error_text, report_ok,
};
use crate::{
    backend::{Backend, JsonLines},
    config::{self, ParameterValues, Project, catalog},
};

/// What `hamstr extract` was asked.
pub(super) struct Request {
    pub(super) source: String,
    pub(super) collector: String,
    pub(super) arguments: Vec<String>,
    pub(super) set: Vec<(String, String)>,
    pub(super) is_enveloped: bool,
    pub(super) output: Option<PathBuf>,
    pub(super) state: Option<PathBuf>,
}

pub(super) async fn extract(request: Request) -> ExitCode {
    let Request {
        source,
        collector,
        mut arguments,
        set,
        is_enveloped,
        output,
        state,
    } = request;
    let mut project = match project_of(&source) {
        Ok(project) => project,
        Err(code) => return code,
    };
    let collector = match collector_named(&project, &collector, &mut arguments) {
        Ok(collector) => collector,
        Err(message) => {
            report_error_text(&message);
            return ExitCode::from(2);
        }
    };
    let mut values = ParameterValues::new()
        .only([collector.clone()])
        .positional(arguments);
    values.set = set;
    if let Err(code) = bind(&mut project, values) {
        return code;
    }
    // A bucket's object is written once the run ends, from a file beside the process.
    let bucket = match output.as_deref().map(Path::to_string_lossy) {
        Some(text) if text.starts_with("s3://") => match s3::Target::parse(&text) {
            Ok(target) => Some(target),
            Err(message) => {
                report_error_text(&format!("--output: {message}"));
                return ExitCode::from(2);
            }
        },
        _ => None,
    };
    let output = match &bucket {
        Some(target) => Some(target.staging.clone()),
        None => output,
    };
    let writer = match &output {
        None => JsonLines::stdout(),
        Some(path) => match std::fs::File::create(path) {
            Ok(file) => JsonLines::writer(std::io::BufWriter::new(file)),
            Err(error) => {
                report_error_text(&format!("cannot write {}: {error}", path.display()));
                return ExitCode::from(2);
            }
        },
    };
    let writer = if is_enveloped {
        writer.enveloped()
    } else {
        writer
    };
    let writer = match state {
        None => writer,
        Some(path) => match writer.state_file(path) {
            Ok(writer) => writer,
            Err(error) => {
                report_error(&error);
                return ExitCode::from(2);
            }
        },
    };
    let backend: Arc<dyn Backend> = Arc::new(writer);
    init_logs(true);
    let app = match super::checked(
        project
            .into_app_on(backend)
            .map(|app| app.only([collector])),
    ) {
        Ok(app) => app,
        Err(code) => return code,
    };
    let report = match super::run_once(app, |error| report_error(error)).await {
        Ok(report) => report,
        Err(code) => return code,
    };
    // Cron and containers read the exit code; a person at a terminal gets the summary too.
    if std::io::stderr().is_terminal() {
        output::print_summary(&report, true);
    }
    // What was collected goes up even when the run failed part way: nothing collected is lost.
    if let Some(target) = bucket
        && let Err(message) = target.upload().await
    {
        report_error_text(&message);
        return ExitCode::FAILURE;
    }
    if report.is_success() {
        ExitCode::SUCCESS
    } else {
        for run in report.runs.iter().filter(|run| run.failure.is_some()) {
            if let Some(failure) = &run.failure {
                report_error_text(&format!(
                    "{}: {}",
                    run.collector,
                    crate::text::ErrorChain(failure)
                ));
            }
        }
        ExitCode::FAILURE
    }
}

/// JSON lines written to an S3 (or S3-compatible) bucket: `--output s3://BUCKET/KEY`.
mod s3 {
    use std::path::PathBuf;

    use object_store::{ObjectStore, aws::AmazonS3Builder, path::Path as ObjectPath};

    /// Where the lines go, and the local file they are written to first.
    pub(super) struct Target {
        bucket: String,
        key: String,
        pub(super) staging: PathBuf,
    }

    impl Target {
        /// `s3://BUCKET/KEY`.
        pub(super) fn parse(url: &str) -> Result<Self, String> {
            let rest = url.trim_start_matches("s3://");
            match rest.split_once('/') {
                Some((bucket, key)) if !bucket.is_empty() && !key.is_empty() => {
                    let nanos = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |elapsed| elapsed.as_nanos());
                    let staging = std::env::temp_dir().join(format!(
                        "hamstr-extract-{}-{nanos}.jsonl",
                        std::process::id()
                    ));
                    Ok(Self {
                        bucket: bucket.to_owned(),
                        key: key.to_owned(),
                        staging,
                    })
                }
                _ => Err(format!("`{url}` is not s3://BUCKET/KEY")),
            }
        }

        /// Puts the staged lines at the key, with the credentials and endpoint of the AWS
        /// environment variables (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`,
        /// `AWS_ENDPOINT_URL`); plain http only to this machine, or with `AWS_ALLOW_HTTP=true`.
        pub(super) async fn upload(self) -> Result<(), String> {
            let result = self.put().await;
            let _ = std::fs::remove_file(&self.staging);
            result
        }

        async fn put(&self) -> Result<(), String> {
            let lines = std::fs::read(&self.staging)
                .map_err(|error| format!("cannot read the lines to upload: {error}"))?;
            let endpoint = std::env::var("AWS_ENDPOINT_URL").ok();
            let is_loopback = endpoint.as_deref().is_some_and(|endpoint| {
                reqwest::Url::parse(endpoint).is_ok_and(|url| crate::url::is_loopback(&url))
            });
            let mut builder = AmazonS3Builder::from_env().with_bucket_name(&self.bucket);
            if let Some(endpoint) = &endpoint {
                builder = builder.with_endpoint(endpoint);
            }
            if is_loopback {
                builder = builder.with_allow_http(true);
            }
            let store = builder
                .build()
                .map_err(|error| format!("s3://{}: {error}", self.bucket))?;
            let count = lines.len();
            store
                .put(&ObjectPath::from(self.key.as_str()), lines.into())
                .await
                .map_err(|error| {
                    format!("cannot write s3://{}/{}: {error}", self.bucket, self.key)
                })?;
            tracing::info!(bucket = %self.bucket, key = %self.key, bytes = count, "uploaded");
            Ok(())
        }
    }
}

/// `hamstr search SOURCE QUERY`: every selected collector and file searched at once.
pub(super) async fn search(
    source: &str,
    query: &str,
    only: Vec<String>,
    set: Vec<(String, String)>,
    timeout: Option<std::time::Duration>,
) -> ExitCode {
    use futures_util::StreamExt;
    use std::io::Write;

    let mut project = match project_of(source) {
        Ok(project) => project,
        Err(code) => return code,
    };
    let mut values = ParameterValues::new().only(only.iter().cloned());
    values.set = set;
    if let Err(code) = bind(&mut project, values) {
        return code;
    }
    init_logs(true);
    let mut combined = match project.combined() {
        Ok(combined) => combined,
        Err(error) => {
            report_error(&error);
            return ExitCode::from(2);
        }
    };
    if !only.is_empty() {
        combined = combined.keep(|name| {
            only.iter()
                .any(|wanted| name == wanted || name.rsplit('/').next() == Some(wanted.as_str()))
        });
    }
    if let Some(timeout) = timeout {
        combined = combined.timeout(timeout);
    }
    let mut results = std::pin::pin!(combined.search(query));
    // Locked per line, not across the awaits.
    let mut stdout = std::io::stdout();
    let mut has_failed = false;
    while let Some(result) = results.next().await {
        match result {
            Ok(found) => {
                let line = serde_json::json!({
                    "source": found.source,
                    "title": found.title,
                    "url": found.url,
                    "created_at": found.created_at,
                    "record": found.record,
                });
                if writeln!(stdout, "{line}").is_err() {
                    // The reader went away (`| head`): nothing more is wanted.
                    return ExitCode::SUCCESS;
                }
            }
            Err(failure) => {
                has_failed = true;
                report_error(&failure);
            }
        }
    }
    if has_failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The project of a catalog API, or of a file (a path, or a name ending in `.yml`/`.yaml`).
fn project_of(source: &str) -> Result<Project, ExitCode> {
    let path = Path::new(source);
    let is_file = path.exists()
        || path
            .extension()
            .is_some_and(|extension| extension == "yml" || extension == "yaml");
    if is_file {
        return config::load(path).map_err(|error| {
            report_config_error(&error);
            ExitCode::from(2)
        });
    }
    let Some(api) = catalog::find(source) else {
        let names: Vec<&str> = catalog::apis().iter().map(catalog::Api::name).collect();
        report_error_text(&format!(
            "`{source}` is neither a file nor an API of the catalog: {}",
            names.join(", ")
        ));
        return Err(ExitCode::from(2));
    };
    api.project().map_err(|error| {
        report_config_error(&error);
        ExitCode::from(2)
    })
}

/// The collector `name` names: its own name, or `a` with the last argument `b` for a collector
/// `a_b` (`traffic dacort/cargo-crates views`), which then drops that argument.
fn collector_named(
    project: &Project,
    name: &str,
    arguments: &mut Vec<String>,
) -> Result<String, String> {
    let is_known = |wanted: &str| project.collector(wanted).is_some();
    if is_known(name) || project.files.iter().any(|file| file.name == name) {
        return Ok(name.to_owned());
    }
    if let Some(last) = arguments.last() {
        let joined = format!("{name}_{last}");
        if is_known(&joined) {
            arguments.pop();
            return Ok(joined);
        }
    }
    let known: Vec<&str> = project
        .collectors()
        .map(|(_, collector)| collector.name.as_str())
        .collect();
    Err(format!(
        "no collector is named `{name}`; the collectors: {}",
        known.join(", ")
    ))
}

/// `hamstr catalog [API]`.
pub(super) fn catalog(api: Option<&str>) -> ExitCode {
    let Some(name) = api else {
        let mut table = output::table(["api", "collectors", "environment", "what"]);
        for api in catalog::apis() {
            let project = api.described();
            let collectors: Vec<String> = project
                .collectors()
                .map(|(_, collector)| collector.name.clone())
                .collect();
            let variables: Vec<String> = api
                .variables()
                .into_iter()
                .filter(|variable| !variable.is_optional)
                .map(|variable| variable.name)
                .collect();
            table.add_row([
                api.name().to_owned(),
                collectors.join(", "),
                variables.join(", "),
                api.summary().to_owned(),
            ]);
        }
        report_ok(&format!(
            "{table}\n`hamstr catalog API` shows one; `hamstr extract API COLLECTOR ARGS...` runs one; `hamstr init --from API` copies one"
        ));
        return ExitCode::SUCCESS;
    };
    let api = match api_named(name) {
        Ok(api) => api,
        Err(code) => return code,
    };
    report_ok(&describe(api));
    ExitCode::SUCCESS
}

/// One API: its notes, collectors with their arguments, parameters and environment.
fn describe(api: &catalog::Api) -> String {
    let project = api.described();
    let mut table = output::table(["collector", "arguments", "endpoint", "search"]);
    for (_, collector) in project.collectors() {
        let search = match &collector.search {
            Some(crate::service::Search::Param(param)) => format!("?{param}="),
            Some(crate::service::Search::Endpoint { path, param, .. }) => {
                format!("{path}?{param}=")
            }
            _ => "naive".to_owned(),
        };
        table.add_row([
            collector.name.clone(),
            collector.args.join(" "),
            collector.endpoint.clone(),
            search,
        ]);
    }
    let mut parameters = output::table(["parameter", "type", "default", "help"]);
    for parameter in &project.parameters {
        parameters.add_row([
            parameter.name.clone(),
            parameter.kind.name().to_owned(),
            parameter.default.clone().unwrap_or_default(),
            parameter.help.clone().unwrap_or_default(),
        ]);
    }
    let variables: Vec<String> = api
        .variables()
        .into_iter()
        .map(|variable| {
            if variable.is_optional {
                format!("{} (optional)", variable.name)
            } else {
                variable.name
            }
        })
        .collect();
    format!(
        "{}\n\n{table}\n\n{parameters}\n\nenvironment: {}\nexample: hamstr extract {} {}",
        api.notes(),
        variables.join(", "),
        api.name(),
        example(&project)
    )
}

/// The first collector with its example arguments.
fn example(project: &Project) -> String {
    let Some((_, collector)) = project.collectors().next() else {
        return String::new();
    };
    let mut words = vec![collector.name.clone()];
    for arg in &collector.args {
        let value = project
            .parameters
            .iter()
            .find(|parameter| &parameter.name == arg)
            .and_then(|parameter| {
                parameter
                    .example
                    .clone()
                    .or_else(|| parameter.default.clone())
            })
            .unwrap_or_else(|| arg.to_uppercase());
        words.push(value);
    }
    words.join(" ")
}

/// The catalog's API `name`, or an error listing them (exit status 2).
fn api_named(name: &str) -> Result<&'static catalog::Api, ExitCode> {
    catalog::find(name).ok_or_else(|| {
        let names: Vec<&str> = catalog::apis().iter().map(catalog::Api::name).collect();
        report_error_text(&format!(
            "the catalog has no API `{name}`: {}",
            names.join(", ")
        ));
        ExitCode::from(2)
    })
}

/// `hamstr init --from API [PATH]`.
pub(super) fn init_from(name: &str, path: Option<PathBuf>, force: bool) -> ExitCode {
    let api = match api_named(name) {
        Ok(api) => api,
        Err(code) => return code,
    };
    let path = path.unwrap_or_else(|| PathBuf::from(format!("{}.yml", api.name())));
    let needed: Vec<String> = api
        .variables()
        .into_iter()
        .filter(|variable| !variable.is_optional)
        .map(|variable| variable.name)
        .collect();
    let set = if needed.is_empty() {
        String::new()
    } else {
        format!("set {}, then ", needed.join(" and "))
    };
    let next = format!(
        "{set}`hamstr run {path} --once --set NAME=VALUE`, or `hamstr extract {path} COLLECTOR ARGS...`",
        path = path.display()
    );
    super::write_new(&path, api.source(), force, &next)
}
