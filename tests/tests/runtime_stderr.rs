//! What the live runtime writes on stderr: the task behind a panic, and the
//! task that overflowed its stack before the process crashes (never
//! silently corrupting memory).
//!
//! Both are checked in a child process, which runs this binary again with
//! one of the ignored tests below: the crash is real, and a test's own
//! stderr cannot be read from inside it.

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

/// Runs the ignored test `name` in a child process.
fn run_child(name: &str) -> std::process::Output {
    Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", name, "--nocapture"])
        .env(CHILD, "1")
        .output()
        .unwrap()
}

#[test]
#[ignore = "run by the test below in a child process"]
fn panicking_child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let task = knot::task::Builder::new()
        .name("fragile")
        .spawn(|| -> u8 { panic!("the disk is full") });
    assert!(task.join().is_err());
}

#[test]
fn a_panic_names_its_task() {
    let output = run_child("panicking_child");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let named = format!("knot: task 'fragile' (task#1) spawned at {}:", file!());
    let line = stderr.lines().position(|l| l.starts_with(&named));
    let line = line.unwrap_or_else(|| panic!("no line naming the task in:\n{stderr}"));
    // The standard message follows, with the panic's own text.
    let next = stderr.lines().skip(line + 1).find(|l| !l.is_empty());
    assert!(next.unwrap().contains("panicked at"), "{stderr}");
    assert!(stderr.contains("the disk is full"), "{stderr}");
}

#[test]
fn a_task_that_overflows_its_stack_is_named_before_the_crash() {
    let output = run_child("overflowing_child");
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
