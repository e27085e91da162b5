use reqwest::Url;

use super::{PageView, PaginateError, Paginator};

/// No pagination: the first answer holds every record (a job board that returns all at once).
#[derive(Debug, Clone, Copy, Default)]
pub struct SinglePage;

impl Paginator for SinglePage {
    fn next_request(&self, _: &PageView<'_>) -> Result<Option<Url>, PaginateError> {
        Ok(None)
    }
}
