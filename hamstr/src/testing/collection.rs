//! [`Collection`]: a list of records served page by page, and the rendering of each page.

use serde_json::{Map, Value, json};

use super::paging::{LinkStyle, Paging};
use super::query::{first_value, with_param};
use super::route::MockResponse;

/// A list of records that the mock serves page by page, like a real list endpoint.
///
/// Every page body is a JSON object with the page's records at
/// [`records_at`](Collection::records_at) plus the paging metadata (totals, tokens, links) and any
/// [`extra`](Collection::extra) fields. Records are served in stored order;
/// [`MockApi::push_records`](super::MockApi::push_records) appends at the end. Query parameters
/// that are not paging parameters are ignored, but kept in generated links.
///
/// ```
/// use hamstr::testing::{Collection, Paging};
/// use serde_json::json;
///
/// let payments = Collection::new(vec![json!({"id": "tr_1"}), json!({"id": "tr_2"})])
///     .paging(Paging::page_number().total("meta.total"))
///     .records_at("_embedded.payments")
///     .page_size(1)
///     .extra("meta.version", json!(2));
/// # let _ = payments;
/// ```
#[derive(Debug, Clone)]
pub struct Collection {
    records: Vec<Value>,
    paging: Paging,
    records_at: String,
    page_size: usize,
    max_page_size: Option<usize>,
    should_repeat_last_page: bool,
    is_newest_first: bool,
    since: Option<(String, String)>,
    extra: Vec<(String, Value)>,
}

/// What a page is rendered from: the request as received and the mock's origin.
pub(crate) struct PageRequest<'a> {
    /// `http://127.0.0.1:PORT`, for absolute links.
    pub(crate) origin: &'a str,
    pub(crate) path: &'a str,
    pub(crate) raw_query: &'a str,
    pub(crate) query: &'a [(String, String)],
}

impl Collection {
    /// A collection of `records`, all in one body at `data`, with a page size of 10 once a
    /// [`paging`](Collection::paging) scheme is set.
    pub fn new(records: Vec<Value>) -> Self {
        Collection {
            records,
            paging: Paging::None,
            records_at: "data".to_owned(),
            page_size: 10,
            max_page_size: None,
            should_repeat_last_page: false,
            is_newest_first: false,
            since: None,
            extra: Vec::new(),
        }
    }

    /// Serves the records last stored first, like a listing sorted newest first: records that
    /// [`MockApi::push_records`](super::MockApi::push_records) adds appear at the head, and
    /// shift the others towards later pages.
    pub fn newest_first(mut self, yes: bool) -> Self {
        self.is_newest_first = yes;
        self
    }

    /// Serves only the records whose `field` (a dot path) is at or after the request's `param`
    /// (`?since=...`), compared as numbers, as datetimes, or as text
    /// ([`compare_marks`](crate::state::compare_marks)). A record without the field is always
    /// served.
    pub fn since(mut self, param: &str, field: &str) -> Self {
        self.since = Some((param.to_owned(), field.to_owned()));
        self
    }

    /// Serves the records with this pagination scheme.
    pub fn paging(mut self, paging: Paging) -> Self {
        self.paging = paging;
        self
    }

    /// Puts the records at `path`, a dot path into the body (`"data"`, `"_embedded.payments"`).
    ///
    /// With `""` the body is the record array itself; metadata in the body and
    /// [`extra`](Collection::extra) fields are then left out, while a `Link` header still works.
    pub fn records_at(mut self, path: &str) -> Self {
        path.clone_into(&mut self.records_at);
        self
    }

    /// The page size when the request does not choose one (default 10; 0 counts as 1).
    pub fn page_size(mut self, size: usize) -> Self {
        self.page_size = size.max(1);
        self
    }

    /// The largest page size a request may choose; a larger one is clamped (default: no limit).
    pub fn max_page_size(mut self, size: usize) -> Self {
        self.max_page_size = Some(size.max(1));
        self
    }

    /// Makes page numbers and offsets past the end serve the last non-empty page again instead of
    /// an empty one, like a misbehaving API that never signals the end.
    pub fn repeat_last_page(mut self, yes: bool) -> Self {
        self.should_repeat_last_page = yes;
        self
    }

    /// Puts a fixed `value` at `path` (a dot path, e.g. `"meta.version"`) in every page body.
    pub fn extra(mut self, path: &str, value: Value) -> Self {
        self.extra.push((path.to_owned(), value));
        self
    }

    pub(crate) fn set_records(&mut self, records: Vec<Value>) {
        self.records = records;
    }

    pub(crate) fn push_records(&mut self, records: Vec<Value>) {
        self.records.extend(records);
    }

    /// The page that answers `request`, or a 400 for invalid paging parameters.
    pub(crate) fn render(&self, request: &PageRequest<'_>) -> MockResponse {
        let since = self.since.as_ref().and_then(|(param, field)| {
            first_value(request.query, param).map(|since| (since, field.as_str()))
        });
        let rendered = if since.is_none() && !self.is_newest_first {
            self.render_page(request)
        } else {
            // The records as this request sees them: filtered, then in serving order.
            let mut view = self.clone();
            if let Some((since, field)) = since {
                view.records.retain(|record| {
                    lookup(record, field)
                        .and_then(|value| match value {
                            Value::String(text) => Some(text.clone()),
                            Value::Number(number) => Some(number.to_string()),
                            _ => None,
                        })
                        .is_none_or(|value| {
                            crate::state::compare_marks(&value, since) != std::cmp::Ordering::Less
                        })
                });
            }
            if self.is_newest_first {
                view.records.reverse();
            }
            view.render_page(request)
        };
        rendered.unwrap_or_else(|message| MockResponse::json_error(400, message))
    }

    fn render_page(&self, request: &PageRequest<'_>) -> Result<MockResponse, String> {
        let count = self.records.len();
        match &self.paging {
            Paging::None => Ok(self.page(self.records.clone(), Vec::new())),
            Paging::PageNumber {
                param,
                size_param,
                start,
                total_field,
                last_page_field,
            } => {
                let size = self.size(request, size_param)?;
                let page = number(request, param)?.unwrap_or(*start);
                if page < *start {
                    return Err(format!("{param} must be at least {start}"));
                }
                let index = self.page_index(page - start, size);
                let mut metadata = Vec::new();
                if let Some(field) = total_field {
                    metadata.push((field.as_str(), json!(count)));
                }
                if let Some(field) = last_page_field {
                    let last_page = start.saturating_add(last_page_index(count, size) as u64);
                    metadata.push((field.as_str(), json!(last_page)));
                }
                Ok(self.page(self.slice(index.saturating_mul(size), size), metadata))
            }
            Paging::Offset {
                offset_param,
                limit_param,
                total_field,
            } => {
                let limit = self.size(request, limit_param)?;
                let mut offset = to_index(number(request, offset_param)?.unwrap_or(0));
                if offset >= count && self.should_repeat_last_page && count > 0 {
                    offset = (count - 1) / limit * limit;
                }
                let metadata = total_field
                    .iter()
                    .map(|field| (field.as_str(), json!(count)))
                    .collect();
                Ok(self.page(self.slice(offset, limit), metadata))
            }
            Paging::CursorToken { param, token_field } => {
                let offset = match first_value(request.query, param).filter(|t| !t.is_empty()) {
                    None => 0,
                    Some(token) => {
                        decode_token(token).ok_or_else(|| format!("unknown {param} {token:?}"))?
                    }
                };
                let size = self.page_size;
                let next = offset.saturating_add(size);
                let token = (next < count).then(|| encode_token(next));
                Ok(self.page(
                    self.slice(offset, size),
                    vec![(token_field.as_str(), json!(token))],
                ))
            }
            Paging::HasMore {
                param,
                limit_param,
                has_more_field,
                id_field,
            } => {
                let limit = self.size(request, limit_param)?;
                let offset = self.offset_after_id(request, param, id_field)?;
                let has_more = offset.saturating_add(limit) < count;
                Ok(self.page(
                    self.slice(offset, limit),
                    vec![(has_more_field.as_str(), json!(has_more))],
                ))
            }
            Paging::NextLink {
                field,
                style,
                page_param,
                size_param,
            } => {
                let (page, size) = self.page_and_size(request, page_param, size_param)?;
                let index = self.page_index(page - 1, size);
                let next = (page <= last_page_index(count, size) as u64).then(|| {
                    let query = with_param(request.raw_query, page_param, &(page + 1).to_string());
                    write_link(*style, request, &query)
                });
                Ok(self.page(
                    self.slice(index.saturating_mul(size), size),
                    vec![(field.as_str(), json!(next))],
                ))
            }
            Paging::LinkHeader {
                page_param,
                size_param,
            } => {
                let (page, size) = self.page_and_size(request, page_param, size_param)?;
                let index = self.page_index(page - 1, size);
                let last_page = last_page_index(count, size) as u64 + 1;
                let link = |rel: &str, number: u64| {
                    let query = with_param(request.raw_query, page_param, &number.to_string());
                    let url = write_link(LinkStyle::Absolute, request, &query);
                    format!("<{url}>; rel=\"{rel}\"")
                };
                let mut links = Vec::new();
                if page < last_page {
                    links.push(link("next", page + 1));
                }
                if page > 1 {
                    links.push(link("prev", page - 1));
                }
                links.push(link("last", last_page));
                links.push(link("first", 1));
                let response = self.page(self.slice(index.saturating_mul(size), size), Vec::new());
                Ok(response.header("link", links.join(", ")))
            }
            Paging::Seek {
                param,
                id_field,
                size_param,
            } => {
                let size = self.size(request, size_param)?;
                let offset = self.offset_after_id(request, param, id_field)?;
                Ok(self.page(self.slice(offset, size), Vec::new()))
            }
        }
    }

    /// The page size: the request's `size_param` clamped to `max_page_size`, else `page_size`.
    fn size(&self, request: &PageRequest<'_>, size_param: &str) -> Result<usize, String> {
        let size = match number(request, size_param)? {
            Some(0) => return Err(format!("{size_param} must be at least 1")),
            Some(requested) => to_index(requested),
            None => self.page_size,
        };
        Ok(self.max_page_size.map_or(size, |max| size.min(max)))
    }

    /// A 1-based page number and the page size.
    fn page_and_size(
        &self,
        request: &PageRequest<'_>,
        page_param: &str,
        size_param: &str,
    ) -> Result<(u64, usize), String> {
        let size = self.size(request, size_param)?;
        let page = number(request, page_param)?.unwrap_or(1);
        if page == 0 {
            return Err(format!("{page_param} must be at least 1"));
        }
        Ok((page, size))
    }

    /// The 0-based index of the page to serve, after `repeat_last_page`.
    fn page_index(&self, requested: u64, size: usize) -> usize {
        let requested = to_index(requested);
        let page_count = self.records.len().div_ceil(size);
        if requested >= page_count && self.should_repeat_last_page && page_count > 0 {
            page_count - 1
        } else {
            requested
        }
    }

    /// Where the records after the one whose `id_field` equals the request's `param` start.
    fn offset_after_id(
        &self,
        request: &PageRequest<'_>,
        param: &str,
        id_field: &str,
    ) -> Result<usize, String> {
        let Some(wanted) = first_value(request.query, param).filter(|id| !id.is_empty()) else {
            return Ok(0);
        };
        self.records
            .iter()
            .position(|record| lookup(record, id_field).is_some_and(|id| is_same_id(id, wanted)))
            .map(|position| position + 1)
            .ok_or_else(|| format!("unknown {param} id {wanted:?}"))
    }

    fn slice(&self, offset: usize, size: usize) -> Vec<Value> {
        self.records
            .iter()
            .skip(offset)
            .take(size)
            .cloned()
            .collect()
    }

    /// A 200 JSON page: the records at `records_at`, then the extra fields and `metadata`.
    fn page(&self, records: Vec<Value>, metadata: Vec<(&str, Value)>) -> MockResponse {
        if self.records_at.is_empty() {
            return MockResponse::json(Value::Array(records));
        }
        let mut body = Value::Object(Map::new());
        for (path, value) in &self.extra {
            set_at(&mut body, path, value.clone());
        }
        for (path, value) in metadata {
            set_at(&mut body, path, value);
        }
        set_at(&mut body, &self.records_at, Value::Array(records));
        MockResponse::json(body)
    }
}

/// The request's `name` parameter as a whole number, if present and not empty.
fn number(request: &PageRequest<'_>, name: &str) -> Result<Option<u64>, String> {
    match first_value(request.query, name).filter(|value| !value.is_empty()) {
        None => Ok(None),
        Some(value) => value
            .parse()
            .map(Some)
            .map_err(|_| format!("{name} must be a whole number, got {value:?}")),
    }
}

fn to_index(number: u64) -> usize {
    usize::try_from(number).unwrap_or(usize::MAX)
}

/// The 0-based index of the last page; an empty collection still has one (empty) page.
fn last_page_index(count: usize, size: usize) -> usize {
    count.div_ceil(size).max(1) - 1
}

fn encode_token(offset: usize) -> String {
    format!("c{offset}")
}

fn decode_token(token: &str) -> Option<usize> {
    let digits = token.strip_prefix('c')?;
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn write_link(style: LinkStyle, request: &PageRequest<'_>, query: &str) -> String {
    let path = request.path;
    match style {
        LinkStyle::Absolute => format!("{}{path}?{query}", request.origin),
        LinkStyle::HostRelative => format!("{path}?{query}"),
        LinkStyle::Relative => {
            let segment = path.rsplit('/').next().unwrap_or(path);
            format!("{segment}?{query}")
        }
        LinkStyle::QueryOnly => format!("?{query}"),
    }
}

/// A string id matches its text, a number its decimal form (`42`); nothing else is an id.
fn is_same_id(id: &Value, wanted: &str) -> bool {
    match id {
        Value::String(text) => text == wanted,
        Value::Number(number) => number.to_string() == wanted,
        _ => false,
    }
}

fn lookup<'a>(value: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(value, |current, key| current.as_object()?.get(key))
}

/// Sets `value` at the dot path `path`, creating objects (and replacing non-objects) on the way.
fn set_at(body: &mut Value, path: &str, value: Value) {
    let mut current = body;
    for key in path.split('.') {
        if !current.is_object() {
            *current = Value::Object(Map::new());
        }
        let Value::Object(object) = current else {
            unreachable!("replaced by an object just above");
        };
        current = object.entry(key).or_insert(Value::Null);
    }
    *current = value;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(count: usize) -> Vec<Value> {
        (1..=count).map(|id| json!({ "id": id })).collect()
    }

    fn render(collection: &Collection, path: &str, raw_query: &str) -> MockResponse {
        let query = super::super::query::decode_query(raw_query);
        collection.render(&PageRequest {
            origin: "http://127.0.0.1:9",
            path,
            raw_query,
            query: &query,
        })
    }

    fn body(response: &MockResponse) -> Value {
        serde_json::from_str(&response.body).expect("pages are JSON")
    }

    /// Page-number metadata lands at nested dot paths, beside extra fields.
    #[test]
    fn page_number_writes_nested_metadata() {
        let collection = Collection::new(records(5))
            .paging(
                Paging::page_number()
                    .total("meta.total")
                    .last_page("meta.last_page"),
            )
            .extra("meta.version", json!(2))
            .page_size(2);
        let page = body(&render(&collection, "/items", "page=3"));
        assert_eq!(
            page,
            json!({"data": [{"id": 5}], "meta": {"total": 5, "last_page": 3, "version": 2}})
        );
    }

    /// Past the end, `repeat_last_page` serves the last page again instead of an empty one.
    #[test]
    fn repeat_last_page_serves_the_last_page_again() {
        let collection = Collection::new(records(3))
            .paging(Paging::offset())
            .repeat_last_page(true);
        let page = body(&render(&collection, "/items", "offset=10&limit=2"));
        assert_eq!(page["data"], json!([{"id": 3}]));
    }

    /// A relative next link names only the last path segment and keeps the other parameters.
    #[test]
    fn relative_next_link_keeps_other_parameters() {
        let collection = Collection::new(records(3))
            .paging(Paging::next_link(LinkStyle::Relative))
            .page_size(2);
        let page = body(&render(&collection, "/v2/payments", "status=open&page=1"));
        assert_eq!(
            page["_links"]["next"]["href"],
            json!("payments?status=open&page=2")
        );
    }

    /// Invalid paging parameters get a 400 with a JSON error.
    #[test]
    fn invalid_parameters_are_rejected() {
        let collection = Collection::new(records(3)).paging(Paging::cursor_token());
        assert_eq!(render(&collection, "/items", "cursor=bogus").status, 400);
        let collection = Collection::new(records(3)).paging(Paging::page_number());
        assert_eq!(render(&collection, "/items", "per_page=0").status, 400);
        assert_eq!(render(&collection, "/items", "page=x").status, 400);
    }
}
