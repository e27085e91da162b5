//! Browsing what the app stored: its models, a model's records with filters, an order and
//! keyset paging (`count`, `next`, `results`), and one record by key.

use std::collections::BTreeMap;

use axum::{
    Json,
    extract::{Path, Query as QueryString, rejection::QueryRejection},
};
use chrono::{DateTime, NaiveDate, Utc};
use reqwest::Url;

use super::{State, api::parse_limit, problem::Problem};
use crate::{
    backend::{Continuation, Direction, Op, Query},
    model::{Cell, FieldType, Schema, row_to_json},
};

/// Records in a page unless `limit` says otherwise, and the most a page holds.
const DEFAULT_RECORDS: usize = 100;
const MAX_RECORDS: usize = 1000;

/// One field of a model.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(super) struct FieldView {
    name: String,
    /// `string`, `integer`, `float`, `bool`, `datetime`, `date` or `json`.
    #[serde(rename = "type")]
    field_type: &'static str,
    nullable: bool,
}

/// One model (table).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(super) struct ModelView {
    name: String,
    /// The fields of its primary key, in key order.
    primary_key: Vec<String>,
    fields: Vec<FieldView>,
    /// The collectors that store it, as `service/collector`.
    collectors: Vec<String>,
}

/// Every model.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(super) struct ModelList {
    models: Vec<ModelView>,
}

/// Every model (table) the app stores, with its fields and primary key.
#[utoipa::path(get, path = "/api/models", tag = "records",
    responses((status = 200, description = "Every model the app stores: fields, types, primary key", body = ModelList)))]
pub(super) async fn models(axum::extract::State(shared): State) -> Json<ModelList> {
    let models = shared
        .control
        .models()
        .into_iter()
        .map(|model| ModelView {
            name: model.schema.name().to_owned(),
            primary_key: model
                .schema
                .primary_key()
                .map(|field| field.name().to_owned())
                .collect(),
            fields: model
                .schema
                .fields()
                .iter()
                .map(|field| FieldView {
                    name: field.name().to_owned(),
                    field_type: field.field_type().as_str(),
                    nullable: field.is_nullable(),
                })
                .collect(),
            collectors: model.collectors.iter().map(ToString::to_string).collect(),
        })
        .collect();
    Json(ModelList { models })
}

/// The documented parameters of a listing; filters are `FIELD=VALUE` and `FIELD__OP=VALUE`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // read from the raw query, with the filters; here for the document
pub(super) struct RecordsParams {
    /// Records per page (default 100, at most 1000; more is lowered, and said in `notice`).
    limit: Option<usize>,
    /// The field to order by, `-field` for descending; the primary key breaks ties.
    order: Option<String>,
    /// Where the page starts: the `cursor` of the previous page's `next` link.
    cursor: Option<String>,
    /// Filters: `FIELD=VALUE` (equal), `FIELD__ne`, `FIELD__lt`, `FIELD__lte`, `FIELD__gt`,
    /// `FIELD__gte`, `FIELD__isnull=true|false`; several are all required.
    #[serde(rename = "FIELD__OP")]
    #[param(rename = "FIELD__OP")]
    filters: Option<String>,
}

/// A page of records.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(super) struct RecordPage {
    model: String,
    /// How many records match the filters, on all pages.
    count: usize,
    /// The next page's path and query; null on the last page.
    next: Option<String>,
    /// The limit applied.
    limit: usize,
    /// Said when the limit asked for was lowered to the maximum.
    #[serde(skip_serializing_if = "Option::is_none")]
    notice: Option<String>,
    /// The records: each a map from field name to value.
    #[schema(value_type = Vec<Object>)]
    results: Vec<BTreeMap<String, serde_json::Value>>,
}

/// A page of a model's stored records, filtered and ordered; `next` continues after it.
#[utoipa::path(get, path = "/api/models/{model}/records", tag = "records",
    params(("model" = String, Path, description = "The model's name"), RecordsParams),
    responses(
        (status = 200, description = "A page of records: `count`, `next`, `results`", body = RecordPage),
        (status = 400, description = "A filter on an unknown field, a malformed value, limit or cursor", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No model of that name", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn records(
    axum::extract::State(shared): State,
    Path(model): Path<String>,
    pairs: Result<QueryString<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<RecordPage>, Problem> {
    let schema = schema_of(&shared, &model)?;
    let QueryString(pairs) = pairs.map_err(|error| {
        Problem::bad_request(format!("the query string does not parse: {error}"))
    })?;
    let mut query = Query::new();
    let mut limit = None;
    for (name, value) in &pairs {
        match name.as_str() {
            "limit" => limit = Some(value.as_str()),
            "order" => {
                let (field, direction) = match value.strip_prefix('-') {
                    Some(field) => (field, Direction::Descending),
                    None => (value.as_str(), Direction::Ascending),
                };
                query = query.order_by(field, direction);
            }
            "cursor" => query = query.after(Continuation::new(value.clone())),
            _ => {
                let (field, op, cell) = filter(&schema, name, value)?;
                query = query.filter(field, op, cell);
            }
        }
    }
    let (limit, notice) = parse_limit(limit, DEFAULT_RECORDS, MAX_RECORDS)?;
    let query = query.limit(limit);
    let page = shared.control.query(&model, &query).await?;
    let next = page.next.map(|next| next_link(&model, &pairs, &next));
    Ok(Json(RecordPage {
        model,
        count: page.count,
        next,
        limit,
        notice,
        results: page
            .rows
            .iter()
            .map(|row| row_to_json(&schema, row))
            .collect(),
    }))
}

/// One stored record, by its primary key.
#[utoipa::path(get, path = "/api/models/{model}/records/{key}", tag = "records",
    params(
        ("model" = String, Path, description = "The model's name"),
        ("key" = String, Path, description = "The record's primary key; the fields of a key of several, in key order, joined by `,`"),
    ),
    responses(
        (status = 200, description = "The record: a map from field name to value", body = Object),
        (status = 400, description = "A key that does not fit the primary key", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No model of that name, or no record with that key", body = Problem, content_type = "application/problem+json"),
    ))]
pub(super) async fn record(
    axum::extract::State(shared): State,
    Path((model, key)): Path<(String, String)>,
) -> Result<Json<BTreeMap<String, serde_json::Value>>, Problem> {
    let schema = schema_of(&shared, &model)?;
    let fields: Vec<_> = schema.primary_key().collect();
    let parts: Vec<&str> = if fields.len() == 1 {
        vec![key.as_str()]
    } else {
        key.split(',').collect()
    };
    if parts.len() != fields.len() {
        let names: Vec<&str> = fields.iter().map(|field| field.name()).collect();
        return Err(Problem::bad_request(format!(
            "the key of `{model}` has {} fields ({}), joined by `,`; `{key}` has {}",
            fields.len(),
            names.join(", "),
            parts.len()
        )));
    }
    let cells = fields
        .iter()
        .zip(parts)
        .map(|(field, part)| {
            parse_cell(field.field_type(), part).map_err(|why| {
                Problem::bad_request(format!("key field `{}` of `{model}`: {why}", field.name()))
            })
        })
        .collect::<Result<Vec<Cell>, Problem>>()?;
    match shared.control.get_row(&model, &cells).await? {
        Some(row) => Ok(Json(row_to_json(&schema, &row))),
        None => Err(Problem::not_found(format!(
            "no record of `{model}` has the key `{key}`"
        ))),
    }
}

fn schema_of(shared: &super::Shared, model: &str) -> Result<std::sync::Arc<Schema>, Problem> {
    Ok(shared.control.model(model)?.schema)
}

/// A filter parameter: `FIELD` or `FIELD__OP`, its value parsed as the field's type.
fn filter(schema: &Schema, name: &str, value: &str) -> Result<(String, Op, Cell), Problem> {
    let (field_name, op) = match name.rsplit_once("__") {
        Some((field, op)) => (field, Some(op)),
        None => (name, None),
    };
    let Some((_, field)) = schema.field(field_name) else {
        let fields: Vec<&str> = schema.fields().iter().map(|field| field.name()).collect();
        return Err(Problem::bad_request(format!(
            "`{name}`: `{}` has no field `{field_name}` to filter on; the fields are {} (and the parameters limit, order, cursor)",
            schema.name(),
            fields.join(", ")
        )));
    };
    let op = match op {
        None => Op::Eq,
        Some("ne") => Op::Ne,
        Some("lt") => Op::Lt,
        Some("lte") => Op::Lte,
        Some("gt") => Op::Gt,
        Some("gte") => Op::Gte,
        Some("isnull") => {
            let op = match value {
                "true" => Op::Eq,
                "false" => Op::Ne,
                _ => {
                    return Err(Problem::bad_request(format!(
                        "`{name}` takes true or false, not `{value}`"
                    )));
                }
            };
            return Ok((field_name.to_owned(), op, Cell::Null));
        }
        Some(other) => {
            return Err(Problem::bad_request(format!(
                "`{name}`: no operator `{other}`; use ne, lt, lte, gt, gte or isnull"
            )));
        }
    };
    let cell = parse_cell(field.field_type(), value)
        .map_err(|why| Problem::bad_request(format!("`{name}`: {why}")))?;
    Ok((field_name.to_owned(), op, cell))
}

/// `text` as a cell of `field_type`, or why it is not one.
fn parse_cell(field_type: FieldType, text: &str) -> Result<Cell, String> {
    let refused = || format!("`{text}` is not a {field_type} value");
    Ok(match field_type {
        FieldType::String => Cell::String(text.to_owned()),
        FieldType::Json => Cell::Json(text.to_owned()),
        FieldType::Integer => Cell::Integer(text.parse().map_err(|_| refused())?),
        FieldType::Float => {
            let value: f64 = text.parse().map_err(|_| refused())?;
            if !value.is_finite() {
                return Err(refused());
            }
            Cell::Float(value)
        }
        FieldType::Bool => match text {
            "true" => Cell::Bool(true),
            "false" => Cell::Bool(false),
            _ => return Err(refused()),
        },
        FieldType::DateTime => Cell::DateTime(
            DateTime::parse_from_rfc3339(text)
                .map_err(|_| format!("{} (write RFC 3339, e.g. 2026-01-31T12:00:00Z)", refused()))?
                .with_timezone(&Utc),
        ),
        FieldType::Date => Cell::Date(
            text.parse::<NaiveDate>()
                .map_err(|_| format!("{} (write YYYY-MM-DD)", refused()))?,
        ),
    })
}

/// The path and query of the page after `next`: the same parameters, the cursor replaced.
fn next_link(model: &str, pairs: &[(String, String)], next: &Continuation) -> String {
    // Any base does: only the path and query are kept, encoded as a URL encodes them.
    let mut url = Url::parse("http://admin/api/models/").expect("a fixed URL parses");
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop_if_empty().push(model).push("records");
    }
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in pairs.iter().filter(|(name, _)| name != "cursor") {
            query.append_pair(name, value);
        }
        query.append_pair("cursor", next.as_str());
    }
    format!("{}?{}", url.path(), url.query().unwrap_or_default())
}
