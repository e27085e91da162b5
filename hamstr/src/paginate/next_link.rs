use reqwest::Url;
use serde_json::Value;

use super::{PageView, PaginateError, Paginator};
use crate::records::JsonPath;

/// The next page's link, in the body: HAL's `_links.next.href`, `next`, `meta.next_page`.
///
/// The link may be absolute, host-relative (`/v2/payments?from=x`), relative, or a bare query
/// string (`?page=2&per_page=100`); it is resolved against the page's own URL. No link (absent,
/// `null`, `""`) ends the walk. A link to another origin is refused by the walk.
///
/// # Examples
/// ```
/// use hamstr::paginate::NextLink;
/// let hal = NextLink::at("_links.next.href");
/// # let _ = hal;
/// ```
#[derive(Debug, Clone)]
pub struct NextLink {
    path: JsonPath,
}

impl NextLink {
    /// The next link is the string at `path`.
    pub fn at(path: impl Into<JsonPath>) -> Self {
        Self { path: path.into() }
    }
}

impl Default for NextLink {
    /// `next`, at the top of the body.
    fn default() -> Self {
        Self::at("next")
    }
}

impl Paginator for NextLink {
    fn body_fields(&self) -> Vec<JsonPath> {
        vec![self.path.clone()]
    }

    fn next_request(&self, page: &PageView<'_>) -> Result<Option<Url>, PaginateError> {
        match page.field(self.path.clone())? {
            None => Ok(None),
            Some(Value::String(link)) if link.trim().is_empty() => Ok(None),
            Some(Value::String(link)) => page.resolve(link.trim()).map(Some),
            Some(other) => Err(page.bad_field(&self.path, "a link", &other)),
        }
    }
}
