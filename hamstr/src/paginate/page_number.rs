use reqwest::Url;

use super::{PageView, PaginateError, Paginator, default_param, page_size, set_param};
use crate::records::JsonPath;

/// `?page=N`: numbered pages.
///
/// Stops on an empty page; on a page shorter than the page size, when the size is known (from
/// [`size`](Self::size) or the request's own size parameter); when the records so far reach the
/// total at [`total`](Self::total); or at the page number found at [`last_page`](Self::last_page).
///
/// # Examples
/// ```
/// use hamstr::paginate::PageNumber;
/// // GitHub style: ?page=1&per_page=100, starting at page 1.
/// let github = PageNumber::new().size("per_page", 100);
/// // Zero-based pages, `?p=0`, with the total count in `meta.total`.
/// let other = PageNumber::param("p").start(0).total("meta.total");
/// # let _ = (github, other);
/// ```
#[derive(Debug, Clone)]
pub struct PageNumber {
    param: String,
    start: u64,
    size: Option<(String, u64)>,
    total: Option<JsonPath>,
    last_page: Option<JsonPath>,
}

impl PageNumber {
    /// `?page=N`, starting at 1.
    pub fn new() -> Self {
        Self::param("page")
    }

    /// Pages numbered in the query parameter `name`, starting at 1.
    pub fn param(name: impl Into<String>) -> Self {
        Self {
            param: name.into(),
            start: 1,
            size: None,
            total: None,
            last_page: None,
        }
    }

    /// The number of the first page (0 or 1, usually).
    pub fn start(mut self, first: u64) -> Self {
        self.start = first;
        self
    }

    /// Asks for `size` records per page in the query parameter `param` (`per_page`, `limit`).
    pub fn size(mut self, param: impl Into<String>, size: u64) -> Self {
        self.size = Some((param.into(), size));
        self
    }

    /// Where the body gives the total number of records.
    pub fn total(mut self, path: impl Into<JsonPath>) -> Self {
        self.total = Some(path.into());
        self
    }

    /// Where the body gives the number of the last page.
    pub fn last_page(mut self, path: impl Into<JsonPath>) -> Self {
        self.last_page = Some(path.into());
        self
    }
}

impl Default for PageNumber {
    fn default() -> Self {
        Self::new()
    }
}

impl Paginator for PageNumber {
    fn params(&self) -> Vec<String> {
        let size = self.size.iter().map(|(param, _)| param.clone());
        std::iter::once(self.param.clone()).chain(size).collect()
    }

    fn body_fields(&self) -> Vec<JsonPath> {
        self.total.iter().chain(&self.last_page).cloned().collect()
    }

    fn first_request(&self, url: &mut Url) {
        default_param(url, &self.param, &self.start.to_string());
        if let Some((param, size)) = &self.size {
            default_param(url, param, &size.to_string());
        }
    }

    fn next_request(&self, page: &PageView<'_>) -> Result<Option<Url>, PaginateError> {
        let count = page.records().len() as u64;
        if count == 0 {
            return Ok(None);
        }
        let current = page.number_param(&self.param).unwrap_or(self.start);
        let size = page_size(page, self.size.as_ref());
        if size.is_some_and(|size| count < size) {
            return Ok(None);
        }
        if let Some(path) = &self.total
            && let Some(total) = page.count_field(path)?
        {
            // Without a known size, the pages before this one are taken to be as full as it is.
            let seen = (current.saturating_sub(self.start)) * size.unwrap_or(count) + count;
            if seen >= total {
                return Ok(None);
            }
        }
        if let Some(path) = &self.last_page
            && let Some(last) = page.count_field(path)?
            && current >= last
        {
            return Ok(None);
        }
        let mut next = page.url().clone();
        set_param(&mut next, &self.param, &(current + 1).to_string());
        Ok(Some(next))
    }

    fn request_ahead(&self, page: &PageView<'_>, steps: u64) -> Option<Url> {
        let current = page.number_param(&self.param).unwrap_or(self.start);
        let target = current + steps;
        // With a known end, no request past it.
        let size = page_size(page, self.size.as_ref()).unwrap_or(page.records().len() as u64);
        if let Some(total) = self
            .total
            .as_ref()
            .and_then(|path| page.count_field(path).ok()?)
            && size > 0
            && (target - self.start) * size >= total
        {
            return None;
        }
        if let Some(last) = self
            .last_page
            .as_ref()
            .and_then(|path| page.count_field(path).ok()?)
            && target > last
        {
            return None;
        }
        let mut url = page.url().clone();
        set_param(&mut url, &self.param, &target.to_string());
        Some(url)
    }
}
