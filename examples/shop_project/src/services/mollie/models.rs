//! The payment provider's records.

use chrono::{DateTime, Utc};
use hamstr::Model;
use serde::{Deserialize, Serialize};

/// A payment; `amount` and `metadata` are stored as JSON.
#[derive(Model, Deserialize, Debug)]
#[hamstr(name = "payments")]
pub(crate) struct Payment {
    #[hamstr(primary_key)]
    pub(crate) id: String,
    #[serde(rename = "createdAt")]
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) amount: Amount,
    pub(crate) description: Option<String>,
    pub(crate) method: String,
    pub(crate) status: String,
    pub(crate) metadata: Option<serde_json::Value>,
}

/// A payment still waiting for the customer, kept in a table of its own.
#[derive(Model, Deserialize, Debug)]
#[hamstr(name = "open_payments")]
pub(crate) struct OpenPayment {
    pub(crate) id: String,
    #[serde(rename = "createdAt")]
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) status: String,
}

#[derive(Serialize, Deserialize, Debug)]
pub(crate) struct Amount {
    pub(crate) value: String,
    pub(crate) currency: String,
}
