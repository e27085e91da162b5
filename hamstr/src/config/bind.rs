//! Fills a project's run-time parameters: `{name}` in base URLs, endpoints, query parameters and
//! headers becomes the value given with `--set`, as a positional argument of the selected
//! collector, in the environment, or the default.

use std::{collections::HashMap, fmt};

use super::{CollectorConfig, ParameterConfig, Project, ServiceConfig};
use crate::{
    service::{Lookup, Search},
    url::fill,
};

/// What a run gives a project's parameters: `--set` pairs, positional arguments of the one
/// selected collector, and the collectors selected (`--only`; empty: all).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ParameterValues {
    /// `name=value` pairs, in the order given; a later one wins.
    pub set: Vec<(String, String)>,
    /// Positional arguments, filling the selected collector's `args:` in order.
    pub positional: Vec<String>,
    /// The collectors that will run (`name` or `service/name`); empty: every one.
    pub only: Vec<String>,
}

impl ParameterValues {
    /// No values: defaults and the environment only.
    pub fn new() -> Self {
        Self::default()
    }

    /// `--set name=value`.
    pub fn set(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.set.push((name.into(), value.into()));
        self
    }

    /// Positional arguments of the one selected collector.
    pub fn positional<I, S>(mut self, arguments: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.positional = arguments.into_iter().map(Into::into).collect();
        self
    }

    /// The collectors that will run.
    pub fn only<I, S>(mut self, collectors: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.only = collectors.into_iter().map(Into::into).collect();
        self
    }
}

/// Parameters that cannot be filled: every problem, each naming its parameter. Never holds a
/// value, which may be a credential from the environment.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ParameterError {
    problems: Vec<String>,
}

impl ParameterError {
    /// Every problem, one sentence each.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }
}

impl fmt::Display for ParameterError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.problems.join("\n"))
    }
}

impl Project {
    /// Fills the project's parameters from `values` and the process environment; see
    /// [`bind_with_env`](Self::bind_with_env).
    ///
    /// # Errors
    /// As [`bind_with_env`](Self::bind_with_env).
    pub fn bind(&mut self, values: &ParameterValues) -> Result<(), ParameterError> {
        self.bind_with_env(values, &|name| std::env::var(name).ok())
    }

    /// Fills `{name}` of every declared parameter with, in this order: its `--set` value, its
    /// positional argument, the environment variable of its exact name, its default. A
    /// collector that does not run (see [`ParameterValues::only`]) gets stand-in values, so the
    /// project can still be checked. An optional parameter with no value drops the query
    /// parameters and headers that use it.
    ///
    /// # Errors
    /// Every problem, before any request: a `--set` name or a selected collector that is not
    /// declared, a value that is not of its parameter's type, a required parameter missing for
    /// a collector that runs, more positional arguments than the collector takes.
    pub fn bind_with_env(
        &mut self,
        values: &ParameterValues,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), ParameterError> {
        let mut problems = Vec::new();
        let declared: Vec<&str> = self.parameters.iter().map(|p| p.name.as_str()).collect();
        let mut given: HashMap<String, (String, String)> = HashMap::new();
        for (name, value) in &values.set {
            if declared.contains(&name.as_str()) {
                given.insert(name.clone(), (value.clone(), format!("--set {name}")));
            } else {
                problems.push(unknown(name, &declared));
            }
        }
        let selected = selected(self, &values.only, &mut problems);
        if !values.positional.is_empty() {
            positional(
                self,
                &selected,
                &values.positional,
                &mut given,
                &mut problems,
            );
        }
        // Each parameter's value, checked; `None`: not given and no default.
        let mut filled: HashMap<String, Option<String>> = HashMap::new();
        for parameter in &self.parameters {
            let found = given.get(&parameter.name).cloned().or_else(|| {
                env(&parameter.name)
                    .map(|value| (value, format!("environment variable `{}`", parameter.name)))
            });
            let value = match found {
                Some((text, from)) => match parameter.check(&text) {
                    Ok(value) => Some(value),
                    Err(expected) => {
                        problems.push(format!(
                            "parameter `{}` ({from}) must be {expected}",
                            parameter.name
                        ));
                        None
                    }
                },
                None => parameter.default.clone(),
            };
            filled.insert(parameter.name.clone(), value);
        }
        let running = self
            .collectors()
            .filter(|(service, collector)| is_selected(&selected, service, collector));
        for (service, collector) in running {
            for parameter in &self.parameters {
                let name = parameter.name.as_str();
                if filled.get(name).is_some_and(Option::is_some) {
                    continue;
                }
                // A URL cannot be formed without it; a query parameter or header can go.
                let is_needed = parameter.is_required
                    || uses_in(&service.base_url, name)
                    || uses_in(&collector.endpoint, name);
                if is_needed && uses(service, collector, name) {
                    problems.push(missing(parameter, service, collector));
                }
            }
        }
        if !problems.is_empty() {
            problems.dedup();
            return Err(ParameterError { problems });
        }
        self.fill(&filled);
        Ok(())
    }

    /// Fills every parameter with its default, else its example, else a stand-in of its type:
    /// for checking a definition, or building an app of it that sends nothing. A project already
    /// bound is left as it is.
    pub fn bind_examples(&mut self) {
        let filled = self
            .parameters
            .iter()
            .map(|parameter| {
                let value = parameter
                    .default
                    .clone()
                    .or_else(|| parameter.example.clone())
                    .or_else(|| parameter.choices.first().cloned())
                    .unwrap_or_else(|| parameter.kind.stand_in(&parameter.name));
                (parameter.name.clone(), Some(value))
            })
            .collect();
        self.fill(&filled);
    }

    /// Writes each value in; a `None` value drops the query parameters and headers that use it,
    /// and a stand-in fills it elsewhere (only collectors that do not run are left needing it).
    fn fill(&mut self, filled: &HashMap<String, Option<String>>) {
        let parameters = self.parameters.clone();
        let value_of = |parameter: &ParameterConfig| filled.get(&parameter.name).cloned().flatten();
        let text = |text: &str, is_path: bool| -> String {
            let mut text = text.to_owned();
            for parameter in &parameters {
                let value =
                    value_of(parameter).unwrap_or_else(|| parameter.kind.stand_in(&parameter.name));
                for placeholder in [parameter.name.clone(), format!("+{}", parameter.name)] {
                    text = if is_path {
                        fill(&text, &placeholder, &value)
                    } else {
                        text.replace(&format!("{{{placeholder}}}"), &value)
                    };
                }
            }
            text
        };
        let pairs = |pairs: &mut Vec<(String, String)>| {
            pairs.retain(|(_, value)| {
                parameters.iter().all(|parameter| {
                    !uses_in(value, &parameter.name) || value_of(parameter).is_some()
                })
            });
            for (_, value) in pairs.iter_mut() {
                *value = text(value, false);
            }
        };
        for service in &mut self.services {
            service.base_url = text(&service.base_url, false);
            pairs(&mut service.settings.params);
            pairs(&mut service.settings.headers);
            for collector in &mut service.collectors {
                collector.endpoint = text(&collector.endpoint, true);
                pairs(&mut collector.params);
                if let Some(Lookup::Path(path)) = &mut collector.lookup {
                    *path = text(path, true);
                }
                if let Some(Search::Endpoint { path, .. }) = &mut collector.search {
                    *path = text(path, true);
                }
            }
        }
    }
}

/// Whether `text` holds `{name}` or `{+name}`.
fn uses_in(text: &str, name: &str) -> bool {
    text.contains(&format!("{{{name}}}")) || text.contains(&format!("{{+{name}}}"))
}

/// Whether `collector` of `service` uses the parameter `name` anywhere.
fn uses(service: &ServiceConfig, collector: &CollectorConfig, name: &str) -> bool {
    let in_pairs = |pairs: &[(String, String)]| pairs.iter().any(|(_, value)| uses_in(value, name));
    uses_in(&service.base_url, name)
        || uses_in(&collector.endpoint, name)
        || in_pairs(&service.settings.params)
        || in_pairs(&service.settings.headers)
        || in_pairs(&collector.params)
}

/// The selected collectors as `service/name`; `None`: every one.
fn selected(project: &Project, only: &[String], problems: &mut Vec<String>) -> Option<Vec<String>> {
    if only.is_empty() {
        return None;
    }
    let mut chosen = Vec::new();
    for name in only {
        let found: Vec<String> = project
            .collectors()
            .filter(|(service, collector)| collector.is_named(service, name))
            .map(|(service, collector)| collector.id(service))
            .collect();
        if found.is_empty() {
            // A file is selected by the app; it uses no parameters.
            if !project
                .files
                .iter()
                .any(|file| &file.name == name || format!("files/{}", file.name) == *name)
            {
                let known: Vec<String> = project
                    .collectors()
                    .map(|(service, collector)| collector.id(service))
                    .collect();
                problems.push(format!(
                    "no collector is named `{name}`; the collectors: {}",
                    known.join(", ")
                ));
            }
        }
        chosen.extend(found);
    }
    Some(chosen)
}

fn is_selected(
    selected: &Option<Vec<String>>,
    service: &ServiceConfig,
    collector: &CollectorConfig,
) -> bool {
    selected
        .as_ref()
        .is_none_or(|ids| ids.contains(&collector.id(service)))
}

/// Gives the positional arguments to the one selected collector's `args:`.
fn positional(
    project: &Project,
    selected: &Option<Vec<String>>,
    arguments: &[String],
    given: &mut HashMap<String, (String, String)>,
    problems: &mut Vec<String>,
) {
    let chosen: Vec<&CollectorConfig> = project
        .collectors()
        .filter(|(service, collector)| is_selected(selected, service, collector))
        .map(|(_, collector)| collector)
        .collect();
    let [collector] = chosen.as_slice() else {
        problems.push(format!(
            "{} positional arguments, and {} collectors selected: arguments go to one collector (select it)",
            arguments.len(),
            chosen.len()
        ));
        return;
    };
    if arguments.len() > collector.args.len() {
        let takes = if collector.args.is_empty() {
            "takes no arguments".to_owned()
        } else {
            format!(
                "takes {}: {}",
                collector.args.len(),
                collector.args.join(", ")
            )
        };
        problems.push(format!(
            "collector `{}` {takes}; {} were given",
            collector.name,
            arguments.len()
        ));
        return;
    }
    for (index, (name, value)) in collector.args.iter().zip(arguments).enumerate() {
        given
            .entry(name.clone())
            .or_insert_with(|| (value.clone(), format!("argument {}", index + 1)));
    }
}

fn unknown(name: &str, declared: &[&str]) -> String {
    if declared.is_empty() {
        return format!(
            "`--set {name}`: the project declares no parameters (`parameters:` at the top of the file)"
        );
    }
    let help = match super::suggest::closest(name, declared) {
        Some(closest) => format!("did you mean `{closest}`? "),
        None => String::new(),
    };
    format!(
        "`--set {name}`: no parameter is named `{name}`; {help}the parameters: {}",
        declared.join(", ")
    )
}

fn missing(
    parameter: &ParameterConfig,
    service: &ServiceConfig,
    collector: &CollectorConfig,
) -> String {
    let name = &parameter.name;
    let argument = collector
        .args
        .iter()
        .position(|arg| arg == name)
        .map(|index| format!(" or as argument {} of `{}`", index + 1, collector.name))
        .unwrap_or_default();
    let help = parameter
        .help
        .as_deref()
        .map(|help| format!(" ({help})"))
        .unwrap_or_default();
    format!(
        "parameter `{name}`{help} has no value, and {}/{} needs it: give it with `--set {name}=...`{argument}, or in the environment variable `{name}`",
        service.name, collector.name
    )
}
