//! Names the task behind a panic.
//!
//! The standard panic message names the thread, and a task's thread is a
//! worker (`thread 'knot-worker-1' panicked at ...`), which says nothing
//! about which of its tasks failed. This hook, installed when the runtime
//! starts, first writes the task's name, number and spawn site, then hands
//! the panic to the hook that was installed before it.

use std::panic::{self, PanicHookInfo};
use std::sync::Once;

/// Installs the hook, once per process.
pub(crate) fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info: &PanicHookInfo<'_>| {
            if let Some(task) = crate::scheduler::current() {
                eprintln!(
                    "knot: task '{}' ({}) spawned at {} panicked:",
                    task.display_name(),
                    task.id,
                    task.site
                );
            }
            previous(info);
        }));
    });
}
