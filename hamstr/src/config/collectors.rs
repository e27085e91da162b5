//! The collectors of a service in a project file: `collectors: {ENDPOINT: {...}}`, each checked
//! and named.

use std::collections::HashMap;

use marked_yaml::{
    Node,
    types::{MarkedMappingNode, MarkedScalarNode},
};

use super::{
    CollectorConfig, fields,
    files::FILE_ONLY_KEYS,
    incremental,
    load::{COLLECTOR_KEYS, IN_A_FILE},
    value::{Checker, Place, get, is_null, quote},
};
use crate::{
    records::Records,
    service::{Lookup, Search},
    state::Incremental,
};

/// The names collectors and files have taken, each with where: every one stores into a table of
/// its own, so a name is used once in a project.
pub(super) type Names = HashMap<String, Taken>;

/// Where a name was taken.
#[derive(Debug, Clone)]
pub(super) struct Taken {
    /// The name as written (the map's key is its lower case).
    name: String,
    line: usize,
    is_file: bool,
}

pub(super) fn collectors(
    checker: &mut Checker<'_>,
    node: &Node,
    names: &mut Names,
) -> Option<Vec<CollectorConfig>> {
    let mapping = checker.mapping(node, "`collectors`")?;
    let mut collectors = Vec::with_capacity(mapping.len());
    let mut is_complete = true;
    for (endpoint, value) in mapping.iter() {
        match collector(checker, endpoint, value, names) {
            Some(collector) => collectors.push(collector),
            None => is_complete = false,
        }
    }
    is_complete.then_some(collectors)
}

fn collector(
    checker: &mut Checker<'_>,
    endpoint_key: &MarkedScalarNode,
    node: &Node,
    names: &mut Names,
) -> Option<CollectorConfig> {
    // `${VAR}` in the endpoint too: `/repos/${OWNER}/traffic/views`.
    let endpoint = &checker.key_text(endpoint_key)?;
    let owner = checker.place_of_scalar(endpoint_key);
    let section = format!("collector {}", quote(endpoint));
    let empty = MarkedMappingNode::new_empty(*node.span());
    let mapping = if is_null(node) {
        &empty
    } else {
        checker.mapping(node, &section)?
    };
    checker.check_keys(
        mapping,
        &section,
        &COLLECTOR_KEYS,
        &[
            (
                &[
                    "base_url",
                    "auth",
                    "api_key",
                    "headers",
                    "paginator",
                    "timeout",
                    "retry",
                    "limits",
                    "conditional_requests",
                    "pages_in_flight",
                    "empty_pages",
                ],
                "in the service, next to `collectors:`",
            ),
            (&FILE_ONLY_KEYS, IN_A_FILE),
        ],
    );
    // The name, what a message may show of it, and its place.
    let name = match get(mapping, "name") {
        Some(node) => checker
            .name_text(node, "`name`")
            .map(|name| (name.value.clone(), name.shown(), checker.place_of(node))),
        None => match default_name(endpoint) {
            Some(name) => Some((name.to_owned(), quote(name), owner)),
            None => {
                checker.report(
                    owner,
                    format!("cannot name {section} after its endpoint"),
                    "give it a `name:`".to_owned(),
                );
                None
            }
        },
    };
    if let Some((name, shown, place)) = &name {
        claim_name(checker, names, name, shown, *place, false);
    }
    let interval = get(mapping, "interval").and_then(|node| checker.duration(node, "`interval`"));
    let records = get(mapping, "records").and_then(|node| checker.name(node, "`records`"));
    // `record: .` (or empty): the body is the one record.
    let record = mapping.get_node("record").map(|node| {
        let path = match node {
            node if is_null(node) => String::new(),
            node => checker
                .text(node, "`record`")
                .map(|text| text.value)
                .unwrap_or_default(),
        };
        if path == "." { String::new() } else { path }
    });
    if let (Some(_), Some(node)) = (&records, mapping.get_node("record")) {
        let place = checker.place_of(node);
        checker.report(
            place,
            format!("{section} has both `records:` and `record:`"),
            "`records:` is where a page's list of records is; `record:` is the one record an answer is (a profile); keep one".to_owned(),
        );
    }
    let params = get(mapping, "params")
        .map(|node| checker.pairs(node, "`params`"))
        .unwrap_or_default();
    let incremental = match get(mapping, "incremental") {
        Some(node) => incremental::incremental(checker, node)
            .and_then(|strategy| incremental::check_fits(checker, node, strategy, false)),
        None => Some(Incremental::FullRefresh),
    };
    let keys = super::keys::keys(checker, mapping, endpoint, owner, &section);
    let args = match get(mapping, "args") {
        Some(node) => {
            let declared = checker.parameters().to_vec();
            super::parameters::args(checker, node, &declared)
        }
        None => Some(Vec::new()),
    };
    let search = get(mapping, "search").map(|node| search(checker, node));
    let lookup = get(mapping, "get").map(|node| lookup(checker, node));
    let (fields, primary_key) = fields::model_in(checker, mapping, owner, &section)?;
    Some(CollectorConfig {
        endpoint: endpoint.to_owned(),
        name: name?.0,
        interval,
        records,
        record,
        params,
        fields,
        primary_key,
        incremental: incremental?,
        keys: keys?,
        args: args?,
        search: match search {
            Some(search) => Some(search?),
            None => None,
        },
        lookup: match lookup {
            Some(lookup) => Some(lookup?),
            None => None,
        },
    })
}

/// The keys of `search:`.
const SEARCH_KEYS: [&str; 3] = ["param", "endpoint", "records"];

/// `search: q` (the API searches this endpoint, the query in `?q=`), or `search: {endpoint:
/// search/repositories, param: q, records: items}` (it searches at another endpoint).
fn search(checker: &mut Checker<'_>, node: &Node) -> Option<Search> {
    if let Node::Scalar(_) = node {
        return checker.name(node, "`search`").map(Search::Param);
    }
    let mapping = checker.mapping(node, "`search`")?;
    checker.check_keys(mapping, "`search`", &SEARCH_KEYS, &[]);
    let param = match get(mapping, "param") {
        Some(node) => checker.name(node, "`search.param`"),
        None => {
            let place = checker.place_of(node);
            checker.report(
                place,
                "`search` needs `param`: the query parameter that carries the query".to_owned(),
                "for example `search: {endpoint: search/repositories, param: q, records: items}`"
                    .to_owned(),
            );
            None
        }
    };
    let records = get(mapping, "records").and_then(|node| checker.name(node, "`search.records`"));
    match get(mapping, "endpoint") {
        Some(endpoint) => {
            let path = checker.name(endpoint, "`search.endpoint`")?;
            Some(Search::Endpoint {
                path,
                param: param?,
                records: records.map(|records| Records::from(records.as_str())),
            })
        }
        None => param.map(Search::Param),
    }
}

/// `get: repos/{+id}` (one record at another path, `{id}` its id) or `get: {scan: FIELD}` (walk
/// the listing for the record whose FIELD is the id).
fn lookup(checker: &mut Checker<'_>, node: &Node) -> Option<Lookup> {
    if let Node::Scalar(_) = node {
        return checker.name(node, "`get`").map(Lookup::Path);
    }
    let mapping = checker.mapping(node, "`get`")?;
    checker.check_keys(mapping, "`get`", &["scan"], &[]);
    let field = get(mapping, "scan").and_then(|node| checker.name(node, "`get.scan`"))?;
    Some(Lookup::scan(field.as_str()))
}

/// Takes `name` (shown as `shown`, at `place`) for a collector or, with `is_file`, a file;
/// reports it when another already has it.
pub(super) fn claim_name(
    checker: &mut Checker<'_>,
    names: &mut Names,
    name: &str,
    shown: &str,
    place: Place,
    is_file: bool,
) {
    // The name is a table's (and a JSON Lines file's): refused here, at its place, rather than
    // when the app is built.
    if let Some(reason) = hamstr_tables::table_name_problem(name) {
        checker.report(
            place,
            format!("{shown} cannot be a table's name"),
            reason.to_owned(),
        );
        return;
    }
    // SQL compares table names without case: `Items` and `items` are one table.
    let key = name.to_ascii_lowercase();
    let Some(other) = names.get(&key).cloned() else {
        names.insert(
            key,
            Taken {
                name: name.to_owned(),
                line: place.line,
                is_file,
            },
        );
        return;
    };
    let rename = if is_file || other.is_file {
        "rename one: a file by its key under `files:`, a collector with `name:`"
    } else {
        "give one another `name:`"
    };
    let which = if other.name == name {
        format!("two collectors are named {shown}")
    } else {
        format!(
            "{shown} and `{}` are one name to a store (names that differ only in case are one table)",
            other.name
        )
    };
    checker.report(
        place,
        which,
        format!(
            "the other is on line {}; each stores into a table of its own, so {rename}",
            other.line
        ),
    );
}

/// The last segment of an endpoint's path: `payments` for `/v2/payments/?x=1`.
fn default_name(endpoint: &str) -> Option<&str> {
    let path = endpoint.split(['?', '#']).next().unwrap_or_default();
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|segment| !segment.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_collector_is_named_after_its_last_path_segment() {
        assert_eq!(default_name("/payments"), Some("payments"));
        assert_eq!(default_name("v2/customers/?limit=5"), Some("customers"));
        assert_eq!(default_name("orders"), Some("orders"));
        assert_eq!(default_name("/"), None);
        assert_eq!(default_name(""), None);
    }
}
