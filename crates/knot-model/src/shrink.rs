//! Shrinking a failing schedule: the same failure, with fewer preemptions
//! and fewer steps, so that the report shows what the bug needs and little
//! else.

use std::rc::Rc;

use knot_report::ReportKind;

use crate::execution::Session;
use crate::report;
use crate::schedule::Schedule;
use crate::strategy::Guided;

/// The most executions shrinking may spend on one failure.
const BUDGET: usize = 200;

/// A failing execution: its schedule and how often it preempted a task.
#[derive(Debug, Clone)]
pub(crate) struct Failing {
    pub(crate) kind: ReportKind,
    pub(crate) schedule: Schedule,
    pub(crate) preemptions: u32,
    /// Whether the program needs happens-before tracking.
    pub(crate) races: bool,
}

impl Failing {
    /// Smaller is better: fewer preemptions first, then fewer steps.
    fn size(&self) -> (u32, u64) {
        (self.preemptions, self.schedule.steps)
    }
}

/// Looks for a smaller execution of `main` that fails the same way as
/// `failing`, within [`BUDGET`] executions.
///
/// Two moves are tried. The first keeps a prefix of the choices and lets
/// every task run on without preemption after it, shortest prefix first:
/// most bugs need only their first few switches. The second drops single
/// choices from the best schedule so far, from the end. Every candidate is
/// a real execution (the guided scheduler falls back to letting the running
/// task go on where a choice no longer fits), so the result replays exactly.
pub(crate) fn shrink(main: &Rc<dyn Fn()>, failing: Failing, max_steps: u64) -> Failing {
    let session = Session::start(Box::new(Guided::new(Vec::new())), max_steps);
    if failing.races {
        session.want_races();
    }
    let spent = std::cell::Cell::new(0);
    let attempt = |choices: Vec<u32>| -> Option<Failing> {
        spent.set(spent.get() + 1);
        drop(session.set_scheduler(Box::new(Guided::new(choices))));
        session.execute(main, |ex| {
            let finding = ex.finding.as_ref()?;
            Some(Failing {
                kind: report::kind(finding),
                schedule: ex.schedule.clone(),
                preemptions: ex.preemptions,
                races: ex.races.wanted,
            })
        })
    };
    let mut best = failing;
    for keep in 0..best.schedule.choices.len() {
        if spent.get() >= BUDGET {
            return best;
        }
        let candidate = attempt(best.schedule.choices[..keep].to_vec());
        if let Some(candidate) = candidate.filter(|c| c.kind == best.kind) {
            if candidate.size() < best.size() {
                best = candidate;
            }
            break;
        }
    }
    let mut i = best.schedule.choices.len();
    while i > 0 && spent.get() < BUDGET {
        i -= 1;
        let mut choices = best.schedule.choices.clone();
        if i >= choices.len() {
            continue;
        }
        choices.remove(i);
        if let Some(candidate) = attempt(choices).filter(|c| c.kind == best.kind) {
            if candidate.size() < best.size() {
                best = candidate;
                i = i.min(best.schedule.choices.len());
            }
        }
    }
    best
}
