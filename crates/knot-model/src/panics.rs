//! Keeps the panics of checked programs out of the test output.
//!
//! A check runs a program thousands of times, and a task that panics on
//! purpose (its joiner handles the error) would print its message every
//! time. knot takes the message from the `catch_unwind` payload instead, and
//! the place of the panic from this hook, which stays silent for panics
//! raised inside a checker execution and passes every other panic to the
//! hook that was installed before it.

use std::cell::{Cell, RefCell};
use std::panic::{self, PanicHookInfo};
use std::sync::Once;

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
    static LAST_SITE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Silences panics on this thread until the guard is dropped.
pub(crate) fn quiet() -> Quiet {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info: &PanicHookInfo<'_>| {
            if QUIET.with(Cell::get) {
                let site = info.location().map(|l| l.to_string());
                LAST_SITE.with(|s| *s.borrow_mut() = site);
            } else {
                previous(info);
            }
        }));
    });
    Quiet {
        was: QUIET.with(|q| q.replace(true)),
    }
}

/// Where the latest silenced panic on this thread was raised.
pub(crate) fn take_site() -> Option<String> {
    LAST_SITE.with(|s| s.borrow_mut().take())
}

/// Restores the previous setting when dropped.
pub(crate) struct Quiet {
    was: bool,
}

impl Drop for Quiet {
    fn drop(&mut self) {
        QUIET.with(|q| q.set(self.was));
    }
}
