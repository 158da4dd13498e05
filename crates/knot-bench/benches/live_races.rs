//! The cost of live race detection: the same work with detection off and
//! on, side by side in one run.
//!
//! ```text
//! cargo bench -p knot-bench --bench live_races
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use knot::cell::RaceCell;
use knot::sync::Mutex;

mod common;

const TASKS: usize = 4;
const INCREMENTS: usize = 20_000;

/// Four tasks each increment a `RaceCell` under a mutex many times.
fn work() -> Duration {
    let started = Instant::now();
    let cell = Arc::new(RaceCell::new(0u64));
    let lock = Arc::new(Mutex::new(()));
    let handles: Vec<_> = (0..TASKS)
        .map(|_| {
            let (cell, lock) = (Arc::clone(&cell), Arc::clone(&lock));
            knot::spawn(move || {
                for _ in 0..INCREMENTS {
                    let _g = lock.lock();
                    cell.with_mut(|c| *c += 1);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("no race: every access is under the mutex");
    }
    assert_eq!(cell.with(|c| *c), (TASKS * INCREMENTS) as u64);
    started.elapsed()
}

fn median(on: bool) -> Duration {
    knot::runtime::set_race_detection(on);
    let _ = work();
    common::median((0..5).map(|_| work()).collect())
}

fn main() {
    let off = median(false);
    let on = median(true);
    knot::runtime::set_race_detection(false);
    let operations = (TASKS * INCREMENTS) as f64;
    println!("{TASKS} tasks x {INCREMENTS} locked RaceCell increments, live, median of 5");
    println!(
        "{:<22} {:>12} {:>14}",
        "race detection", "time", "ns/increment"
    );
    for (name, time) in [("off", off), ("on (KNOT_RACE=1)", on)] {
        println!(
            "{:<22} {:>10.1}ms {:>14.0}",
            name,
            common::ms(time),
            time.as_secs_f64() * 1e9 / operations
        );
    }
    println!(
        "cost of detection: {:.2}x",
        on.as_secs_f64() / off.as_secs_f64()
    );
}
