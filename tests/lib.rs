//! Helpers shared by hamstr's integration test binaries.
