use reqwest::header::HeaderMap;

use super::*;

#[test]
fn link_header_parses_several_links_and_rels() {
    let links = parse_link_header(
        r#"<https://api.github.com/user/repos?page=3&per_page=100>; rel="next", <https://api.github.com/user/repos?page=50&per_page=100>; rel="last""#,
    );
    assert_eq!(links.len(), 2);
    assert_eq!(
        links[0].target,
        "https://api.github.com/user/repos?page=3&per_page=100"
    );
    assert_eq!(links[0].rels, ["next"]);
    assert_eq!(links[1].rels, ["last"]);
}

#[test]
fn link_header_keeps_commas_inside_urls_and_quotes() {
    let links = parse_link_header(
        r#"<https://x.test/a?ids=1,2,3>; title="a, b"; rel="prev next", </b>;rel=last"#,
    );
    assert_eq!(links.len(), 2);
    assert_eq!(links[0].target, "https://x.test/a?ids=1,2,3");
    assert_eq!(links[0].rels, ["prev", "next"]);
    assert!(
        links[0]
            .params
            .contains(&("title".to_owned(), "a, b".to_owned()))
    );
    assert_eq!(links[1].target, "/b");
    assert_eq!(links[1].rels, ["last"]);
}

#[test]
fn link_header_skips_garbage_and_uses_the_first_rel() {
    let links = parse_link_header(r#"garbage, <a>; rel=next; rel=last, <b"#);
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].rels, ["next"]);
    assert!(parse_link_header("").is_empty());
}

fn view<'a>(
    url: &'a Url,
    shown: &'a RedactedUrl,
    headers: &'a HeaderMap,
    body: &'a str,
    records: &'a [RawRecord],
) -> PageView<'a> {
    PageView::new(url, shown, headers, body, records, 0)
}

fn records(count: usize) -> Vec<RawRecord> {
    (0..count)
        .map(|index| {
            serde_json::value::RawValue::from_string(format!(r#"{{"id": "r{index}"}}"#)).unwrap()
        })
        .collect()
}

#[test]
fn page_number_stops_on_a_short_page_and_at_the_total() {
    let url: Url = "http://h.test/items?page=2&per_page=3".parse().unwrap();
    let shown = RedactedUrl::new(&url, &[]);
    let headers = HeaderMap::new();
    let paginator = PageNumber::new().size("per_page", 3).total("total");
    let full = records(3);
    // 6 of 9 seen: go on to page 3.
    let next = paginator
        .next_request(&view(&url, &shown, &headers, r#"{"total": 9}"#, &full))
        .unwrap();
    assert_eq!(
        next.unwrap().as_str(),
        "http://h.test/items?per_page=3&page=3"
    );
    // 6 of 6 seen: a total that is a multiple of the page size ends without an empty page.
    assert!(
        paginator
            .next_request(&view(&url, &shown, &headers, r#"{"total": 6}"#, &full))
            .unwrap()
            .is_none()
    );
    let short = records(2);
    assert!(
        paginator
            .next_request(&view(&url, &shown, &headers, "{}", &short))
            .unwrap()
            .is_none()
    );
}

#[test]
fn seek_resumes_after_the_last_id() {
    let url: Url = "http://h.test/items?from=r0".parse().unwrap();
    let shown = RedactedUrl::new(&url, &[]);
    let headers = HeaderMap::new();
    let page = records(2);
    let resume = Seek::default().resume_request(&view(&url, &shown, &headers, "[]", &page));
    assert_eq!(resume.unwrap().as_str(), "http://h.test/items?from=r1");
    let empty = records(0);
    let resume = Seek::default().resume_request(&view(&url, &shown, &headers, "[]", &empty));
    assert_eq!(resume.unwrap().as_str(), "http://h.test/items?from=r0");
}
