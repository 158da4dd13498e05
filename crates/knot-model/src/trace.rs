//! The last events of an execution, kept in a ring so that recording one
//! costs a copy and never an allocation.

use std::panic::Location;

use knot_core::object::Object;
use knot_core::op::Op;

/// How many of the latest events an execution keeps.
pub(crate) const CAPACITY: usize = 64;

/// One visible operation.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Event {
    pub(crate) step: u64,
    pub(crate) task: usize,
    pub(crate) op: Op,
    pub(crate) object: Option<Object>,
    /// Where the operation was called; `None` for a timer firing.
    pub(crate) site: Option<&'static Location<'static>>,
    /// Whether the task could not complete the operation yet and started
    /// waiting; its completion is a later event.
    pub(crate) blocks: bool,
}

/// The latest [`CAPACITY`] events.
#[derive(Debug, Default)]
pub(crate) struct Trace {
    events: Vec<Event>,
    // Where the next event goes once the ring is full.
    next: usize,
}

impl Trace {
    pub(crate) fn clear(&mut self) {
        self.events.clear();
        self.next = 0;
    }

    pub(crate) fn push(&mut self, event: Event) {
        if self.events.len() < CAPACITY {
            self.events.push(event);
        } else {
            self.events[self.next] = event;
            self.next = (self.next + 1) % CAPACITY;
        }
    }

    /// The kept events, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Event> {
        let (newer, older) = self.events.split_at(self.next);
        older.iter().chain(newer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(step: u64) -> Event {
        Event {
            step,
            task: 0,
            op: Op::Yield,
            object: None,
            site: Some(Location::caller()),
            blocks: false,
        }
    }

    #[test]
    fn keeps_the_latest_events_in_order() {
        let mut trace = Trace::default();
        for step in 1..=(CAPACITY as u64 + 10) {
            trace.push(event(step));
        }
        let steps: Vec<u64> = trace.iter().map(|e| e.step).collect();
        assert_eq!(steps.len(), CAPACITY);
        assert_eq!(steps[0], 11);
        assert!(steps.windows(2).all(|w| w[0] + 1 == w[1]));
    }
}
