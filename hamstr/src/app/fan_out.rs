//! Planning fan-out collectors: the endpoint's placeholder, the sources of keys (models of the
//! app, fields of them), the refresh, and a store that keeps keys; each problem an error naming
//! the collector and what to write.

use std::sync::Arc;

use super::AppError;
use crate::{
    backend::Backend,
    collector::{CollectorSettings, FanOut, fill, placeholders},
    runtime::{Planned, PlannedFanOut},
    state::CollectorId,
};

fn problem(collector: &CollectorId, reason: impl Into<String>) -> AppError {
    AppError::FanOut {
        collector: collector.clone(),
        reason: reason.into(),
    }
}

/// The fan-out of one collector, checked against its endpoint, before the other collectors are
/// planned: its placeholder, and the path to check under the base URL (filled with a key).
pub(super) struct Pending {
    fan_out: FanOut,
    placeholder: String,
    template: String,
    records: Option<crate::records::Records>,
    params: Vec<(String, String)>,
}

/// Checks the endpoint's placeholders against the fan-out: a placeholder needs keys, keys need
/// one placeholder. Returns the fan-out to resolve once every model is known, and the path to
/// check under the base URL.
pub(super) fn check(
    id: &CollectorId,
    settings: &CollectorSettings,
) -> Result<(Option<Pending>, Option<String>), AppError> {
    let fan_out = settings.fan_out_settings();
    let Some(path) = settings.endpoint_path() else {
        return match fan_out {
            Some(_) => Err(problem(
                id,
                "a fan-out reads an endpoint, and this collector has none",
            )),
            None => Ok((None, None)),
        };
    };
    match (placeholders(path).as_slice(), fan_out) {
        ([], None) => Ok((None, Some(path.to_owned()))),
        ([], Some(_)) => Err(problem(
            id,
            format!(
                "its endpoint `{path}` has no {{placeholder}} for the keys; write one, e.g. `users/{{login}}/repos`"
            ),
        )),
        ([name], None) => Err(problem(
            id,
            format!(
                "its endpoint `{path}` has the placeholder {{{name}}} but nothing gives it keys: add a fan-out with keys from a model's field or seed keys (YAML: `keys: {{from: MODEL.FIELD, seeds: [...]}}`)"
            ),
        )),
        ([name], Some(fan_out)) => Ok((
            Some(Pending {
                fan_out: fan_out.clone(),
                placeholder: (*name).to_owned(),
                template: path.to_owned(),
                records: settings.records_path().cloned(),
                params: settings.params().to_vec(),
            }),
            Some(fill(path, name, "key")),
        )),
        (names, _) => Err(problem(
            id,
            format!(
                "its endpoint `{path}` has {} placeholders ({}); a fan-out fills one",
                names.len(),
                names.join(", ")
            ),
        )),
    }
}

/// Resolves each pending fan-out against the models of every planned collector.
pub(super) fn resolve(
    planned: &mut [Planned],
    pending: Vec<Option<Pending>>,
    backend: &Arc<dyn Backend>,
) -> Result<(), AppError> {
    let schemas: Vec<_> = planned
        .iter()
        .map(|planned| Arc::clone(&planned.schema))
        .collect();
    for (planned, pending) in planned.iter_mut().zip(pending) {
        let Some(Pending {
            fan_out,
            placeholder,
            template,
            records,
            params,
        }) = pending
        else {
            continue;
        };
        let id = &planned.id;
        if fan_out.model_sources().is_empty() && fan_out.seed_keys().is_empty() {
            return Err(problem(
                id,
                "its fan-out has no keys: take them from a model's field (`from_model`, YAML `from: MODEL.FIELD`) or give seed keys",
            ));
        }
        let mut sources = Vec::new();
        for (model, field) in fan_out.model_sources() {
            let Some(schema) = schemas.iter().find(|schema| schema.name() == model) else {
                let mut names: Vec<&str> = schemas.iter().map(|schema| schema.name()).collect();
                names.dedup();
                return Err(problem(
                    id,
                    format!(
                        "its keys come from `{model}.{field}`, and no collector stores a model `{model}` (models: {})",
                        names.join(", ")
                    ),
                ));
            };
            if schema.field(field).is_none() {
                let fields: Vec<&str> = schema.fields().iter().map(|field| field.name()).collect();
                return Err(problem(
                    id,
                    format!(
                        "its keys come from `{model}.{field}`, and `{model}` has no field `{field}` (fields: {})",
                        fields.join(", ")
                    ),
                ));
            }
            sources.push((Arc::clone(schema), field.clone()));
        }
        let refresh_after = fan_out
            .refresh_interval()
            .map(|interval| interval.duration())
            .transpose()
            .map_err(|cause| problem(id, format!("its `refresh_after`: {cause}")))?;
        if !backend.keeps_keys() {
            return Err(problem(
                id,
                "its store keeps no keys for a fan-out (JSON Lines, stdout); use sqlite://, postgres:// or memory",
            ));
        }
        planned.fan_out = Some(Arc::new(PlannedFanOut {
            parent_field: fan_out.parent_field_for(&placeholder),
            template,
            placeholder,
            sources,
            seeds: fan_out.seed_keys().to_vec(),
            refresh_after,
            max_per_run: fan_out.keys_per_run(),
            concurrency: fan_out.keys_at_once(),
            records,
            params,
        }));
    }
    Ok(())
}
