//! Past the kernel's limit on memory mappings: tasks that cannot get a
//! stack fail to start with an error that names the limit, the registry
//! shows it, and the process lives on.
//!
//! A binary of its own, so that holding every stack the process may have
//! does not get in the way of other tests.

use knot::chan;
use knot::runtime::TaskState;

#[test]
fn forty_thousand_parked_tasks_past_the_mapping_limit_fail_cleanly() {
    const TASKS: usize = 40_000;
    let (_held, limit) = knot::runtime::stacks();
    assert!(
        limit < TASKS,
        "this machine allows {limit} stacks: raise TASKS"
    );

    // Every task parks on the gate until it is closed, so they are all
    // alive at once.
    let (gate, wait) = chan::bounded::<()>(0);
    let (started_tx, started_rx) = chan::unbounded::<()>();
    let handles: Vec<_> = (0..TASKS)
        .map(|_| {
            let (wait, started) = (wait.clone(), started_tx.clone());
            knot::spawn(move || {
                started.send(()).unwrap();
                let _ = wait.recv();
            })
        })
        .collect();
    drop((wait, started_tx));

    // Wait until no task waits to start: each has started or failed to.
    let failed = loop {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let tasks = knot::runtime::tasks();
        if tasks.iter().all(|t| t.state != TaskState::Queued) {
            break tasks
                .into_iter()
                .filter(|t| t.state == TaskState::FailedToStart)
                .collect::<Vec<_>>();
        }
    };
    let started = started_rx.len();
    assert!(started < TASKS, "no task hit the limit");
    // The registry keeps the most recent failures.
    assert!(!failed.is_empty());
    let error = failed[0].error.as_deref().expect("a failed task says why");
    assert!(error.contains("vm.max_map_count"), "{error}");
    assert!(error.contains("sysctl -w vm.max_map_count="), "{error}");
    assert!(
        failed[0].to_string().contains("failed to start"),
        "{}",
        failed[0]
    );

    drop(gate);
    let mut refused = 0;
    for handle in handles {
        match handle.join() {
            Ok(()) => {}
            Err(e) => {
                assert!(!e.is_panic());
                assert!(e.message().contains("vm.max_map_count"), "{e}");
                refused += 1;
            }
        }
    }
    assert_eq!(refused, TASKS - started);
    assert!(
        refused < TASKS - 20_000,
        "most tasks must still start: {refused} refused"
    );

    // The process lives on: new tasks start again once stacks are free.
    assert_eq!(knot::spawn(|| 7).join().unwrap(), 7);
}
