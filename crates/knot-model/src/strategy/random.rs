use super::Scheduler;

/// A seeded random walk: every runnable task is equally likely at every
/// point.
#[derive(Debug)]
pub(crate) struct RandomWalk {
    rng: fastrand::Rng,
}

impl RandomWalk {
    pub(crate) fn new(seed: u64) -> RandomWalk {
        RandomWalk {
            rng: fastrand::Rng::with_seed(seed),
        }
    }
}

impl Scheduler for RandomWalk {
    fn choose(&mut self, runnable: &[usize], _current: Option<usize>, _step: u64) -> Option<usize> {
        Some(runnable[self.rng.usize(..runnable.len())])
    }

    fn choose_index(&mut self, options: usize) -> Option<usize> {
        Some(self.rng.usize(..options))
    }

    fn uniform(&self) -> bool {
        true
    }
}
