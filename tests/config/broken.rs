//! The corpus of broken files: `broken/NAME.yml` must give exactly the errors in `NAME.txt`.
//!
//! Regenerate the expected errors with `HAMSTR_BLESS=1 cargo test -p hamstr-tests --test config`,
//! then read the `git diff` as you would read code.

use std::{fs, path::Path};

use hamstr::config;

use crate::environment;

/// Every broken file gives every one of its errors, with place, message and help, in file order.
#[test]
fn every_broken_file_gives_its_expected_errors() {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/broken");
    let should_bless = std::env::var_os("HAMSTR_BLESS").is_some_and(|value| value == "1");
    let mut names: Vec<String> = fs::read_dir(&folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut mismatches = Vec::new();
    let mut checked = 0;
    for name in &names {
        let Some(stem) = name.strip_suffix(".yml") else {
            let stem = name.strip_suffix(".txt").unwrap_or(name);
            assert!(
                names.contains(&format!("{stem}.yml")),
                "{name} has no {stem}.yml beside it"
            );
            continue;
        };
        let source = fs::read_to_string(folder.join(name)).unwrap();
        let actual = match config::parse_with_env(&source, name, &environment) {
            Ok(project) => format!("no error; parsed into {project:#?}"),
            Err(error) => error.to_string(),
        } + "\n";
        let expected_path = folder.join(format!("{stem}.txt"));
        if should_bless {
            fs::write(&expected_path, &actual).unwrap();
            continue;
        }
        let expected = fs::read_to_string(&expected_path).unwrap_or_default();
        if actual != expected {
            mismatches.push(format!(
                "--- {stem}.txt (expected)\n{expected}+++ {stem} (actual)\n{actual}"
            ));
        }
        checked += 1;
    }
    assert!(
        mismatches.is_empty(),
        "{} of {checked} broken files gave other errors (HAMSTR_BLESS=1 regenerates):\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    assert!(should_bless || checked >= 20, "only {checked} broken files");
}

/// `render` shows the file, line and column, the source line with a caret under the offending
/// text, the message and a help line, as rustc does.
#[test]
fn render_shows_the_source_line_with_a_caret() {
    let source = "services:\n  mollie:\n    bse_url: https://api.mollie.com/v2/\n";
    let error = config::parse_with_env(source, "hamstr.yml", &environment).unwrap_err();
    let rendered = error.render();
    let expected = "\
error: service `mollie` has no `base_url`
 --> hamstr.yml:2:3
  |
2 |   mollie:
  |   ^^^^^^
  |
  = help: add `base_url: https://api.example.com/v1/`

error: unknown key `bse_url` in service `mollie`
 --> hamstr.yml:3:5
  |
3 |     bse_url: https://api.mollie.com/v2/
  |     ^^^^^^^
  |
  = help: did you mean `base_url`? allowed keys: `base_url`, `auth`, `api_key`, `headers`, `params`, `paginator`, `records`, `timeout`, `connect_timeout`, `user_agent`, `max_body_bytes`, `allow_insecure_http`, `retry`, `limits`, `conditional_requests`, `pages_in_flight`, `empty_pages`, `xml` or `collectors`";
    assert_eq!(rendered, expected);
    assert_eq!(error.diagnostics().len(), 2);
}
