use super::Scheduler;

/// Follows a recorded schedule, refusing any choice that no longer fits.
#[derive(Debug)]
pub(crate) struct Replay {
    choices: Vec<u32>,
    next: usize,
}

impl Replay {
    pub(crate) fn new(choices: Vec<u32>) -> Replay {
        Replay { choices, next: 0 }
    }
}

impl Scheduler for Replay {
    fn begin(&mut self) {
        self.next = 0;
    }

    fn choose(&mut self, runnable: &[usize], _current: Option<usize>, _step: u64) -> Option<usize> {
        let choice = *self.choices.get(self.next)? as usize;
        self.next += 1;
        let choice = if choice == u32::MAX as usize {
            super::TIMER
        } else {
            choice
        };
        runnable.contains(&choice).then_some(choice)
    }

    fn choose_index(&mut self, options: usize) -> Option<usize> {
        let choice = *self.choices.get(self.next)? as usize;
        self.next += 1;
        (choice < options).then_some(choice)
    }
}
