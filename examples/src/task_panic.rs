//! A fire-and-forget task panics on bad input, and nobody hears about it.
//!
//! Main parses a batch of quantities, one task per entry, and adds them up.
//! One entry has a typo: `"4O"`, with the letter O for a zero.
//!
//! # The bug
//!
//! [`buggy`] starts each task with [`knot::go`], Go style, and counts them
//! with a [`WaitGroup`]. The task that gets `"4O"` panics in `unwrap`, so it
//! never reaches `done`: the counter never drops to zero and main waits
//! forever. Nobody holds a handle to the task, so nobody can learn that it
//! panicked or why. In Go a panicking goroutine takes the whole process
//! down; with threads, the panic message is printed and the thread is gone;
//! either way, the caller gets no error it could handle.
//!
//! knot reports a panic that nobody joined as a bug in its own right: the
//! report names the task, where it was spawned, the panic message and the
//! line that panicked, and it shows main stuck in `wait` because of it.
//!
//! # The fix
//!
//! [`fixed`] makes bad input an ordinary value: each task returns a
//! `Result`, main keeps the [`JoinHandle`](knot::JoinHandle)s (which also
//! replace the `WaitGroup`: joining a task waits for it), and handles each
//! outcome: it adds the quantities that parsed and collects the entries that
//! did not, to report them. A panic that still happened (a bug, not bad
//! input) would come back through `join` as an error, and main passes it on.

use std::sync::Arc;

use knot::sync::atomic::{AtomicU32, Ordering};
use knot::sync::WaitGroup;
use knot::ReportKind;

/// One line that says what this example shows.
pub const ABOUT: &str =
    "a fire-and-forget task panics on bad input; main never learns and waits forever";

/// What the checker reports for [`buggy`]: a task panicked and nobody joined
/// it.
pub const EXPECTED: ReportKind = ReportKind::Panic;

/// The batch; the last entry has a letter O where a zero should be.
const ENTRIES: [&str; 3] = ["12", "7", "4O"];

/// The program with the bug: a task that panics cannot tell anyone.
pub fn buggy() {
    let total = Arc::new(AtomicU32::new(0));
    let wg = WaitGroup::new();
    for entry in ENTRIES {
        wg.add(1);
        let total = Arc::clone(&total);
        let wg = wg.clone();
        knot::go(move || {
            // BUG: bad input panics, and then `done` never runs.
            let quantity: u32 = entry.parse().unwrap();
            total.fetch_add(quantity, Ordering::SeqCst);
            wg.done();
        });
    }
    wg.wait();
    let _total = total.load(Ordering::SeqCst);
}

/// The same program, fixed: bad input is an error value that main joins and
/// handles.
pub fn fixed() {
    let parsers: Vec<_> = ENTRIES
        .into_iter()
        .map(|entry| (entry, knot::spawn(move || entry.parse::<u32>())))
        .collect();
    let mut total = 0;
    let mut rejected = Vec::new();
    for (entry, parser) in parsers {
        match parser.join() {
            Ok(Ok(quantity)) => total += quantity,
            Ok(Err(error)) => rejected.push(format!("{entry:?}: {error}")),
            // Not bad input but a bug in the task: let it go on up.
            Err(panic) => std::panic::resume_unwind(panic.into_panic()),
        }
    }
    assert_eq!(total, 19);
    assert_eq!(rejected, [r#""4O": invalid digit found in string"#]);
}
