use reqwest::Url;

use super::{PageView, PaginateError, Paginator, default_param, page_size, set_param};
use crate::records::JsonPath;

/// Seek pagination: each request asks for the records after the last one seen
/// (`?from=<id>`), oldest first, so a later walk can ask for only what is new.
///
/// Stops on an empty page, or a short one when the page size is known. After a complete walk,
/// [`Paginator::resume_request`] gives the request that continues after the last id seen.
///
/// # Examples
/// ```
/// use hamstr::paginate::Seek;
/// let seek = Seek::param("from").id_field("id").size("limit", 250);
/// # let _ = seek;
/// ```
#[derive(Debug, Clone)]
pub struct Seek {
    param: String,
    id_field: JsonPath,
    size: Option<(String, u64)>,
}

impl Seek {
    /// Sends the last seen id in the query parameter `name`.
    pub fn param(name: impl Into<String>) -> Self {
        Self {
            param: name.into(),
            id_field: JsonPath::new("id"),
            size: None,
        }
    }

    /// Where a record's id is (default `id`).
    pub fn id_field(mut self, path: impl Into<JsonPath>) -> Self {
        self.id_field = path.into();
        self
    }

    /// Asks for `size` records per page in the query parameter `param`.
    pub fn size(mut self, param: impl Into<String>, size: u64) -> Self {
        self.size = Some((param.into(), size));
        self
    }
}

impl Default for Seek {
    /// `?from=<id>`.
    fn default() -> Self {
        Self::param("from")
    }
}

impl Paginator for Seek {
    fn params(&self) -> Vec<String> {
        let size = self.size.iter().map(|(param, _)| param.clone());
        std::iter::once(self.param.clone()).chain(size).collect()
    }

    fn first_request(&self, url: &mut Url) {
        if let Some((param, size)) = &self.size {
            default_param(url, param, &size.to_string());
        }
    }

    fn next_request(&self, page: &PageView<'_>) -> Result<Option<Url>, PaginateError> {
        let count = page.records().len() as u64;
        if count == 0 || page_size(page, self.size.as_ref()).is_some_and(|size| count < size) {
            return Ok(None);
        }
        let last = page.last_record_field(self.id_field.clone())?;
        let mut next = page.url().clone();
        set_param(&mut next, &self.param, &last);
        Ok(Some(next))
    }

    fn resume_request(&self, last_page: &PageView<'_>) -> Option<Url> {
        if last_page.records().is_empty() {
            return Some(last_page.url().clone());
        }
        let last = last_page.last_record_field(self.id_field.clone()).ok()?;
        let mut next = last_page.url().clone();
        set_param(&mut next, &self.param, &last);
        Some(next)
    }
}
