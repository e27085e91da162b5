//! How a [`Collection`](super::Collection) splits its records into pages: [`Paging`] and [`LinkStyle`].

/// The pagination scheme a [`Collection`](super::Collection) speaks.
///
/// Build one with its constructor (`Paging::page_number()`, ...), which fills in the usual
/// parameter names, then adjust it with [`param`](Paging::param),
/// [`size_param`](Paging::size_param), [`total`](Paging::total) or
/// [`last_page`](Paging::last_page), or set the public fields directly.
///
/// Wherever a request may choose the page size (`per_page`, `limit`), it gets that size, clamped to
/// the collection's [`max_page_size`](super::Collection::max_page_size); otherwise the
/// collection's [`page_size`](super::Collection::page_size). A size of 0 or a parameter that is not
/// a whole number gets a 400 with a JSON `{"error": ...}` body. Field names such as `total_field`
/// are dot paths into the page body (`"meta.total"`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Paging {
    /// Every record in one body.
    None,
    /// `?page=N&per_page=S`: page `start` is the first one; pages past the end are empty.
    PageNumber {
        /// The page number parameter (`page`).
        param: String,
        /// The page size parameter (`per_page`).
        size_param: String,
        /// The number of the first page (1).
        start: u64,
        /// Where the body carries the total number of records, if anywhere.
        total_field: Option<String>,
        /// Where the body carries the number of the last page, if anywhere.
        last_page_field: Option<String>,
    },
    /// `?offset=N&limit=S`: records from index `offset` on.
    Offset {
        /// The offset parameter (`offset`).
        offset_param: String,
        /// The page size parameter (`limit`).
        limit_param: String,
        /// Where the body carries the total number of records, if anywhere.
        total_field: Option<String>,
    },
    /// An opaque token in the body names the next page; the client sends it back in `param`.
    ///
    /// The token is `null` on the last page. A token the mock did not make gets a 400.
    CursorToken {
        /// The parameter that carries the token (`cursor`).
        param: String,
        /// Where the body carries the next token (`next_token`).
        token_field: String,
    },
    /// Stripe style: `?starting_after=<id>` gives the records after the one with that id, and the
    /// body says whether more remain.
    ///
    /// An id that no record has gets a 400.
    HasMore {
        /// The parameter that carries the last id seen (`starting_after`).
        param: String,
        /// The page size parameter (`limit`).
        limit_param: String,
        /// Where the body carries `true` while more records remain (`has_more`).
        has_more_field: String,
        /// The record field holding its id (`id`).
        id_field: String,
    },
    /// Page numbers, with the URL of the next page in the body (`null` on the last page).
    ///
    /// The link keeps the request's other query parameters and sets `page_param`.
    NextLink {
        /// Where the body carries the next link (`_links.next.href`).
        field: String,
        /// How the link is written.
        style: LinkStyle,
        /// The page number parameter (`page`); the first page is 1.
        page_param: String,
        /// The page size parameter (`per_page`).
        size_param: String,
    },
    /// Page numbers, with RFC 8288 links in a `Link` header: `rel="next"` (left out on the last
    /// page), `rel="prev"` (after the first page), `rel="last"` and `rel="first"`, all absolute.
    LinkHeader {
        /// The page number parameter (`page`); the first page is 1.
        page_param: String,
        /// The page size parameter (`per_page`).
        size_param: String,
    },
    /// Keyset paging: `?from=<id>` gives the records strictly after the one with that id (from the
    /// start when absent). The client stops at a short or empty page.
    ///
    /// An id that no record has gets a 400.
    Seek {
        /// The parameter that carries the last id seen (`from`).
        param: String,
        /// The record field holding its id (`id`).
        id_field: String,
        /// The page size parameter (`limit`).
        size_param: String,
    },
}

/// How a [`Paging::NextLink`] link is written; the examples show page 2 of `/v2/payments`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkStyle {
    /// `http://127.0.0.1:PORT/v2/payments?page=2`.
    Absolute,
    /// `/v2/payments?page=2`.
    HostRelative,
    /// `payments?page=2`, relative to the request's path.
    Relative,
    /// `?page=2`.
    QueryOnly,
}

impl Paging {
    /// [`Paging::PageNumber`] with `page`, `per_page`, first page 1 and no metadata.
    pub fn page_number() -> Self {
        Paging::PageNumber {
            param: "page".to_owned(),
            size_param: "per_page".to_owned(),
            start: 1,
            total_field: None,
            last_page_field: None,
        }
    }

    /// [`Paging::Offset`] with `offset`, `limit` and no total.
    pub fn offset() -> Self {
        Paging::Offset {
            offset_param: "offset".to_owned(),
            limit_param: "limit".to_owned(),
            total_field: None,
        }
    }

    /// [`Paging::CursorToken`] with `cursor` and `next_token`.
    pub fn cursor_token() -> Self {
        Paging::CursorToken {
            param: "cursor".to_owned(),
            token_field: "next_token".to_owned(),
        }
    }

    /// [`Paging::HasMore`] with `starting_after`, `limit`, `has_more` and `id`.
    pub fn has_more() -> Self {
        Paging::HasMore {
            param: "starting_after".to_owned(),
            limit_param: "limit".to_owned(),
            has_more_field: "has_more".to_owned(),
            id_field: "id".to_owned(),
        }
    }

    /// [`Paging::NextLink`] at `_links.next.href`, written in `style`, with `page` and `per_page`.
    pub fn next_link(style: LinkStyle) -> Self {
        Paging::NextLink {
            field: "_links.next.href".to_owned(),
            style,
            page_param: "page".to_owned(),
            size_param: "per_page".to_owned(),
        }
    }

    /// [`Paging::LinkHeader`] with `page` and `per_page`.
    pub fn link_header() -> Self {
        Paging::LinkHeader {
            page_param: "page".to_owned(),
            size_param: "per_page".to_owned(),
        }
    }

    /// [`Paging::Seek`] with `from`, `id` and `limit`.
    pub fn seek() -> Self {
        Paging::Seek {
            param: "from".to_owned(),
            id_field: "id".to_owned(),
            size_param: "limit".to_owned(),
        }
    }

    /// Renames the parameter that says which page to serve (page number, offset, cursor or id).
    ///
    /// # Panics
    ///
    /// On [`Paging::None`], which has no such parameter.
    pub fn param(mut self, name: &str) -> Self {
        match &mut self {
            Paging::PageNumber { param, .. }
            | Paging::Offset {
                offset_param: param,
                ..
            }
            | Paging::CursorToken { param, .. }
            | Paging::HasMore { param, .. }
            | Paging::NextLink {
                page_param: param, ..
            }
            | Paging::LinkHeader {
                page_param: param, ..
            }
            | Paging::Seek { param, .. } => *param = name.to_owned(),
            Paging::None => panic!("Paging::param: Paging::None has no page parameter"),
        }
        self
    }

    /// Renames the parameter that sets the page size.
    ///
    /// # Panics
    ///
    /// On [`Paging::None`] and [`Paging::CursorToken`], which have no such parameter.
    pub fn size_param(mut self, name: &str) -> Self {
        match &mut self {
            Paging::PageNumber { size_param, .. }
            | Paging::Offset {
                limit_param: size_param,
                ..
            }
            | Paging::HasMore {
                limit_param: size_param,
                ..
            }
            | Paging::NextLink { size_param, .. }
            | Paging::LinkHeader { size_param, .. }
            | Paging::Seek { size_param, .. } => *size_param = name.to_owned(),
            Paging::None | Paging::CursorToken { .. } => {
                panic!("Paging::size_param: {self:?} has no page size parameter")
            }
        }
        self
    }

    /// Puts the total number of records at `field` (a dot path) in every page body.
    ///
    /// # Panics
    ///
    /// Unless this is [`Paging::PageNumber`] or [`Paging::Offset`].
    pub fn total(mut self, field: &str) -> Self {
        match &mut self {
            Paging::PageNumber { total_field, .. } | Paging::Offset { total_field, .. } => {
                *total_field = Some(field.to_owned());
            }
            _ => panic!("Paging::total applies to page_number and offset paging, not {self:?}"),
        }
        self
    }

    /// Puts the number of the last page at `field` (a dot path) in every page body.
    ///
    /// # Panics
    ///
    /// Unless this is [`Paging::PageNumber`].
    pub fn last_page(mut self, field: &str) -> Self {
        match &mut self {
            Paging::PageNumber {
                last_page_field, ..
            } => *last_page_field = Some(field.to_owned()),
            _ => panic!("Paging::last_page applies to page_number paging, not {self:?}"),
        }
        self
    }
}
