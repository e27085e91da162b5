//! HTTP layer tests.
