use reqwest::{Url, header::LINK};

use super::{PageView, PaginateError, Paginator, default_param};

/// RFC 8288 `Link` headers: `<https://api.github.com/…&page=2>; rel="next"` (GitHub, GitLab).
///
/// Several links per header, several `Link` headers, several relation types per link
/// (`rel="next last"`), quoted or bare parameter values, and commas inside URLs are all
/// understood. No `next` link ends the walk.
///
/// # Examples
/// ```
/// use hamstr::paginate::LinkHeader;
/// // GitHub: 100 records a page (`?per_page=100`), then the `next` links.
/// let github = LinkHeader::new().size("per_page", 100);
/// # let _ = github;
/// ```
#[derive(Debug, Clone)]
pub struct LinkHeader {
    rel: String,
    size: Option<(String, u64)>,
}

impl LinkHeader {
    /// Follows `rel="next"`.
    pub fn new() -> Self {
        Self::rel("next")
    }

    /// Follows the link with relation type `rel`.
    pub fn rel(rel: impl Into<String>) -> Self {
        Self {
            rel: rel.into(),
            size: None,
        }
    }

    /// Asks for `size` records per page in the query parameter `param` (`per_page`) on the first
    /// request; the links carry it on. Unlike a service parameter, it is not sent when
    /// [`get`](crate::service::Endpoint::get) asks for one item.
    pub fn size(mut self, param: impl Into<String>, size: u64) -> Self {
        self.size = Some((param.into(), size));
        self
    }
}

impl Default for LinkHeader {
    fn default() -> Self {
        Self::new()
    }
}

impl Paginator for LinkHeader {
    fn params(&self) -> Vec<String> {
        self.size.iter().map(|(param, _)| param.clone()).collect()
    }

    fn first_request(&self, url: &mut Url) {
        if let Some((param, size)) = &self.size {
            default_param(url, param, &size.to_string());
        }
    }

    fn next_request(&self, page: &PageView<'_>) -> Result<Option<Url>, PaginateError> {
        let next = page
            .headers()
            .get_all(LINK)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(parse_link_header)
            .find(|link| {
                link.rels
                    .iter()
                    .any(|rel| rel.eq_ignore_ascii_case(&self.rel))
            });
        match next {
            Some(link) => page.resolve(&link.target).map(Some),
            None => Ok(None),
        }
    }
}

/// One link of a `Link` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The target, as written between `<` and `>` (possibly relative).
    pub target: String,
    /// The relation types of `rel` (`rel="next last"` gives two).
    pub rels: Vec<String>,
    /// Every parameter, `rel` included, names lowercased, values unquoted.
    pub params: Vec<(String, String)>,
}

/// Parses a `Link` header value by the grammar of RFC 8288 (appendix B): commas split links
/// only outside `<…>` and quoted strings. Malformed parts are skipped, not guessed at.
pub fn parse_link_header(value: &str) -> Vec<Link> {
    let mut links = Vec::new();
    let mut rest = value;
    loop {
        rest = rest
            .trim_start_matches(|character: char| character == ',' || character.is_whitespace());
        let Some(after_open) = rest.strip_prefix('<') else {
            // Not a link: skip to the next top-level comma.
            match skip_to_comma(rest) {
                Some(next) => {
                    rest = next;
                    continue;
                }
                None => break,
            }
        };
        let Some(close) = after_open.find('>') else {
            break;
        };
        let target = after_open[..close].trim().to_owned();
        rest = &after_open[close + 1..];
        let mut params = Vec::new();
        loop {
            rest = rest.trim_start();
            let Some(after_semicolon) = rest.strip_prefix(';') else {
                break;
            };
            let (param, after_param) = parse_param(after_semicolon);
            rest = after_param;
            if let Some(param) = param {
                params.push(param);
            }
        }
        let rels = params
            .iter()
            .filter(|(name, _)| name == "rel")
            .take(1) // RFC 8288 3.3: only the first `rel` counts.
            .flat_map(|(_, value)| value.split_whitespace().map(str::to_owned))
            .collect();
        links.push(Link {
            target,
            rels,
            params,
        });
        match skip_to_comma(rest) {
            Some(next) => rest = next,
            None => break,
        }
    }
    links
}

/// Parses `name[=value]` after a `;`; returns the parameter and what follows it.
fn parse_param(input: &str) -> (Option<(String, String)>, &str) {
    let input = input.trim_start();
    let name_end = input
        .find(|character: char| matches!(character, '=' | ';' | ',') || character.is_whitespace())
        .unwrap_or(input.len());
    let name = input[..name_end].to_ascii_lowercase();
    let mut rest = input[name_end..].trim_start();
    let mut value = String::new();
    if let Some(after_equals) = rest.strip_prefix('=') {
        rest = after_equals.trim_start();
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut characters = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((index, character)) = characters.next() {
                match character {
                    '\\' => {
                        if let Some((_, escaped)) = characters.next() {
                            value.push(escaped);
                        }
                    }
                    '"' => {
                        end = index + 1;
                        break;
                    }
                    other => value.push(other),
                }
            }
            rest = &quoted[end.min(quoted.len())..];
        } else {
            let value_end = rest.find([';', ',']).unwrap_or(rest.len());
            value = rest[..value_end].trim().to_owned();
            rest = &rest[value_end..];
        }
    }
    let param = (!name.is_empty()).then_some((name, value));
    (param, rest)
}

/// What follows the next comma outside quotes and angle brackets, if any.
fn skip_to_comma(input: &str) -> Option<&str> {
    let mut in_quotes = false;
    let mut in_brackets = false;
    let mut escaped = false;
    for (index, character) in input.char_indices() {
        match character {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' if !in_brackets => in_quotes = !in_quotes,
            '<' if !in_quotes => in_brackets = true,
            '>' if !in_quotes => in_brackets = false,
            ',' if !in_quotes && !in_brackets => return Some(&input[index + 1..]),
            _ => {}
        }
    }
    None
}
