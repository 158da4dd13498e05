use super::{Scheduler, TIMER};

/// Follows a list of choices as far as they fit, then lets the running task
/// go on whenever it can: the scheduler that shrinking uses to try shorter
/// schedules with fewer preemptions.
#[derive(Debug)]
pub(crate) struct Guided {
    choices: Vec<u32>,
    next: usize,
}

impl Guided {
    pub(crate) fn new(choices: Vec<u32>) -> Guided {
        Guided { choices, next: 0 }
    }

    fn take(&mut self) -> Option<u32> {
        let choice = self.choices.get(self.next).copied();
        self.next += 1;
        choice
    }
}

impl Scheduler for Guided {
    fn begin(&mut self) {
        self.next = 0;
    }

    fn choose(&mut self, runnable: &[usize], current: Option<usize>, _step: u64) -> Option<usize> {
        let wanted = self.take().map(|c| {
            if c == crate::schedule::TIMER {
                TIMER
            } else {
                c as usize
            }
        });
        let fallback = current
            .filter(|c| runnable.contains(c))
            .unwrap_or(runnable[0]);
        Some(wanted.filter(|w| runnable.contains(w)).unwrap_or(fallback))
    }

    fn choose_index(&mut self, options: usize) -> Option<usize> {
        let wanted = self.take().map(|c| c as usize);
        Some(wanted.filter(|w| *w < options).unwrap_or(0))
    }
}
