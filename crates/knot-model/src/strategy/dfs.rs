use super::{Scheduler, TIMER};
use crate::dpor::{independent, Access, History};

/// Exhaustive depth-first search with dynamic partial-order reduction and an
/// optional preemption bound.
///
/// Each execution replays the decisions of the previous one up to the
/// deepest point that still has an alternative to try, takes that
/// alternative, and from there on lets the running task go on as long as it
/// can. While it runs, every step is checked for races with earlier steps
/// of other tasks ([`History`]); a race adds the racing task as an
/// alternative at the earlier step's decision point. Alternatives nothing
/// races for are never tried: their executions only reorder steps that
/// commute.
#[derive(Debug)]
pub(crate) struct Dfs {
    bound: Option<usize>,
    points: Vec<Point>,
    /// How many points of `points` the current execution replays.
    replay: usize,
    /// The next point of the current execution.
    next: usize,
    /// The point where the running step began.
    stepping: usize,
    history: History,
    /// Tasks whose next step need not be tried at the next decision, with
    /// what that step touches: exploring it was done in a sibling branch,
    /// and nothing since depends on it (sleep sets, Godefroid 1996).
    sleep: Vec<(usize, Vec<Access>)>,
    /// Whether every task that could run is asleep: the rest of this
    /// execution only repeats explored ones.
    pruned: bool,
}

#[derive(Debug)]
struct Point {
    kind: Kind,
    chosen: usize,
    /// Alternatives still to try here.
    backtrack: Vec<usize>,
    /// Alternatives tried here.
    done: Vec<usize>,
    /// Preemptions on the way to and including this choice.
    preemptions: usize,
    /// The sleep set when the point was reached.
    sleep: Vec<(usize, Vec<Access>)>,
    /// What the step of each task tried here touched.
    explored: Vec<(usize, Vec<Access>)>,
}

#[derive(Debug)]
enum Kind {
    /// Which task runs: `enabled` could, `running` was running and could go
    /// on (choosing another is a preemption).
    Task {
        enabled: Vec<usize>,
        running: Option<usize>,
    },
    /// Which of `options` a nondeterministic operation takes; every one is
    /// tried.
    Data { options: usize },
}

impl Dfs {
    pub(crate) fn new(bound: Option<usize>) -> Dfs {
        Dfs {
            bound,
            points: Vec::new(),
            replay: 0,
            next: 0,
            stepping: 0,
            history: History::default(),
            sleep: Vec::new(),
            pruned: false,
        }
    }

    fn preemptions_before(&self, point: usize) -> usize {
        point
            .checked_sub(1)
            .map_or(0, |p| self.points[p].preemptions)
    }

    fn within_bound(&self, point: usize, task: usize) -> bool {
        let Some(bound) = self.bound else {
            return true;
        };
        let Kind::Task { running, .. } = &self.points[point].kind else {
            return true;
        };
        let preempts = running.is_some_and(|r| r != task);
        self.preemptions_before(point) + usize::from(preempts) <= bound
    }

    /// Makes sure one of `initials` is tried at `point`.
    fn add_backtrack(&mut self, point: usize, initials: &[usize]) {
        let Some(Point {
            kind: Kind::Task { enabled, .. },
            backtrack,
            ..
        }) = self.points.get_mut(point)
        else {
            return;
        };
        if initials.iter().any(|t| backtrack.contains(t)) {
            return;
        }
        match initials.iter().find(|t| enabled.contains(t)) {
            Some(&t) => backtrack.push(t),
            // None of them could run there: try everything that could.
            None => {
                for &t in enabled.iter() {
                    if !backtrack.contains(&t) {
                        backtrack.push(t);
                    }
                }
            }
        }
    }
}

/// The DPOR index of a task: the timer queue is 0.
fn index(task: usize) -> usize {
    if task == TIMER {
        0
    } else {
        task + 1
    }
}

impl Scheduler for Dfs {
    fn begin(&mut self) {
        self.next = 0;
        self.stepping = 0;
        self.history.clear();
        self.sleep.clear();
        self.pruned = false;
    }

    fn choose(&mut self, runnable: &[usize], current: Option<usize>, _step: u64) -> Option<usize> {
        let at = self.next;
        self.next += 1;
        self.stepping = at;
        if at < self.replay {
            let point = &self.points[at];
            return match &point.kind {
                Kind::Task { .. } if runnable.contains(&point.chosen) => Some(point.chosen),
                _ => None,
            };
        }
        let sleep = std::mem::take(&mut self.sleep);
        let awake = |t: &usize| !sleep.iter().any(|(s, _)| s == t);
        let running = current.filter(|c| runnable.contains(c));
        let Some(chosen) = running
            .filter(awake)
            .or_else(|| runnable.iter().copied().find(awake))
        else {
            self.pruned = true;
            return None;
        };
        let preemptions = self.preemptions_before(at);
        self.points.push(Point {
            kind: Kind::Task {
                enabled: runnable.to_vec(),
                running,
            },
            chosen,
            backtrack: vec![chosen],
            done: Vec::new(),
            preemptions,
            sleep,
            explored: Vec::new(),
        });
        Some(chosen)
    }

    fn choose_index(&mut self, options: usize) -> Option<usize> {
        let at = self.next;
        self.next += 1;
        if at < self.replay {
            let point = &self.points[at];
            return match point.kind {
                Kind::Data { options: o } if o == options => Some(point.chosen),
                _ => None,
            };
        }
        let preemptions = self.preemptions_before(at);
        self.points.push(Point {
            kind: Kind::Data { options },
            chosen: 0,
            backtrack: (0..options).collect(),
            done: Vec::new(),
            preemptions,
            sleep: Vec::new(),
            explored: Vec::new(),
        });
        Some(0)
    }

    fn wants_every_step(&self) -> bool {
        true
    }

    fn pruned(&self) -> bool {
        self.pruned
    }

    fn depth(&self) -> usize {
        self.points.len()
    }

    fn step(&mut self, task: Option<usize>, footprint: &[Access]) {
        let Some(task) = task else {
            return;
        };
        if let Some(point) = self.points.get_mut(self.stepping) {
            if !point.explored.iter().any(|(t, _)| *t == task) {
                point.explored.push((task, footprint.to_vec()));
            }
            // Tasks asleep here, and those tried here before this one, stay
            // asleep past this step if it does not touch what they would.
            let mut sleep = Vec::new();
            let tried = point
                .explored
                .iter()
                .filter(|(t, _)| *t != task && point.done.contains(t));
            for (t, touches) in point.sleep.iter().chain(tried) {
                if *t != task
                    && independent(touches, footprint)
                    && !sleep.iter().any(|(s, _)| s == t)
                {
                    sleep.push((*t, touches.clone()));
                }
            }
            self.sleep = sleep;
        }
        let races = self.history.step(index(task), self.stepping, footprint);
        for race in races {
            let initials: Vec<usize> = race
                .initials
                .iter()
                .map(|&i| if i == 0 { TIMER } else { i - 1 })
                .collect();
            self.add_backtrack(race.point, &initials);
        }
    }

    fn next_execution(&mut self) -> bool {
        while let Some(at) = self.points.len().checked_sub(1) {
            let chosen = self.points[at].chosen;
            if !self.points[at].done.contains(&chosen) {
                self.points[at].done.push(chosen);
            }
            let point = &self.points[at];
            let untried: Vec<usize> = point
                .backtrack
                .iter()
                .copied()
                .filter(|c| !point.done.contains(c) && !point.sleep.iter().any(|(s, _)| s == c))
                .collect();
            let next = untried.into_iter().find(|&c| self.within_bound(at, c));
            match next {
                Some(choice) => {
                    let preempts = matches!(&self.points[at].kind,
                        Kind::Task { running: Some(r), .. } if *r != choice);
                    let before = self.preemptions_before(at);
                    let point = &mut self.points[at];
                    point.chosen = choice;
                    point.preemptions = before + usize::from(preempts);
                    self.replay = at + 1;
                    return true;
                }
                None => {
                    self.points.pop();
                }
            }
        }
        false
    }
}
