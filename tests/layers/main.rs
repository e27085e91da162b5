//! The library's layers, held against its code (docs/architecture.md): every module of
//! `hamstr/src` imports only layers below its own (or its own layer), and no two module folders
//! import each other, directly or around a circle.
//!
//! `cargo test -p hamstr-tests --test layers` runs it; on failure it names each file, the module
//! it imports and why that import may not be.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::{Path, PathBuf},
};

/// The layers, top to bottom, each with its modules and the layers it may import (besides its
/// own). Two layers that may not import each other either way are siblings: the sources and the
/// stores, the models and the saved state.
const LAYERS: &[(&str, &[&str], &[&str])] = &[
    ("Root", &["lib.rs", "error.rs"], &["*"]),
    (
        "Face",
        &["cli", "bin", "config", "admin"],
        &[
            "App", "Collect", "Source", "Model", "State", "Store", "Wire", "Base", "Testing",
        ],
    ),
    (
        "App",
        &["app", "runtime", "report.rs", "events.rs"],
        &[
            "Collect", "Source", "Model", "State", "Store", "Wire", "Base",
        ],
    ),
    (
        "Collect",
        &["collector"],
        &["Source", "Model", "State", "Store", "Wire", "Base"],
    ),
    (
        "Source",
        &["service", "source"],
        &["Model", "State", "Wire", "Base"],
    ),
    ("Store", &["backend"], &["Model", "State", "Base"]),
    ("Model", &["model"], &["Base"]),
    ("State", &["state"], &["Base"]),
    (
        "Wire",
        &["http", "auth.rs", "paginate", "records.rs"],
        &["Base"],
    ),
    ("Base", &["secret.rs", "json.rs", "text.rs", "url.rs"], &[]),
    // Beside the layers: the mock API, which the library itself never needs.
    ("Testing", &["testing"], &["State", "Wire", "Base"]),
];

fn source_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../hamstr/src")
}

/// The top-level module a path under `src/` belongs to: its folder, or its file.
fn module_of(relative: &Path) -> String {
    let first = relative.components().next().expect("a file under src");
    first.as_os_str().to_string_lossy().into_owned()
}

/// The module a `crate::NAME` reference names: a folder or a file of `src/`.
fn module_named(name: &str, modules: &BTreeSet<String>) -> Option<String> {
    [name.to_owned(), format!("{name}.rs")]
        .into_iter()
        .find(|candidate| modules.contains(candidate))
}

fn layer_of(module: &str) -> Option<&'static str> {
    LAYERS
        .iter()
        .find(|(_, members, _)| members.contains(&module))
        .map(|(name, _, _)| *name)
}

/// Whether a module of layer `from` may import one of layer `to`.
fn may_import(from: &str, to: &str) -> bool {
    from == to
        || LAYERS
            .iter()
            .find(|(name, _, _)| *name == from)
            .is_some_and(|(_, _, allowed)| allowed.contains(&"*") || allowed.contains(&to))
}

/// The code of a file with comments, string literals and character literals blanked out, so a
/// doc link or a message that mentions `crate::x` is not taken for an import.
fn code_only(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut code = String::with_capacity(text.len());
    let mut index = 0;
    while index < bytes.len() {
        let rest = &text[index..];
        if rest.starts_with("//") {
            let end = rest.find('\n').unwrap_or(rest.len());
            index += end;
        } else if rest.starts_with("/*") {
            let end = rest.find("*/").map_or(rest.len(), |end| end + 2);
            index += end;
        } else if let Some(hashes) = raw_string_start(rest) {
            let closing = format!("\"{}", "#".repeat(hashes));
            let body = hashes + 2;
            let end = rest[body..]
                .find(&closing)
                .map_or(rest.len(), |end| body + end + closing.len());
            code.push_str("\"\"");
            index += end;
        } else if rest.starts_with('"') {
            let mut end = 1;
            let rest_bytes = rest.as_bytes();
            while end < rest_bytes.len() && rest_bytes[end] != b'"' {
                end += if rest_bytes[end] == b'\\' { 2 } else { 1 };
            }
            code.push_str("\"\"");
            index += (end + 1).min(rest.len());
        } else {
            let character = rest.chars().next().expect("not at the end");
            code.push(character);
            index += character.len_utf8();
        }
    }
    code
}

/// `r"`, `r#"`, `br##"`…: the number of hashes of a raw string starting here.
fn raw_string_start(text: &str) -> Option<usize> {
    let text = text.strip_prefix('b').unwrap_or(text);
    let text = text.strip_prefix('r')?;
    let hashes = text.len() - text.trim_start_matches('#').len();
    text[hashes..].starts_with('"').then_some(hashes)
}

/// Every top-level module named through `crate::` in `code`, including each branch of a
/// `crate::{a::X, b}` group.
fn crate_references(code: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = code;
    while let Some(found) = rest.find("crate::") {
        let before = rest[..found].chars().next_back();
        rest = &rest[found + "crate::".len()..];
        if before.is_some_and(|character| character.is_alphanumeric() || character == '_') {
            continue; // `hamstr_crate::`, not ours
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item = String::new();
            for character in group.chars() {
                match character {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        names.extend(first_segment(&item));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(character);
            }
            names.extend(first_segment(&item));
        } else {
            names.extend(first_segment(rest));
        }
    }
    names
}

fn first_segment(path: &str) -> Option<String> {
    let name: String = path
        .trim_start()
        .chars()
        .take_while(|character| character.is_alphanumeric() || *character == '_')
        .collect();
    (!name.is_empty() && name != "self").then_some(name)
}

fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
}

/// Module → the modules it imports, each with one file that does, for the messages.
fn import_graph() -> BTreeMap<String, BTreeMap<String, String>> {
    let src = source_dir();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<String> = fs::read_dir(&src)
        .expect("src is readable")
        .map(|entry| {
            entry
                .expect("an entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    let mut graph: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(&src).expect("under src").to_path_buf();
        let module = module_of(&relative);
        let code = code_only(&fs::read_to_string(&file).expect("a readable file"));
        let imports = graph.entry(module.clone()).or_default();
        for name in crate_references(&code) {
            let Some(target) = module_named(&name, &modules) else {
                continue; // an item of lib.rs itself (`crate::Error`): checked below
            };
            if target != module {
                imports
                    .entry(target)
                    .or_insert_with(|| relative.display().to_string());
            }
        }
        // `crate::Error`, `crate::Secret`…: the root's re-exports are the root.
        let root_items = crate_references(&code)
            .into_iter()
            .filter(|name| name.starts_with(char::is_uppercase))
            .count();
        if root_items > 0 && module != "lib.rs" && module != "error.rs" {
            imports
                .entry("lib.rs".to_owned())
                .or_insert_with(|| relative.display().to_string());
        }
    }
    graph
}

/// Nothing below imports upward, siblings do not import each other, and only the face imports
/// the mock API.
#[test]
fn no_module_imports_a_layer_it_may_not() {
    let mut broken = Vec::new();
    for (module, imports) in import_graph() {
        for (target, file) in imports {
            let (Some(from), Some(to)) = (layer_of(&module), layer_of(&target)) else {
                continue; // a module without a layer: `every_module_has_a_layer` says so
            };
            if !may_import(from, to) {
                broken.push(format!("{file} ({from}) imports {target} ({to})"));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "imports a layer may not make:\n{}",
        broken.join("\n")
    );
}

/// No two module folders import each other, around a circle of any length.
#[test]
fn no_import_circle_between_modules() {
    let graph = import_graph();
    let mut circles = Vec::new();
    for start in graph.keys() {
        // Depth-first from `start`, looking for a way back to it.
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((module, path)) = stack.pop() {
            for target in graph.get(&module).into_iter().flat_map(BTreeMap::keys) {
                if target == start {
                    circles.push(format!("{} -> {start}", path.join(" -> ")));
                } else if seen.insert(target.clone()) {
                    let mut longer = path.clone();
                    longer.push(target.clone());
                    stack.push((target.clone(), longer));
                }
            }
        }
    }
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}

/// Every module of `src/` has a layer, so a new one cannot slip past the checks above.
#[test]
fn every_module_has_a_layer() {
    let unplaced: Vec<String> = import_graph()
        .into_keys()
        .filter(|module| layer_of(module).is_none())
        .collect();
    assert!(
        unplaced.is_empty(),
        "modules without a layer (add them to LAYERS here and to docs/architecture.md): {unplaced:?}"
    );
}

/// The reader of the checks reads imports, not words: a doc link, a string or a comment that
/// names `crate::x` is no import, and a `crate::{a::X, b}` group names both.
#[test]
fn references_are_read_from_code_only() {
    let code = code_only(
        "use crate::{a::X, b::{c, d}, e};\n/// [`crate::f`]\nlet s = \"crate::g\"; // crate::h\nlet r = r#\"crate::i\"#; crate::j::k();",
    );
    let found: Vec<String> = crate_references(&code).into_iter().collect();
    assert_eq!(found, ["a", "b", "e", "j"]);
}
