//! The shop's till: orders placed at the counter.

pub(crate) mod collectors;
pub(crate) mod conf;
pub(crate) mod models;
