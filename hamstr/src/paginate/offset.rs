use reqwest::Url;

use super::{PageView, PaginateError, Paginator, default_param, set_param};
use crate::records::JsonPath;

/// `?offset=N&limit=M` (or Jira's `startAt`/`maxResults`): the position of the first record.
///
/// Stops on an empty page; when the records so far reach the total at [`total`](Self::total);
/// else on a page shorter than the limit, when the limit is known.
///
/// # Examples
/// ```
/// use hamstr::paginate::Offset;
/// let plain = Offset::new().limit(100);
/// let jira = Offset::params("startAt", "maxResults").limit(50).total("total");
/// # let _ = (plain, jira);
/// ```
#[derive(Debug, Clone)]
pub struct Offset {
    offset_param: String,
    limit: (String, Option<u64>),
    total: Option<JsonPath>,
}

impl Offset {
    /// `?offset=N&limit=M`.
    pub fn new() -> Self {
        Self::params("offset", "limit")
    }

    /// Offset and limit in the query parameters `offset_param` and `limit_param`.
    pub fn params(offset_param: impl Into<String>, limit_param: impl Into<String>) -> Self {
        Self {
            offset_param: offset_param.into(),
            limit: (limit_param.into(), None),
            total: None,
        }
    }

    /// Asks for `limit` records per page.
    pub fn limit(mut self, limit: u64) -> Self {
        self.limit.1 = Some(limit);
        self
    }

    /// Where the body gives the total number of records.
    pub fn total(mut self, path: impl Into<JsonPath>) -> Self {
        self.total = Some(path.into());
        self
    }
}

impl Default for Offset {
    fn default() -> Self {
        Self::new()
    }
}

impl Paginator for Offset {
    fn params(&self) -> Vec<String> {
        vec![self.offset_param.clone(), self.limit.0.clone()]
    }

    fn body_fields(&self) -> Vec<JsonPath> {
        self.total.iter().cloned().collect()
    }

    fn first_request(&self, url: &mut Url) {
        if let (param, Some(limit)) = &self.limit {
            default_param(url, param, &limit.to_string());
        }
    }

    fn next_request(&self, page: &PageView<'_>) -> Result<Option<Url>, PaginateError> {
        let count = page.records().len() as u64;
        if count == 0 {
            return Ok(None);
        }
        let next_offset = page.number_param(&self.offset_param).unwrap_or(0) + count;
        let total = match &self.total {
            Some(path) => page.count_field(path)?,
            None => None,
        };
        if let Some(total) = total {
            if next_offset >= total {
                return Ok(None);
            }
        } else {
            let limit = match &self.limit {
                (param, Some(limit)) => Some(page.number_param(param).unwrap_or(*limit)),
                (param, None) => page.number_param(param),
            };
            if limit.is_some_and(|limit| count < limit) {
                return Ok(None);
            }
        }
        let mut next = page.url().clone();
        set_param(&mut next, &self.offset_param, &next_offset.to_string());
        Ok(Some(next))
    }

    /// Only with a total: without one, a short page is the end, and pages after it cannot be
    /// told from pages that do not exist.
    fn request_ahead(&self, page: &PageView<'_>, steps: u64) -> Option<Url> {
        let total = page.count_field(self.total.as_ref()?).ok()??;
        let count = page.records().len() as u64;
        let step = match &self.limit {
            (param, Some(limit)) => page.number_param(param).unwrap_or(*limit),
            (param, None) => page.number_param(param).unwrap_or(count),
        };
        let offset =
            page.number_param(&self.offset_param).unwrap_or(0) + count + step * (steps - 1);
        if step == 0 || offset >= total {
            return None;
        }
        let mut url = page.url().clone();
        set_param(&mut url, &self.offset_param, &offset.to_string());
        Some(url)
    }
}
