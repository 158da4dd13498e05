use super::Scheduler;

/// Probabilistic concurrency testing.
///
/// Every task gets a random priority above `depth`; the highest-priority
/// runnable task runs. At `depth - 1` change points, drawn uniformly over the
/// length of the longest execution seen so far, the running task drops to a
/// priority below every initial one. A bug that needs `depth` ordering
/// constraints is then hit with probability at least `1 / (n * k^(depth-1))`
/// per execution, for `n` tasks and `k` steps.
#[derive(Debug)]
pub(crate) struct Pct {
    rng: fastrand::Rng,
    depth: usize,
    priorities: Vec<u64>,
    change_points: Vec<u64>,
    longest: u64,
    // Firing a timer competes with the tasks like one more task.
    timer: u64,
}

impl Pct {
    pub(crate) fn new(seed: u64, depth: usize) -> Pct {
        Pct {
            rng: fastrand::Rng::with_seed(seed),
            depth: depth.max(1),
            priorities: Vec::new(),
            change_points: Vec::new(),
            longest: 16,
            timer: 0,
        }
    }
}

impl Scheduler for Pct {
    fn begin(&mut self) {
        self.priorities.clear();
        self.change_points.clear();
        for _ in 1..self.depth {
            self.change_points.push(self.rng.u64(1..=self.longest));
        }
        self.timer = self.rng.u64(self.depth as u64..u64::MAX);
    }

    fn spawned(&mut self, task: usize) {
        if self.priorities.len() <= task {
            self.priorities.resize(task + 1, 0);
        }
        self.priorities[task] = self.rng.u64(self.depth as u64..u64::MAX);
    }

    fn choose(&mut self, runnable: &[usize], current: Option<usize>, step: u64) -> Option<usize> {
        if let Some(current) = current {
            if let Some(i) = self.change_points.iter().position(|p| *p == step) {
                // Later change points give lower priorities, as in the paper.
                self.priorities[current] = (self.depth - 1 - i) as u64;
            }
        }
        runnable.iter().copied().max_by_key(|&task| {
            if task == super::TIMER {
                self.timer
            } else {
                self.priorities.get(task).copied().unwrap_or(0)
            }
        })
    }

    fn choose_index(&mut self, options: usize) -> Option<usize> {
        Some(self.rng.usize(..options))
    }

    fn end(&mut self, steps: u64) {
        self.longest = self.longest.max(steps);
    }
}
