//! The derives' compile-time behaviour: every attribute compiles (pass cases, written with no
//! imports, so the expansion is hygienic), and every mistake is an error at the offending token
//! with a message that says what is allowed (fail cases, with their `.stderr` snapshots).
//!
//! Regenerate snapshots with `TRYBUILD=overwrite cargo test -p hamstr-tests --test ui`, then read
//! the diff. They belong to CI's compiler, so other compilers skip this test.

#[rustversion::attr(not(stable(1.95)), ignore)]
#[test]
fn derive_macros() {
    let cases = trybuild::TestCases::new();
    cases.pass("ui/model/pass_*.rs");
    cases.pass("ui/collector/pass_*.rs");
    cases.compile_fail("ui/model/fail_*.rs");
    cases.compile_fail("ui/collector/fail_*.rs");
}
