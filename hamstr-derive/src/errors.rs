//! Collects every error of one derive, each with its span, so that all are reported at once.

use std::{cell::RefCell, fmt::Display, thread};

use quote::ToTokens;

/// The errors found so far. [`finish`](Self::finish) must be called: dropping it unfinished
/// would lose errors, so that panics (in the macro, a bug of ours, not of the user's code).
pub(crate) struct Errors {
    errors: RefCell<Option<Vec<syn::Error>>>,
}

impl Errors {
    pub(crate) fn new() -> Self {
        Self {
            errors: RefCell::new(Some(Vec::new())),
        }
    }

    /// Records `error` and goes on.
    pub(crate) fn push(&self, error: syn::Error) {
        self.errors
            .borrow_mut()
            .as_mut()
            .expect("errors are collected until finish")
            .push(error);
    }

    /// Records `message` at the span of `tokens`.
    pub(crate) fn error_at(&self, tokens: impl ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// All errors as one, or `Ok` when there were none.
    pub(crate) fn finish(self) -> syn::Result<()> {
        let errors = self
            .errors
            .borrow_mut()
            .take()
            .expect("finish is called once");
        let mut errors = errors.into_iter();
        let Some(mut combined) = errors.next() else {
            return Ok(());
        };
        for error in errors {
            combined.combine(error);
        }
        Err(combined)
    }
}

impl Drop for Errors {
    fn drop(&mut self) {
        if !thread::panicking() && self.errors.borrow().is_some() {
            panic!("hamstr-derive: errors were collected but never finished");
        }
    }
}
