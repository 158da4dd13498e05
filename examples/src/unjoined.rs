//! Main returns while its worker is still working.
//!
//! A request handler hands the audit record of a login to a background
//! task, "audit writer", so that the slow write does not delay the answer,
//! and returns.
//!
//! # The bug
//!
//! [`buggy`] never waits for the writer. Main returns as soon as the task is
//! started, so the write happens, if at all, after main is gone. In Go,
//! returning from `main` ends the process and every goroutine with it: the
//! audit record is silently lost. In Rust with `std::thread` the same thing
//! happens at process exit. Tests rarely notice, because nothing checks the
//! log after main has returned.
//!
//! knot notices. When main returns it looks at every task that is not a
//! daemon: one that still takes a lock, raises a counter or writes after that
//! point did work that would be lost, and the report names it, with the
//! operation and the line.
//!
//! # The fix
//!
//! [`fixed`] keeps the [`JoinHandle`](knot::JoinHandle) and joins it before
//! returning: main answers only once the record is written. (A task that is
//! *meant* to outlive main, such as a metrics flusher, is started with
//! `knot::task::Builder::new().daemon(true)` instead, which tells knot so.)

use std::sync::Arc;

use knot::sync::Mutex;
use knot::ReportKind;

/// One line that says what this example shows.
pub const ABOUT: &str = "main hands a write to a background task and returns without joining it";

/// What the checker reports for [`buggy`]: the writer works after main
/// returned.
pub const EXPECTED: ReportKind = ReportKind::Unjoined;

/// The program with the bug: the writer's handle is dropped, never joined.
pub fn buggy() {
    let audit_log = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&audit_log);
    // BUG: the handle is kept in a variable but never joined.
    let _writer = knot::task::Builder::new()
        .name("audit writer")
        .spawn(move || log.lock().push("user 42 logged in"));
    // Main answers the request and returns; the record is still unwritten.
}

/// The same program, fixed: main joins the writer before it returns.
pub fn fixed() {
    let audit_log = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&audit_log);
    let writer = knot::task::Builder::new()
        .name("audit writer")
        .spawn(move || log.lock().push("user 42 logged in"));
    writer.join().expect("the audit writer does not panic");
    assert_eq!(*audit_log.lock(), ["user 42 logged in"]);
}
