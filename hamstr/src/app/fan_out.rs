//! Planning fan-out collectors: the endpoint's placeholder, the sources of keys (models of the
//! app, fields of them), the refresh, and a store that keeps keys; each problem an error naming
//! the collector and what to write.

use std::sync::Arc;

use super::AppError;
use crate::{
    backend::Backend,
    collector::{CollectorSettings, FanOut, placeholders},
    runtime::{Feed, Planned, PlannedFanOut},
    state::CollectorId,
    url::fill,
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

/// Resolves each pending fan-out against the models of every planned collector, then links the
/// fan-outs that feed each other keys.
pub(super) fn resolve(
    planned: &mut [Planned],
    pending: Vec<Option<Pending>>,
    backend: &Arc<dyn Backend>,
) -> Result<(), AppError> {
    let schemas: Vec<_> = planned
        .iter()
        .map(|planned| Arc::clone(&planned.schema))
        .collect();
    let mut plans: Vec<Option<PlannedFanOut>> = Vec::with_capacity(planned.len());
    for (planned, pending) in planned.iter().zip(pending) {
        let Some(Pending {
            fan_out,
            placeholder,
            template,
            records,
            params,
        }) = pending
        else {
            plans.push(None);
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
        plans.push(Some(PlannedFanOut {
            parent_field: fan_out.parent_field_for(&placeholder),
            template,
            placeholder,
            sources: sources
                .into_iter()
                .map(|(schema, field)| (schema, field, Some(0)))
                .collect(),
            seeds: fan_out.seed_keys().to_vec(),
            refresh_after,
            max_per_run: fan_out.keys_per_run(),
            concurrency: fan_out.keys_at_once(),
            max_depth: fan_out.depth_limit(),
            revisit: false,
            feeds: Vec::new(),
            records,
            params,
        }));
    }
    link(planned, &mut plans);
    for (planned, plan) in planned.iter_mut().zip(plans) {
        planned.fan_out = plan.map(Arc::new);
    }
    Ok(())
}

/// Links the fan-outs: which collectors' keys each one's records feed (so that a key found is
/// in the frontier, with its depth, before the record that holds it is stored); which sources
/// are another fan-out's rows (whose depth only the read that found them knows); which
/// collectors re-read a key whose depth is lowered (those whose depths some limit depends on).
fn link(planned: &[Planned], plans: &mut [Option<PlannedFanOut>]) {
    let model_of = |index: usize| planned[index].schema.name();
    let fan_outs: Vec<usize> = (0..plans.len()).filter(|&i| plans[i].is_some()).collect();
    let mut feeds: Vec<Vec<(usize, String)>> = vec![Vec::new(); plans.len()];
    for &reader in &fan_outs {
        let Some(plan) = plans[reader].as_mut() else {
            continue;
        };
        for (schema, field, depth) in &mut plan.sources {
            for &writer in &fan_outs {
                if model_of(writer) == schema.name() {
                    feeds[writer].push((reader, field.clone()));
                    *depth = None;
                }
            }
        }
    }
    // A collector's depths matter when it has a limit, or feeds one whose depths do.
    let mut matters: Vec<bool> = plans
        .iter()
        .map(|plan| plan.as_ref().is_some_and(|plan| plan.max_depth.is_some()))
        .collect();
    loop {
        let mut changed = false;
        for &writer in &fan_outs {
            if !matters[writer] && feeds[writer].iter().any(|(reader, _)| matters[*reader]) {
                matters[writer] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for &writer in &fan_outs {
        let linked: Vec<Feed> = feeds[writer]
            .iter()
            .map(|(reader, field)| Feed {
                collector: planned[*reader].id.clone(),
                field: field.clone(),
                revisit: matters[*reader],
            })
            .collect();
        if let Some(plan) = plans[writer].as_mut() {
            plan.feeds = linked;
            plan.revisit = matters[writer];
        }
    }
}
