//! Whole-program tests of knot live in `tests/`; this library holds the bug
//! corpus so that the test suite and the benchmarks share it, and the helpers
//! that the test files share.

#[path = "../corpus/mod.rs"]
pub mod corpus;
pub mod support;
