//! cockroach-13197 (CockroachDB): beginning a transaction derives a
//! cancellable context and starts a watcher that rolls the transaction back
//! once that context is done. The caller neither commits nor rolls back, so
//! nobody ever cancels the context and the watcher waits forever. The fix
//! makes the code that begins the transaction always finish it, here by
//! rolling back, which cancels the context and lets the watcher end.

use std::sync::Arc;

use knot::context::{Cancel, Context};
use knot::task::Builder;
use knot::{JoinHandle, ReportKind};

/// A transaction: its context, and the handle that cancels it.
struct Transaction {
    ctx: Context,
    cancel: Cancel,
}

impl Transaction {
    /// Begins a transaction and starts its watcher.
    fn begin(parent: &Context) -> (Arc<Transaction>, JoinHandle<()>) {
        let (ctx, cancel) = parent.with_cancel();
        let tx = Arc::new(Transaction { ctx, cancel });
        let watched = Arc::clone(&tx);
        let watcher = Builder::new()
            .name("watcher")
            .spawn(move || watched.await_done());
        (tx, watcher)
    }

    /// The watcher: once the context is done, rolls the transaction back.
    fn await_done(&self) {
        let _ = self.ctx.done().recv();
        self.rollback();
    }

    /// Ends the transaction, cancelling its context.
    fn rollback(&self) {
        self.cancel.cancel();
    }
}

/// The program with the bug: the transaction is never finished.
pub fn buggy() {
    // Not joined: as in Go, nothing waits for the watcher.
    let (_tx, _watcher) = Transaction::begin(&Context::background());
    // BUG: returns without committing or rolling back.
}

/// The same program, fixed: main rolls the transaction back and joins the
/// watcher.
pub fn fixed() {
    let (tx, watcher) = Transaction::begin(&Context::background());
    tx.rollback();
    watcher.join().expect("the watcher does not panic");
}

/// The corpus entry.
pub const ENTRY: crate::corpus::Entry = crate::corpus::Entry {
    id: "cockroach-13197",
    subtype: "communication deadlock: channel and context",
    expected: ReportKind::Leak,
    buggy,
    fixed,
};
