//! "Did you mean": the allowed word closest to a misspelt one, by edit distance; and the lists of
//! words a message names.

/// Longer words are not compared: the distance costs their lengths multiplied, and a key that
/// long is not a typo of a short one.
const MAX_COMPARED: usize = 64;

/// The candidate closest to `word`, if it is close enough to be a likely typo: at most a third
/// of the word's characters differ (at least one may), ignoring case.
pub(super) fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    if word.chars().count() > MAX_COMPARED {
        return None;
    }
    let word = word.to_lowercase();
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .iter()
        .map(|candidate| (distance(&word, &candidate.to_lowercase()), *candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// The list of `candidates` as help: "`a`, `b` or `c`".
pub(super) fn one_of(candidates: &[&str]) -> String {
    let quoted: Vec<String> = candidates
        .iter()
        .map(|candidate| format!("`{candidate}`"))
        .collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// The keys that are all needed, as a message names them: "`a`", "`a` and `b`".
pub(super) fn and_list(keys: &[&str]) -> String {
    let quoted: Vec<String> = keys.iter().map(|key| format!("`{key}`")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => quoted.concat(),
    }
}

/// "did you mean `x`? allowed: ..." or just "allowed: ...".
pub(super) fn help(word: &str, candidates: &[&str], allowed: &str) -> String {
    match closest(word, candidates) {
        Some(candidate) => format!(
            "did you mean `{candidate}`? {allowed}: {}",
            one_of(candidates)
        ),
        None => format!("{allowed}: {}", one_of(candidates)),
    }
}

/// Edit distance over characters: insertions, deletions, substitutions, and swaps of two
/// neighbours (`modle` is one edit from `model`), each counting one (optimal string alignment).
fn distance(left: &str, right: &str) -> usize {
    let left: Vec<char> = left.chars().collect();
    let right: Vec<char> = right.chars().collect();
    // table[i][j]: the distance between the first i characters of `left` and the first j of
    // `right`. Words are at most `MAX_COMPARED` long, so the whole table is small.
    let mut table = vec![vec![0usize; right.len() + 1]; left.len() + 1];
    for (i, row) in table.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in table[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=left.len() {
        for j in 1..=right.len() {
            let cost = usize::from(left[i - 1] != right[j - 1]);
            let mut best = (table[i - 1][j] + 1)
                .min(table[i][j - 1] + 1)
                .min(table[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && left[i - 1] == right[j - 2] && left[i - 2] == right[j - 1] {
                best = best.min(table[i - 2][j - 2] + 1);
            }
            table[i][j] = best;
        }
    }
    table[left.len()][right.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_single_character_edits() {
        assert_eq!(distance("", ""), 0);
        assert_eq!(distance("abc", ""), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("bse_url", "base_url"), 1);
        assert_eq!(distance("paginatr", "paginator"), 1);
        assert_eq!(distance("modle", "model"), 1);
    }

    #[test]
    fn closest_suggests_only_likely_typos() {
        let keys = ["base_url", "auth", "headers", "paginator"];
        assert_eq!(closest("bse_url", &keys), Some("base_url"));
        assert_eq!(closest("Headers", &keys), Some("headers"));
        assert_eq!(closest("colour", &keys), None);
        assert_eq!(closest("atuh", &keys), Some("auth"));
        assert_eq!(closest(&"x".repeat(1000), &keys), None);
    }

    #[test]
    fn one_of_lists_with_or() {
        assert_eq!(one_of(&[]), "");
        assert_eq!(one_of(&["a"]), "`a`");
        assert_eq!(one_of(&["a", "b", "c"]), "`a`, `b` or `c`");
    }

    #[test]
    fn and_list_lists_with_and() {
        assert_eq!(and_list(&["a"]), "`a`");
        assert_eq!(and_list(&["a", "b", "c"]), "`a`, `b` and `c`");
    }
}
