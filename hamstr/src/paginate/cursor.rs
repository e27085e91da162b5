use reqwest::Url;
use serde_json::Value;

use super::{PageView, PaginateError, Paginator, default_param, set_param};
use crate::records::JsonPath;

/// A cursor the API hands out: either a token from the body sent back as a query parameter
/// (`next_token`, `meta.next_cursor`), or Stripe's `has_more` plus `starting_after=<last id>`.
///
/// # Examples
/// ```
/// use hamstr::paginate::Cursor;
/// // {"data": [...], "next_token": "abc"} -> ?cursor=abc; stops when the token is null or absent.
/// let token = Cursor::token("next_token", "cursor");
/// // {"data": [...], "has_more": true} -> ?starting_after=<id of the last record>.
/// let stripe = Cursor::has_more("has_more", "starting_after", "id").size("limit", 100);
/// # let _ = (token, stripe);
/// ```
#[derive(Debug, Clone)]
pub struct Cursor {
    kind: Kind,
    param: String,
    size: Option<(String, u64)>,
}

#[derive(Debug, Clone)]
enum Kind {
    Token {
        path: JsonPath,
    },
    HasMore {
        has_more: JsonPath,
        id_field: JsonPath,
    },
}

impl Cursor {
    /// The token at `path` in the body goes back in the query parameter `param`; no token (absent,
    /// `null`, `""`) ends the walk.
    pub fn token(path: impl Into<JsonPath>, param: impl Into<String>) -> Self {
        Self {
            kind: Kind::Token { path: path.into() },
            param: param.into(),
            size: None,
        }
    }

    /// While the boolean at `has_more` is true, the last record's `id_field` goes in `param`.
    pub fn has_more(
        has_more: impl Into<JsonPath>,
        param: impl Into<String>,
        id_field: impl Into<JsonPath>,
    ) -> Self {
        Self {
            kind: Kind::HasMore {
                has_more: has_more.into(),
                id_field: id_field.into(),
            },
            param: param.into(),
            size: None,
        }
    }

    /// Asks for `size` records per page in the query parameter `param`.
    pub fn size(mut self, param: impl Into<String>, size: u64) -> Self {
        self.size = Some((param.into(), size));
        self
    }
}

impl Paginator for Cursor {
    fn params(&self) -> Vec<String> {
        let size = self.size.iter().map(|(param, _)| param.clone());
        std::iter::once(self.param.clone()).chain(size).collect()
    }

    fn body_fields(&self) -> Vec<JsonPath> {
        match &self.kind {
            Kind::Token { path } => vec![path.clone()],
            Kind::HasMore { has_more, .. } => vec![has_more.clone()],
        }
    }

    fn first_request(&self, url: &mut Url) {
        if let Some((param, size)) = &self.size {
            default_param(url, param, &size.to_string());
        }
    }

    fn next_request(&self, page: &PageView<'_>) -> Result<Option<Url>, PaginateError> {
        let cursor = match &self.kind {
            Kind::Token { path } => match page.field(path.clone())? {
                None => return Ok(None),
                Some(Value::String(token)) if token.is_empty() => return Ok(None),
                Some(Value::String(token)) => token,
                Some(Value::Number(number)) => number.to_string(),
                Some(other) => return Err(page.bad_field(path, "a cursor string", &other)),
            },
            Kind::HasMore { has_more, id_field } => match page.field(has_more.clone())? {
                None | Some(Value::Bool(false)) => return Ok(None),
                Some(Value::Bool(true)) => page.last_record_field(id_field.clone())?,
                Some(other) => return Err(page.bad_field(has_more, "true or false", &other)),
            },
        };
        let mut next = page.url().clone();
        set_param(&mut next, &self.param, &cursor);
        Ok(Some(next))
    }
}
