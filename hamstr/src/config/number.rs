//! Numbers with bounds, read by the [`Checker`]: a whole number in a range (`max_attempts`, an
//! HTTP status) and a share of a whole (`max_quota_fraction`). Kept apart from `value.rs`, which
//! holds the readers every section uses.

use std::ops::RangeInclusive;

use marked_yaml::Node;

use super::value::Checker;

impl Checker<'_> {
    /// A whole number in `range`; `help` says what a number out of it would mean.
    pub(super) fn whole_number_in(
        &mut self,
        node: &Node,
        what: &str,
        range: RangeInclusive<u64>,
        help: Option<&str>,
    ) -> Option<u64> {
        let text = self.text(node, what)?;
        let number = text.value.trim().parse::<u64>().ok();
        if let Some(number) = number.filter(|number| range.contains(number)) {
            return Some(number);
        }
        let (start, end) = (*range.start(), *range.end());
        // An upper bound no one comes near is left out of the message, unless it was passed.
        let is_end_remote = end >= u64::from(u32::MAX);
        let message = match number {
            Some(number) if number > end && is_end_remote => {
                format!("{what} must be at most {end}, found {}", text.shown())
            }
            _ if is_end_remote => {
                format!(
                    "{what} must be a whole number from {start}, found {}",
                    text.shown()
                )
            }
            _ => format!(
                "{what} must be a whole number from {start} to {end}, found {}",
                text.shown()
            ),
        };
        let place = self.place_of(node);
        self.report(place, message, help.map(str::to_owned));
        None
    }

    /// A share of a whole: a number above 0 and at most 1 (`0.5`, `1`).
    pub(super) fn fraction(&mut self, node: &Node, what: &str, help: &str) -> Option<f64> {
        let text = self.text(node, what)?;
        match text.value.trim().parse::<f64>() {
            // NaN fails both comparisons.
            Ok(fraction) if fraction > 0.0 && fraction <= 1.0 => Some(fraction),
            _ => {
                let place = self.place_of(node);
                self.report(
                    place,
                    format!(
                        "{what} must be a number above 0 and at most 1, found {}",
                        text.shown()
                    ),
                    help.to_owned(),
                );
                None
            }
        }
    }
}
