//! Derive macros for hamstr. Depend on `hamstr` and use them through it.
//!
//! `#[derive(Model)]` and `#[derive(Collector)]` arrive with the models and collectors work;
//! this crate exists now so that the workspace layout, and the exact version pin between
//! `hamstr` and `hamstr-derive`, are fixed from the start.
