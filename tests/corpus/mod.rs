//! Real concurrency bugs from Go projects, restated with knot.
//!
//! Each module is one bug of the GoBench suite's GoKer kernels (CGO 2021),
//! named after the project and the upstream pull request that fixed it: the
//! buggy program, which the checker must report with the stated kind, and
//! the fixed one, which must get no report. The modules are grouped as the
//! corpus notes group them.

use knot::ReportKind;

pub mod communication;
pub mod misuse;
pub mod mixed;
pub mod races;
pub mod resource;

/// One bug of the corpus.
#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// The bug's id, such as `"etcd-10492"`.
    pub id: &'static str,
    /// What kind of bug it is, as the corpus notes classify it.
    pub subtype: &'static str,
    /// The kind of report the checker must make for `buggy`.
    pub expected: ReportKind,
    /// The program with the bug; a checker's main closure.
    pub buggy: fn(),
    /// The program with the upstream fix.
    pub fixed: fn(),
}

/// Every bug of the corpus, in the order of the corpus notes.
pub fn entries() -> Vec<Entry> {
    [
        resource::ENTRIES,
        communication::ENTRIES,
        mixed::ENTRIES,
        races::ENTRIES,
        misuse::ENTRIES,
    ]
    .concat()
}
