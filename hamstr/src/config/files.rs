//! The `files:` section: CSV and JSON Lines files collected like endpoints, with no service,
//! each into a [`FileConfig`].

use std::path::PathBuf;

use marked_yaml::{
    Node,
    types::{MarkedMappingNode, MarkedScalarNode},
};

use super::{
    FileConfig, FileUrl,
    collectors::Names,
    fields, incremental,
    load::{PROJECT_KEYS, SERVICE_KEYS},
    suggest,
    value::{Checker, Place, get, is_null, quote},
};
use crate::{
    service::{FileFormat, FileKey},
    state::Incremental,
};

/// The keys of a file.
const FILE_KEYS: [&str; 12] = [
    "path",
    "url",
    "service",
    "cache_for",
    "format",
    "delimiter",
    "key",
    "page_size",
    "interval",
    "incremental",
    "model",
    "primary_key",
];

/// The keys only a file takes: where one is written in a service or a collector, the help says
/// it goes in a file.
pub(super) const FILE_ONLY_KEYS: [&str; 7] = [
    "path",
    "url",
    "cache_for",
    "format",
    "delimiter",
    "key",
    "page_size",
];

const FORMATS: [&str; 2] = ["csv", "jsonl"];

/// The largest `page_size`: a page's rows are held in memory together.
const MAX_PAGE_SIZE: u64 = 1_000_000;

/// `key:`'s word for identifying rows by their number.
const ROW_NUMBER: &str = "row_number";

const PATH_HELP: &str = "add `path: data/orders.csv` (a relative path is relative to the folder of this project file), or `url: exports/orders.csv` with the `service:` it is read through";

/// How a file's records are written, before its delimiter is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    JsonLines,
}

impl Format {
    /// The format an extension (`csv`, `TSV`) stands for, if it is one hamstr knows.
    fn of_extension(extension: &str) -> Option<Self> {
        match extension.to_ascii_lowercase().as_str() {
            "csv" | "tsv" => Some(Self::Csv),
            "jsonl" | "ndjson" => Some(Self::JsonLines),
            _ => None,
        }
    }
}

/// A file's `path:`, with what a message may show of it and its place.
struct PathText {
    path: PathBuf,
    shown: String,
    is_expanded: bool,
    place: Place,
}

/// The files; an empty or null `files:` gives none. `services` are the project's services, which
/// a file read by `url:` names.
pub(super) fn files(
    checker: &mut Checker<'_>,
    node: &Node,
    names: &mut Names,
    services: &[String],
) -> Option<Vec<FileConfig>> {
    if is_null(node) {
        return Some(Vec::new());
    }
    let mapping = checker.mapping(node, "`files`")?;
    let mut files = Vec::with_capacity(mapping.len());
    let mut is_complete = true;
    for (name, value) in mapping.iter() {
        match file(checker, name, value, names, services) {
            Some(file) => files.push(file),
            None => is_complete = false,
        }
    }
    is_complete.then_some(files)
}

/// One file: every key is read, so that each problem is reported, before the file is built.
fn file(
    checker: &mut Checker<'_>,
    name_key: &MarkedScalarNode,
    node: &Node,
    names: &mut Names,
    services: &[String],
) -> Option<FileConfig> {
    let name = name_key.as_str();
    let owner = checker.place_of_scalar(name_key);
    let section = format!("file {}", quote(name));
    if name.trim().is_empty() {
        checker.report(
            owner,
            "a file needs a name",
            "write its name as its key: `files: {orders: {path: ...}}`".to_owned(),
        );
    } else {
        super::collectors::claim_name(checker, names, name, &quote(name), owner, true);
    }
    if is_null(node) {
        checker.report(
            owner,
            format!("{section} has no `path`"),
            PATH_HELP.to_owned(),
        );
        return None;
    }
    let mapping = checker.mapping(node, &section)?;
    checker.check_keys(
        mapping,
        &section,
        &FILE_KEYS,
        &[
            (
                &["records", "params"],
                "in a collector of a service, under `collectors:`: a file is read whole, row by row",
            ),
            (
                &["endpoint"],
                "under a service's `collectors:`, as a collector's key (`/orders: {model: ...}`)",
            ),
            (&["name"], "in the key above: a file is named by its key under `files:`"),
            (&SERVICE_KEYS, "in a service, under `services: {NAME: ...}`"),
            (&PROJECT_KEYS, "at the top of the file"),
        ],
    );
    let mut path_text = |key: &str| {
        get(mapping, key).and_then(|node| {
            checker
                .name_text(node, &format!("`{key}`"))
                .map(|text| PathText {
                    path: PathBuf::from(&text.value),
                    shown: text.shown(),
                    is_expanded: text.is_expanded,
                    place: checker.place_of(node),
                })
        })
    };
    let (local, remote) = (path_text("path"), path_text("url"));
    let url = remote_of(
        checker,
        mapping,
        &section,
        services,
        local.is_some(),
        remote.as_ref(),
    );
    let path = match (local, remote) {
        (Some(local), _) => Some(local),
        (None, Some(remote)) => Some(remote),
        (None, None) => {
            if get(mapping, "path").is_none() && get(mapping, "url").is_none() {
                checker.report(
                    owner,
                    format!("{section} has no `path`"),
                    PATH_HELP.to_owned(),
                );
            }
            None
        }
    };
    let extension = path
        .as_ref()
        // A URL's query is no part of its file's name.
        .map(|path| {
            PathBuf::from(
                path.path
                    .to_string_lossy()
                    .split(['?', '#'])
                    .next()
                    .unwrap_or_default(),
            )
        })
        .and_then(|path| path.extension().map(|extension| extension.to_os_string()))
        .and_then(|extension| extension.to_str().map(str::to_ascii_lowercase));
    let format = match get(mapping, "format") {
        Some(node) => format_named(checker, node),
        None => format_of_path(checker, path.as_ref(), extension.as_deref()),
    };
    let format = with_delimiter(checker, mapping, &section, format, extension.as_deref());
    let key = get(mapping, "key").map_or(Some(FileKey::RowNumber), |node| key(checker, node));
    let page_size = get(mapping, "page_size").and_then(|node| {
        checker.whole_number_in(
            node,
            "`page_size`",
            1..=MAX_PAGE_SIZE,
            Some("the rows of a page are held in memory together; the default is 1000"),
        )
    });
    let interval = get(mapping, "interval").and_then(|node| checker.duration(node, "`interval`"));
    let incremental = match get(mapping, "incremental") {
        Some(node) => incremental::incremental(checker, node)
            .and_then(|strategy| incremental::check_fits(checker, node, strategy, true)),
        None => Some(Incremental::FullRefresh),
    };
    let model = fields::model_in(checker, mapping, owner, &section);
    if let Some(FileKey::Columns(columns)) = &key {
        check_no_row_field(checker, mapping, columns);
    }
    let (fields, primary_key) = model?;
    let path = path?.path;
    let url = url?;
    Some(FileConfig {
        name: name.to_owned(),
        path: if url.is_some() { PathBuf::new() } else { path },
        url,
        format: format?,
        key: key?,
        page_size: page_size.map(|rows| usize::try_from(rows).unwrap_or(usize::MAX)),
        interval,
        fields,
        primary_key,
        incremental: incremental?,
    })
}

/// A file read through a service: its `url:`, the `service:` it names and its `cache_for:`,
/// each checked against the others; `Some(None)` for a file on this machine, `None` after a
/// problem was reported.
fn remote_of(
    checker: &mut Checker<'_>,
    mapping: &MarkedMappingNode,
    section: &str,
    services: &[String],
    has_path: bool,
    url: Option<&PathText>,
) -> Option<Option<FileUrl>> {
    let service = get(mapping, "service").map(|node| (node, checker.name(node, "`service`")));
    let cache_for =
        get(mapping, "cache_for").map(|node| (node, checker.duration(node, "`cache_for`")));
    let Some(url) = url else {
        // A file on this machine: a service or a cache lifetime has nothing to do.
        for (node, key) in [
            service.as_ref().map(|(node, _)| *node),
            cache_for.map(|(node, _)| node),
        ]
        .into_iter()
        .zip(["service", "cache_for"])
        {
            if let Some(node) = node {
                let place = checker.place_of(node);
                checker.report(
                    place,
                    format!("`{key}` is for a file read by `url:`; {section} is on this machine"),
                    "remove it, or give a `url:` instead of the `path:`".to_owned(),
                );
            }
        }
        return Some(None).filter(|_| service.is_none() && cache_for.is_none());
    };
    if has_path {
        checker.report(
            url.place,
            format!("{section} has both a `path` and a `url`"),
            "keep `path:` for a file on this machine, or `url:` for one read through a service"
                .to_owned(),
        );
        return None;
    }
    let Some((service_node, service)) = service else {
        checker.report(
            url.place,
            format!("{section} is read by `url:` through a service, and names none"),
            format!(
                "add `service:` with one of the project's services{}",
                if services.is_empty() {
                    String::new()
                } else {
                    let known: Vec<&str> = services.iter().map(String::as_str).collect();
                    format!(" ({})", suggest::one_of(&known))
                }
            ),
        );
        return None;
    };
    let service = service?;
    let known: Vec<&str> = services.iter().map(String::as_str).collect();
    if !known.contains(&service.as_str()) {
        let place = checker.place_of(service_node);
        checker.report(
            place,
            format!(
                "{section} names the service {}, which the project does not have",
                quote(&service)
            ),
            if known.is_empty() {
                "the project has no services: add one under `services:` with the base URL the file is under".to_owned()
            } else {
                suggest::help(&service, &known, "services")
            },
        );
        return None;
    }
    let cache_for = match cache_for {
        Some((_, duration)) => Some(duration?),
        None => None,
    };
    Some(Some(FileUrl {
        service,
        path: url.path.to_string_lossy().into_owned(),
        cache_for,
    }))
}

/// `format: csv` or `format: jsonl`.
fn format_named(checker: &mut Checker<'_>, node: &Node) -> Option<Format> {
    let text = checker.text(node, "`format`")?;
    match text.value.trim().to_ascii_lowercase().as_str() {
        "csv" => return Some(Format::Csv),
        "jsonl" => return Some(Format::JsonLines),
        _ => {}
    }
    let place = checker.place_of(node);
    checker.report(
        place,
        format!("unknown file format {}", text.shown()),
        // No suggestion for a name from the environment: it would hint at the value.
        suggest::help(
            if text.is_expanded { "" } else { &text.value },
            &FORMATS,
            "formats",
        ),
    );
    None
}

/// The format the path's extension stands for; reported at the path when it stands for none.
fn format_of_path(
    checker: &mut Checker<'_>,
    path: Option<&PathText>,
    extension: Option<&str>,
) -> Option<Format> {
    // Without a path there is nothing to tell, and its absence was reported.
    let path = path?;
    if let Some(format) = extension.and_then(Format::of_extension) {
        return Some(format);
    }
    // The extension of a path from the environment is not shown: no message shows such a value.
    let reason = match extension {
        _ if path.is_expanded => String::new(),
        Some(extension) => format!(": `.{extension}` is not an extension hamstr knows"),
        None => ": it has no extension".to_owned(),
    };
    checker.report(
        path.place,
        format!("cannot tell the format of {} from its name{reason}", path.shown),
        "add `format: csv` or `format: jsonl`; known extensions are .csv, .tsv (tab-separated), .jsonl and .ndjson".to_owned(),
    );
    None
}

/// The format with its delimiter: `delimiter:` for a CSV file, else a tab for a `.tsv` file
/// and a comma for any other; `delimiter:` for a JSON Lines file is reported.
fn with_delimiter(
    checker: &mut Checker<'_>,
    mapping: &MarkedMappingNode,
    section: &str,
    format: Option<Format>,
    extension: Option<&str>,
) -> Option<FileFormat> {
    let given = mapping
        .iter()
        .find(|(key, value)| key.as_str() == "delimiter" && !is_null(value));
    match (format?, given) {
        (Format::JsonLines, None) => Some(FileFormat::JsonLines),
        (Format::JsonLines, Some((key, _))) => {
            let place = checker.place_of_scalar(key);
            let help = if get(mapping, "format").is_some() {
                "remove `delimiter:`, or write `format: csv`".to_owned()
            } else {
                "its format comes from its path's extension; remove `delimiter:`, or add `format: csv`"
                    .to_owned()
            };
            checker.report(
                place,
                format!("`delimiter` is only for CSV files, and {section} is JSON Lines"),
                help,
            );
            None
        }
        (Format::Csv, Some((_, node))) => {
            delimiter(checker, node).map(|delimiter| FileFormat::Csv { delimiter })
        }
        (Format::Csv, None) => {
            let delimiter = if extension == Some("tsv") {
                b'\t'
            } else {
                b','
            };
            Some(FileFormat::Csv { delimiter })
        }
    }
}

/// One ASCII character, `\t` written as two characters meaning a tab.
fn delimiter(checker: &mut Checker<'_>, node: &Node) -> Option<u8> {
    let text = checker.text(node, "`delimiter`")?;
    let mut characters = text.value.chars();
    let delimiter = match (characters.next(), characters.next()) {
        _ if text.value == "\\t" => Some(b'\t'),
        // A quote or a line break would end fields where the CSV reader looks for them.
        (Some(character), None)
            if character.is_ascii() && !matches!(character, '"' | '\n' | '\r') =>
        {
            u8::try_from(character).ok()
        }
        _ => None,
    };
    if delimiter.is_none() {
        let place = checker.place_of(node);
        checker.report(
            place,
            format!(
                "`delimiter` must be one ASCII character, found {}",
                text.shown()
            ),
            "for example `;`, `|`, or `\\t` for a tab; not a quote or a line break".to_owned(),
        );
    }
    delimiter
}

/// `key: id`, `key: [shop, id]` or `key: row_number`.
fn key(checker: &mut Checker<'_>, node: &Node) -> Option<FileKey> {
    match node {
        Node::Scalar(_) => {
            let text = checker.name_text(node, "`key`")?;
            Some(if text.value == ROW_NUMBER {
                FileKey::RowNumber
            } else {
                FileKey::Columns(vec![text.value])
            })
        }
        Node::Sequence(list) => {
            if list.is_empty() {
                let place = checker.place_of(node);
                checker.report(
                    place,
                    "`key` is empty",
                    "name a column, list several, or write `key: row_number`".to_owned(),
                );
                return None;
            }
            let mut columns: Vec<String> = Vec::with_capacity(list.len());
            let mut is_complete = true;
            for item in list.iter() {
                let Some(text) = checker.name_text(item, "a `key` entry") else {
                    is_complete = false;
                    continue;
                };
                let place = checker.place_of(item);
                if text.value == ROW_NUMBER {
                    checker.report(
                        place,
                        "`row_number` cannot be one of several key columns",
                        "write `key: row_number` alone, or name columns only".to_owned(),
                    );
                    is_complete = false;
                } else if columns.contains(&text.value) {
                    checker.report(
                        place,
                        format!("`key` names the column {} twice", text.shown()),
                        None,
                    );
                    is_complete = false;
                } else {
                    columns.push(text.value);
                }
            }
            is_complete.then_some(FileKey::Columns(columns))
        }
        Node::Mapping(_) => {
            checker.expected(
                node,
                "`key`",
                "a column, a list of columns, or `row_number`",
            );
            None
        }
    }
}

/// Reports a `_row` field in the model of a file keyed by columns: only `key: row_number` gives
/// records their row number, so the field would always be empty.
fn check_no_row_field(checker: &mut Checker<'_>, mapping: &MarkedMappingNode, columns: &[String]) {
    let row_field = get(mapping, "model")
        .and_then(Node::as_mapping)
        .and_then(|model| model.keys().find(|key| key.as_str() == "_row"));
    if let Some(field) = row_field {
        let place = checker.place_of_scalar(field);
        checker.report(
            place,
            format!(
                "the field `_row` is always empty: the file's key is {}, not `row_number`",
                suggest::and_list(&columns.iter().map(String::as_str).collect::<Vec<_>>())
            ),
            "records carry their row number as `_row` only with `key: row_number` (the default)"
                .to_owned(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_tell_the_format_in_any_case() {
        assert_eq!(Format::of_extension("CSV"), Some(Format::Csv));
        assert_eq!(Format::of_extension("tsv"), Some(Format::Csv));
        assert_eq!(Format::of_extension("NDJSON"), Some(Format::JsonLines));
        assert_eq!(Format::of_extension("json"), None);
    }
}
