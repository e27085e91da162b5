//! The total order of [`Cell`]s: how stores that sort in memory order and compare rows.

use std::cmp::Ordering;

use super::Cell;

impl Cell {
    /// Compares two cells in the order every backend sorts a column by.
    ///
    /// - Null is lowest.
    /// - Numbers compare as numbers, an [`Integer`](Cell::Integer) with a
    ///   [`Float`](Cell::Float) too (exactly, without rounding the integer); `-0.0` equals `0.0`,
    ///   and NaN is above every other number.
    /// - Text compares byte by byte (as SQLite's default collation does), date times as
    ///   instants, dates as days, booleans `false` before `true`, JSON by its text.
    /// - Cells of different kinds, which one column does not hold, order by kind: null, bool,
    ///   number, text, JSON, date time, date.
    ///
    /// Unlike the derived [`PartialOrd`], which compares the variant first and has no answer for
    /// NaN, this order is total and compares `Integer(2)` with `Float(1.5)` as numbers.
    ///
    /// # Examples
    /// ```
    /// use std::cmp::Ordering;
    /// use hamstr::model::Cell;
    /// assert_eq!(Cell::Null.total_cmp(&Cell::Integer(i64::MIN)), Ordering::Less);
    /// assert_eq!(Cell::Integer(2).total_cmp(&Cell::Float(1.5)), Ordering::Greater);
    /// assert_eq!(Cell::String("apple".into()).total_cmp(&Cell::String("banana".into())), Ordering::Less);
    /// ```
    pub fn total_cmp(&self, other: &Cell) -> Ordering {
        match (self, other) {
            (Self::Null, Self::Null) => Ordering::Equal,
            (Self::Bool(left), Self::Bool(right)) => left.cmp(right),
            (Self::Integer(left), Self::Integer(right)) => left.cmp(right),
            (Self::Float(left), Self::Float(right)) => compare_floats(*left, *right),
            (Self::Integer(left), Self::Float(right)) => compare_integer_to_float(*left, *right),
            (Self::Float(left), Self::Integer(right)) => {
                compare_integer_to_float(*right, *left).reverse()
            }
            (Self::String(left), Self::String(right)) | (Self::Json(left), Self::Json(right)) => {
                left.cmp(right)
            }
            (Self::DateTime(left), Self::DateTime(right)) => left.cmp(right),
            (Self::Date(left), Self::Date(right)) => left.cmp(right),
            _ => self.kind_rank().cmp(&other.kind_rank()),
        }
    }

    /// Where the cell's kind sorts among the kinds.
    fn kind_rank(&self) -> u8 {
        match self {
            Self::Null => 0,
            Self::Bool(_) => 1,
            Self::Integer(_) | Self::Float(_) => 2,
            Self::String(_) => 3,
            Self::Json(_) => 4,
            Self::DateTime(_) => 5,
            Self::Date(_) => 6,
        }
    }
}

/// Numbers in order, `-0.0` equal to `0.0` (as SQL has them), NaN above all.
fn compare_floats(left: f64, right: f64) -> Ordering {
    match (left.is_nan(), right.is_nan()) {
        (false, false) => left.partial_cmp(&right).expect("neither is NaN"),
        (is_left_nan, is_right_nan) => is_left_nan.cmp(&is_right_nan),
    }
}

/// `integer` against `float` without converting the integer to a float, which would round
/// integers beyond 2^53.
fn compare_integer_to_float(integer: i64, float: f64) -> Ordering {
    // 2^63: the first float above every i64; -2^63 is i64::MIN itself.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if float.is_nan() || float >= LIMIT {
        return Ordering::Less;
    }
    if float < -LIMIT {
        return Ordering::Greater;
    }
    let whole = float.trunc();
    // In range, so the conversion is exact.
    let whole_integer = whole as i64;
    integer.cmp(&whole_integer).then_with(|| {
        let fraction = float - whole;
        if fraction > 0.0 {
            Ordering::Less
        } else if fraction < 0.0 {
            Ordering::Greater
        } else {
            Ordering::Equal
        }
    })
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone, Utc};

    use super::*;

    fn sorted(mut cells: Vec<Cell>) -> Vec<Cell> {
        cells.sort_by(Cell::total_cmp);
        cells
    }

    #[test]
    fn numbers_compare_as_numbers_with_null_lowest() {
        let cells = sorted(vec![
            Cell::Float(f64::NAN),
            Cell::Integer(3),
            Cell::Float(2.5),
            Cell::Null,
            Cell::Integer(-7),
            Cell::Float(f64::NEG_INFINITY),
        ]);
        assert!(matches!(cells[0], Cell::Null));
        assert_eq!(cells[1], Cell::Float(f64::NEG_INFINITY));
        assert_eq!(cells[2..4], [Cell::Integer(-7), Cell::Float(2.5)]);
        assert_eq!(cells[4], Cell::Integer(3));
        assert!(matches!(cells[5], Cell::Float(value) if value.is_nan()));
        assert_eq!(
            Cell::Float(-0.0).total_cmp(&Cell::Float(0.0)),
            Ordering::Equal
        );
        assert_eq!(
            Cell::Integer(5).total_cmp(&Cell::Float(5.0)),
            Ordering::Equal
        );
    }

    #[test]
    fn large_integers_are_not_rounded_against_floats() {
        // 2^53 + 1 is no float: converting it would make it equal to 2^53.
        let above = (1_i64 << 53) + 1;
        let float = (1_i64 << 53) as f64;
        assert_eq!(
            Cell::Integer(above).total_cmp(&Cell::Float(float)),
            Ordering::Greater
        );
        assert_eq!(
            Cell::Integer(i64::MAX).total_cmp(&Cell::Float(9.3e18)),
            Ordering::Less
        );
        assert_eq!(
            Cell::Integer(i64::MIN).total_cmp(&Cell::Float(-9.3e18)),
            Ordering::Greater
        );
        assert_eq!(
            Cell::Integer(-2).total_cmp(&Cell::Float(-1.5)),
            Ordering::Less
        );
        assert_eq!(
            Cell::Integer(-1).total_cmp(&Cell::Float(-1.5)),
            Ordering::Greater
        );
    }

    #[test]
    fn text_dates_and_kinds_have_their_order() {
        let early = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        // Later by half a second, though its RFC 3339 text ("…00.500Z") sorts before "…00Z".
        let later = early + chrono::Duration::milliseconds(500);
        assert_eq!(
            Cell::DateTime(early).total_cmp(&Cell::DateTime(later)),
            Ordering::Less
        );
        let day = |day| Cell::Date(NaiveDate::from_ymd_opt(2026, 1, day).unwrap());
        assert_eq!(day(2).total_cmp(&day(10)), Ordering::Less);
        assert_eq!(
            Cell::String("Zebra".into()).total_cmp(&Cell::String("apple".into())),
            Ordering::Less
        );
        assert_eq!(
            Cell::Json("[1]".into()).total_cmp(&Cell::Json("[2]".into())),
            Ordering::Less
        );
        let kinds = sorted(vec![
            day(1),
            Cell::DateTime(early),
            Cell::Json("{}".into()),
            Cell::String("text".into()),
            Cell::Integer(1),
            Cell::Bool(true),
            Cell::Bool(false),
            Cell::Null,
        ]);
        let ranks: Vec<u8> = kinds.iter().map(Cell::kind_rank).collect();
        assert_eq!(ranks, [0, 1, 1, 2, 3, 4, 5, 6]);
        assert_eq!(kinds[1], Cell::Bool(false));
    }
}
