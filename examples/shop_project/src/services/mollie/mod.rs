//! The payment provider: online orders are paid here.

pub(crate) mod collectors;
pub(crate) mod conf;
pub(crate) mod models;
