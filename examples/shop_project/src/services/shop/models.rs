//! The till's records.

use chrono::{DateTime, Utc};
use hamstr::Model;
use serde::Deserialize;

/// An order placed at the counter; `items` is stored as JSON.
#[derive(Model, Deserialize, Debug)]
#[hamstr(name = "shop_orders")]
pub(crate) struct Order {
    pub(crate) id: i64,
    pub(crate) placed_at: DateTime<Utc>,
    pub(crate) items: Vec<String>,
    pub(crate) total_cents: i64,
    pub(crate) paid_cash: bool,
    pub(crate) note: Option<String>,
}
