//! moby-30408 (Moby): waiting for a plugin to become active loops on a
//! condition variable until the plugin has a manifest. Activation failed,
//! so the manifest is never set and nobody signals the condition variable:
//! the waiter waits forever, and so does the caller waiting for it. The fix
//! also ends the wait once an activation error has been recorded.

use std::sync::Arc;

use knot::chan;
use knot::sync::{Condvar, Mutex};
use knot::task::Builder;
use knot::ReportKind;

/// A plugin manifest.
#[derive(Debug)]
struct Manifest;

/// What the plugin's lock guards.
#[derive(Debug, Default)]
struct PluginState {
    manifest: Option<Manifest>,
    activate_err: Option<String>,
}

/// A plugin being activated.
struct Plugin {
    state: Mutex<PluginState>,
    activate_wait: Condvar,
}

impl Plugin {
    /// A plugin without a manifest.
    fn new() -> Plugin {
        Plugin {
            state: Mutex::new(PluginState::default()),
            activate_wait: Condvar::new(),
        }
    }

    /// Waits until the plugin is active; returns the activation error.
    fn wait_active(&self) -> Option<String> {
        let mut state = self.state.lock();
        // BUG: a failed activation never sets the manifest.
        while state.manifest.is_none() {
            state = self.activate_wait.wait(state);
        }
        state.activate_err.clone()
    }

    /// Waits until the plugin is active or its activation has failed;
    /// returns the activation error.
    fn wait_active_fixed(&self) -> Option<String> {
        let mut state = self.state.lock();
        while state.manifest.is_none() && state.activate_err.is_none() {
            state = self.activate_wait.wait(state);
        }
        state.activate_err.clone()
    }
}

/// Runs the scenario with the given wait.
fn run(wait_active: fn(&Plugin) -> Option<String>) {
    let plugin = Arc::new(Plugin::new());
    plugin.state.lock().activate_err = Some(String::from("activation failed"));
    let (done_tx, done_rx) = chan::bounded::<()>(0);
    let p = Arc::clone(&plugin);
    let waiter = Builder::new().name("waiter").spawn(move || {
        let _err = wait_active(&p);
        done_tx.close();
    });
    let _ = done_rx.recv();
    waiter.join().expect("the waiter does not panic");
}

/// The program with the bug: the waiter waits for a manifest that never
/// comes, and main for the waiter.
pub fn buggy() {
    run(Plugin::wait_active);
}

/// The same program, fixed: the recorded error ends the wait.
pub fn fixed() {
    run(Plugin::wait_active_fixed);
}

/// The corpus entry.
pub const ENTRY: crate::corpus::Entry = crate::corpus::Entry {
    id: "moby-30408",
    subtype: "communication deadlock: condition variable",
    expected: ReportKind::Deadlock,
    buggy,
    fixed,
};
