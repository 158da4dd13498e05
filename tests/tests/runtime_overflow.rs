//! A task that overflows its stack crashes the process with a message that
//! names it, never silently corrupting memory.
//!
//! The crash is real, so it happens in a child process: this binary runs
//! itself again with the ignored test below.

use std::os::unix::process::ExitStatusExt;
use std::process::Command;

const CHILD: &str = "KNOT_OVERFLOW_CHILD";

/// Recurses with a frame of a KiB until the stack runs out.
fn deep(n: u64) -> u64 {
    let frame = [n; 128];
    if n == u64::MAX {
        return 0;
    }
    deep(n + 1) + std::hint::black_box(&frame)[0]
}

#[test]
#[ignore = "crashes on purpose; run by the test below in a child process"]
fn overflowing_child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let task = knot::task::Builder::new()
        .name("deep")
        .stack_size(64 * 1024)
        .spawn(|| deep(0));
    let _ = task.join();
}

#[test]
fn a_task_that_overflows_its_stack_is_named_before_the_crash() {
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "overflowing_child", "--nocapture"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.signal(),
        Some(11),
        "SIGSEGV expected: {stderr}"
    );
    assert!(stderr.contains("knot: task#"), "{stderr}");
    assert!(stderr.contains("has overflowed its stack"), "{stderr}");
    assert!(
        stderr.contains(&format!("spawned at {}:", file!())),
        "{stderr}"
    );
    assert!(stderr.contains("Builder::stack_size"), "{stderr}");
}
