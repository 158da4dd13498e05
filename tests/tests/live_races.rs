//! Race detection outside the checker, switched on for this test binary: a
//! `RaceCell` written by two threads without synchronisation panics with
//! the race, and the same program with a mutex runs clean.

use std::sync::Arc;

use knot::cell::RaceCell;
use knot::sync::Mutex;

fn writers(lock: bool) -> Vec<Result<(), knot::JoinError>> {
    let cell = Arc::new(RaceCell::new(0));
    let m = Arc::new(Mutex::new(()));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let (cell, m) = (Arc::clone(&cell), Arc::clone(&m));
            knot::spawn(move || {
                let _g = lock.then(|| m.lock());
                cell.with_mut(|c| *c += 1);
            })
        })
        .collect();
    handles.into_iter().map(knot::JoinHandle::join).collect()
}

// One test function: the switch is process-wide.
#[test]
fn live_race_detection_catches_unsynchronised_writes_and_not_locked_ones() {
    knot::runtime::set_race_detection(true);
    assert!(knot::runtime::race_detection());
    for _ in 0..5 {
        let results = writers(true);
        assert!(results.iter().all(Result::is_ok), "{results:?}");
    }
    let results = writers(false);
    let failure = results
        .into_iter()
        .find_map(Result::err)
        .expect("one of the writers sees the race");
    assert!(
        failure.message().contains("data race on RaceCell#"),
        "{failure}"
    );

    // A blocking call happens after what its task did before it, and
    // before what the task does after it.
    let handoff = knot::spawn(|| {
        let cell = Arc::new(RaceCell::new(1));
        cell.with_mut(|c| *c += 1);
        let inside = Arc::clone(&cell);
        let read = knot::blocking(move || {
            inside.with_mut(|c| *c += 1);
            inside.get()
        });
        cell.with_mut(|c| *c += 1);
        (read, cell.get())
    });
    assert_eq!(handoff.join().unwrap(), (3, 4));
    knot::runtime::set_race_detection(false);
}
