//! moby-25384: the plugin manager's init task adds the number of plugins
//! (two) to a WaitGroup, then for each plugin spawns a task that calls done
//! and waits on the WaitGroup inside the same loop iteration. The first
//! plugin's done brings the counter to 1 and init waits for zero, but the
//! second plugin task would only start after that wait returns. The fix
//! moves the wait after the loop, so every plugin task starts first.

use knot::sync::WaitGroup;
use knot::ReportKind;

use crate::corpus::Entry;

/// The bug as the corpus states it.
pub const ENTRY: Entry = Entry {
    id: "moby-25384",
    subtype: "mixed deadlock: WaitGroup misuse",
    expected: ReportKind::Deadlock,
    buggy,
    fixed,
};

/// The plugins.
const PLUGINS: usize = 2;

/// The program with the bug: init waits inside the loop that starts the
/// plugin tasks.
pub fn buggy() {
    let init = knot::task::Builder::new().name("init").spawn(|| {
        let wg = WaitGroup::new();
        wg.add(PLUGINS as i64);
        let mut plugins = Vec::new();
        for id in 1..=PLUGINS {
            plugins.push(start_plugin(id, &wg));
            // BUG: the remaining plugins are not started yet.
            wg.wait();
        }
        for plugin in plugins {
            plugin.join().expect("a plugin task does not panic");
        }
    });
    init.join().expect("init does not panic");
}

/// The program with the fix: init starts every plugin task, then waits,
/// then joins them.
pub fn fixed() {
    let init = knot::task::Builder::new().name("init").spawn(|| {
        let wg = WaitGroup::new();
        wg.add(PLUGINS as i64);
        let plugins: Vec<_> = (1..=PLUGINS).map(|id| start_plugin(id, &wg)).collect();
        wg.wait();
        for plugin in plugins {
            plugin.join().expect("a plugin task does not panic");
        }
    });
    init.join().expect("init does not panic");
}

/// Starts the task of one plugin, which only says done.
#[track_caller]
fn start_plugin(id: usize, wg: &WaitGroup) -> knot::task::JoinHandle<()> {
    let wg = wg.clone();
    knot::task::Builder::new()
        .name(format!("plugin {id}"))
        .spawn(move || wg.done())
}
