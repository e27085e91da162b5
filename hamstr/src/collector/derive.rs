//! What `#[derive(Collector)]` calls its callbacks through: one trait per callback, implemented
//! for every function with the right signature, so a function with another signature is an
//! error at its name in the attribute, saying the signature to write.

use std::{future::Future, pin::Pin};

use super::{BoxError, CollectError, RecordBatch};

/// A function that `#[hamstr(on_records = ...)]` can name, for collector `C` with model `M`:
/// an `async fn(&C, RecordBatch<M>) -> Result<(), BoxError>` (a method `async fn(&self, ...)`
/// is one). hamstr implements it for every such function; you do not implement it.
#[diagnostic::on_unimplemented(
    message = "`on_records` takes an `async fn(&{C}, RecordBatch<{M}>) -> Result<(), BoxError>`",
    label = "expected `async fn(&{C}, RecordBatch<{M}>) -> Result<(), BoxError>`",
    note = "`RecordBatch` and `BoxError` are in `hamstr::collector`"
)]
pub trait OnRecords<'a, C, M> {
    /// Calls the function. The future is boxed (as `async_trait` boxes `on_records`'s anyway),
    /// so its type does not depend on the function's: a function that returns something else
    /// is this trait's error alone, not also a mismatch in the derive's code.
    fn call(
        self,
        collector: &'a C,
        batch: RecordBatch<M>,
    ) -> Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send + 'a>>;
}

#[diagnostic::do_not_recommend]
impl<'a, C, M, F, Fut> OnRecords<'a, C, M> for F
where
    C: 'a,
    F: FnOnce(&'a C, RecordBatch<M>) -> Fut,
    Fut: Future<Output = Result<(), BoxError>> + Send + 'a,
{
    fn call(
        self,
        collector: &'a C,
        batch: RecordBatch<M>,
    ) -> Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send + 'a>> {
        Box::pin(self(collector, batch))
    }
}

/// A function that `#[hamstr(on_error = ...)]` can name, for collector `C`: a
/// `fn(&C, &CollectError)` (a method `fn(&self, ...)` is one). hamstr implements it for every
/// such function; you do not implement it.
#[diagnostic::on_unimplemented(
    message = "`on_error` takes a `fn(&{C}, &CollectError)`",
    label = "expected `fn(&{C}, &CollectError)`",
    note = "`CollectError` is `hamstr::CollectError`"
)]
pub trait OnError<C> {
    /// Calls the function.
    fn call(self, collector: &C, error: &CollectError);
}

#[diagnostic::do_not_recommend]
impl<C, F> OnError<C> for F
where
    F: FnOnce(&C, &CollectError),
{
    fn call(self, collector: &C, error: &CollectError) {
        self(collector, error);
    }
}
