//! The live runtime's events reach any `tracing` subscriber, under the
//! `knot` target: a binary of its own, since it installs the process's
//! global subscriber.

use std::io::Write;
use std::sync::{Arc, Mutex};

use tracing_subscriber::fmt::MakeWriter;

/// Collects everything the subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

#[test]
fn spawn_block_wake_join_and_exit_are_traced_under_the_knot_target() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let (tx, rx) = knot::chan::bounded::<u32>(0);
    let receiver = knot::task::Builder::new()
        .name("traced")
        .spawn(move || rx.recv());
    // Wait until it blocks, so that the send must wake it.
    while knot::runtime::tasks()
        .iter()
        .all(|t| t.id != receiver.id() || t.state != knot::runtime::TaskState::Blocked)
    {
        std::thread::yield_now();
    }
    tx.send(1).unwrap();
    let id = receiver.id();
    assert_eq!(receiver.join().unwrap(), Ok(1));
    // The exit event comes once the coroutine is done, after the join.
    while knot::runtime::tasks().iter().any(|t| t.id == id) {
        std::thread::yield_now();
    }

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let task = format!("task={}", id.as_u64());
    for event in ["spawn", "start", "block", "wake", "exit"] {
        let found = text.lines().any(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            words.windows(2).any(|w| w == ["knot:", event]) && words.contains(&task.as_str())
        });
        assert!(found, "no {event} event for {task} in:\n{text}");
    }
    assert!(text.contains("name=Some(\"traced\")"), "{text}");
    assert!(text.contains("op=\"recv\""), "{text}");
}
