//! Whatever the file holds, parsing returns (a project or errors), quickly, without a panic, a
//! hang or a stack overflow: thousands of mutated valid files, and a few built to hurt.

use std::time::{Duration, Instant};

use hamstr::config::{self, ConfigError};

use crate::{SHOP, environment};

/// Valid files to mutate, between them using every kind of key.
const SEEDS: [&str; 4] = [
    SHOP,
    "name: other
storage: jsonl://out
services:
  github:
    base_url: https://api.github.com/
    api_key: \"${GITHUB_TOKEN:-none}\"
    headers:
      Accept: application/vnd.github+json
    params: {per_page: 100}
    paginator: LinkHeaderPaginator
    timeout: {seconds: 30}
    collectors:
      /repos/rust-lang/rust/issues:
        name: issues
        interval: {hours: 1, minutes: 30}
        incremental: {strategy: cursor_field, field: updated_at, param: since, lookback: 10m}
        model:
          id: {type: integer}
          title: string
          user.login: {type: string, column: author, required: true}
          labels: json
          created_at: datetime
        primary_key: [id]
  stripe:
    base_url: https://api.stripe.com/v1/
    auth:
      basic: {username: sk_test, password: \"${STRIPE:-x}\"}
    paginator: {type: cursor, path: data.-1.id, param: starting_after, has_more_path: has_more, size_param: limit, size: 100}
    records: data
",
    "services:
  - not: a mapping
  shop: {base_url: 'http://localhost:8080', paginator: {type: offset, limit: 50}, collectors: {/o: {model: {id: string}}}}
",
    "files:
  orders:
    path: data/orders.tsv
    delimiter: \\t
    key: [shop, id]
    page_size: 500
    interval: 1h
    incremental: {strategy: append}
    model: {shop: string, id: integer, price: float}
    primary_key: [shop, id]
  events: {path: \"${EVENTS:-events.log}\", format: jsonl, model: {_row: integer}, primary_key: _row}
",
];

/// Characters a mutation inserts: YAML's indicators, whitespace, line breaks, and a few that
/// parsers stumble on.
const ALPHABET: &[char] = &[
    '{', '}', '[', ']', ':', ',', '-', '?', '&', '*', '!', '|', '>', '\'', '"', '#', '%', '@', '`',
    '$', ' ', ' ', ' ', '\t', '\n', '\n', '\r', 'a', 'z', '0', '9', '.', '_', '\\', 'é', '\u{0}',
    '\u{feff}', '\u{2028}',
];

/// A small deterministic generator (xorshift64*), so a failure can be replayed by its case number.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, bound: usize) -> usize {
        // The remainder's bias is irrelevant here.
        (self.next() % bound.max(1) as u64) as usize
    }
}

/// One to four random edits of `source`: delete, duplicate or swap lines, insert characters,
/// change indentation, cut the file short.
fn mutate(source: &str, random: &mut Random) -> String {
    let mut lines: Vec<String> = source.lines().map(str::to_owned).collect();
    for _ in 0..=random.below(4) {
        let count = lines.len();
        let line = random.below(count);
        match random.below(7) {
            0 if count > 1 => {
                lines.remove(line);
            }
            1 => {
                let copy = lines[line].clone();
                lines.insert(random.below(count + 1), copy);
            }
            2 => lines.swap(line, random.below(count)),
            3 | 4 => {
                let text: &mut String = &mut lines[line];
                let characters: Vec<char> = text.chars().collect();
                let at = random.below(characters.len() + 1);
                let inserted: String = (0..=random.below(3))
                    .map(|_| ALPHABET[random.below(ALPHABET.len())])
                    .collect();
                *text = characters[..at]
                    .iter()
                    .chain(inserted.chars().collect::<Vec<_>>().iter())
                    .chain(&characters[at..])
                    .collect();
            }
            5 => {
                let text = &mut lines[line];
                if random.below(2) == 0 {
                    text.insert_str(0, &" ".repeat(1 + random.below(4)));
                } else {
                    let trimmed = text.trim_start().to_owned();
                    let indent = (text.len() - trimmed.len()).saturating_sub(1 + random.below(4));
                    *text = format!("{}{trimmed}", " ".repeat(indent));
                }
            }
            _ => {
                let text = &mut lines[line];
                let keep = random.below(text.chars().count() + 1);
                *text = text.chars().take(keep).collect();
            }
        }
        if lines.is_empty() {
            lines.push(String::new());
        }
    }
    lines.join("\n")
}

/// Parses `source` and uses every output of the result; returns how long the parse took.
fn parse_all_the_way(source: &str) -> (Result<(), ConfigError>, Duration) {
    let started = Instant::now();
    let result = config::parse_with_env(source, "fuzz.yml", &environment);
    let elapsed = started.elapsed();
    match result {
        Ok(project) => {
            let _ = format!("{project:?}");
            (Ok(()), elapsed)
        }
        Err(error) => {
            assert!(!error.diagnostics().is_empty());
            let _ = (error.to_string(), error.render(), format!("{error:?}"));
            (Err(error), elapsed)
        }
    }
}

/// Thousands of mutated valid files each parse to a project or errors, without a panic, and
/// never slowly. `HAMSTR_FUZZ_CASES` and `HAMSTR_FUZZ_SEED` run more cases or others.
#[test]
fn mutated_files_never_panic() {
    let setting = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|value| value.parse().ok())
            .unwrap_or(default)
    };
    let cases = setting("HAMSTR_FUZZ_CASES", 6_000) as usize;
    let mut random = Random(setting("HAMSTR_FUZZ_SEED", 0x9e37_79b9_7f4a_7c15) | 1);
    let mut slowest = Duration::ZERO;
    let mut errors = 0;
    for case in 0..cases {
        let seed = SEEDS[case % SEEDS.len()];
        let source = mutate(seed, &mut random);
        let (result, elapsed) = parse_all_the_way(&source);
        if let Err(error) = result {
            errors += 1;
            assert!(
                !error.to_string().contains("the YAML parser failed"),
                "case {case}: the parser panicked on:\n{source}"
            );
        }
        slowest = slowest.max(elapsed);
    }
    // Debug builds are slow; a hang or a quadratic blow-up is far slower still.
    assert!(
        slowest < Duration::from_secs(1),
        "slowest parse took {slowest:?}"
    );
    // The mutations must reach the error paths, or this proves little.
    assert!(
        errors > cases / 3,
        "only {errors} of {cases} mutated files were broken"
    );
}

/// Text made only of YAML's indicators, whitespace and a few letters reaches parser states no
/// mutated project does; it too gives a project or errors, without a panic.
#[test]
fn random_text_never_panics() {
    let mut random = Random(0x2545_f491_4f6c_dd1d);
    for case in 0..4_000 {
        let length = random.below(120);
        let source: String = (0..length)
            .map(|_| ALPHABET[random.below(ALPHABET.len())])
            .collect();
        let (result, elapsed) = parse_all_the_way(&source);
        if let Err(error) = result {
            assert!(
                !error.to_string().contains("the YAML parser failed"),
                "case {case}: the parser panicked on {source:?}"
            );
        }
        assert!(
            elapsed < Duration::from_secs(1),
            "case {case} took {elapsed:?}"
        );
    }
}

/// Files built to hurt a parser (deep nesting every way, a billion laughs, a megabyte of
/// brackets) give errors, fast.
#[test]
fn hostile_files_give_errors_not_crashes() {
    let deep_indentation: String = (0..2_000)
        .map(|level| format!("{}k:\n", " ".repeat(level)))
        .collect();
    let billion_laughs =
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
services: [*d,*d,*d,*d,*d,*d,*d,*d,*d]
";
    let hostile = [
        "[".repeat(1 << 20),
        "[".repeat((1 << 20) + 1),
        format!("a: {}", "{b: ".repeat(300_000)),
        "- ".repeat(400_000),
        format!("x:\n{}", "- ".repeat(400_000)),
        deep_indentation,
        billion_laughs.to_owned(),
        "*unknown_alias".to_owned(),
        "a: *unknown".to_owned(),
        "a: &anchor b\nc: *anchor\n".to_owned(),
        "? [a, b]\n: c\n".to_owned(),
        "\u{0}".repeat(1000),
        "'".repeat(100_000),
        "\"".repeat(100_001),
        format!("a: \"{}", "\\".repeat(500_001)),
        "%YAML 1.2\n---\na: 1\n".to_owned(),
        "--- !tag\na: 1\n".to_owned(),
        ": : : : :".repeat(10_000),
        "a: |\n".to_owned() + &"  line\n".repeat(50_000),
        "a:\n\tb: 1\n".to_owned(),
        "\r".repeat(1000),
        "\u{feff}services: {}".to_owned(),
    ];
    for (index, source) in hostile.iter().enumerate() {
        let (result, elapsed) = parse_all_the_way(source);
        let error = result.expect_err("a hostile file must not parse");
        assert!(
            !error.to_string().contains("the YAML parser failed"),
            "hostile file {index}: the parser panicked"
        );
        assert!(
            elapsed < Duration::from_secs(5),
            "hostile file {index} took {elapsed:?}"
        );
    }
}
