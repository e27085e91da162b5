use std::{cmp::Ordering, time::Duration};

use super::{State, compare_marks, newer, strategy::look_back};

/// Numbers compare as numbers, datetimes as instants whatever their offsets, the rest as text.
#[test]
fn marks_compare_by_what_they_hold() {
    assert_eq!(compare_marks("9", "10"), Ordering::Less);
    assert_eq!(compare_marks("1.5", "10"), Ordering::Less);
    assert_eq!(
        compare_marks("2026-01-01T10:00:00+02:00", "2026-01-01T09:00:00Z"),
        Ordering::Less
    );
    assert_eq!(
        compare_marks("2026-01-01T09:00:00.5Z", "2026-01-01T09:00:00Z"),
        Ordering::Greater
    );
    assert_eq!(compare_marks("tr_b", "tr_a"), Ordering::Greater);
    assert_eq!(newer(Some("10".into()), "9"), Some("10".into()));
    assert_eq!(newer(Some("9".into()), "10"), Some("10".into()));
    assert_eq!(newer(None, "a"), Some("a".into()));
}

/// A look-back window moves a datetime back keeping its offset, and epoch seconds back by its
/// seconds; other text has no earlier value.
#[test]
fn look_back_moves_datetimes_and_epoch_seconds() {
    let hour = Duration::from_secs(3600);
    assert_eq!(
        look_back("2026-03-01T00:30:00Z", hour).as_deref(),
        Some("2026-02-28T23:30:00Z")
    );
    assert_eq!(
        look_back("2026-03-01T10:00:00.250+02:00", hour).as_deref(),
        Some("2026-03-01T09:00:00.250+02:00")
    );
    assert_eq!(look_back("1700003600", hour).as_deref(), Some("1700000000"));
    assert_eq!(look_back("tr_abc", hour), None);
}

/// A state saved by an older version (with fields this one does not know, or without ones it
/// does) still loads.
#[test]
fn states_load_across_versions() {
    let old = r#"{"checkpoint":"http://127.0.0.1/x?page=2","last_run":"2026-01-01T00:00:00Z"}"#;
    let state: State = serde_json::from_str(old).unwrap();
    assert!(state.walk.is_none());
    assert!(state.last_run.is_some());
}
