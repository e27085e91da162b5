//! What to collect from the till.

use hamstr::Collector;

use super::models::Order;

/// Every order, every 10 seconds.
#[derive(Collector)]
#[hamstr(service = "shop", endpoint = "orders", model = Order, interval = "10s")]
pub(crate) struct OrdersCollector;
