//! Task stacks: guarded mappings, pooled per worker, counted against the
//! kernel's limit on memory mappings.
//!
//! A stack is an `mmap` with a guard page below it, so an overflow faults
//! instead of overwriting memory. The kernel backs only the pages a task
//! touches, so a parked task costs the few KiB its frames use, not the
//! stack's size. Each stack takes two mappings (the stack and its guard),
//! and Linux allows `vm.max_map_count` (65,530 by default) per process:
//! stacks past a budget derived from that limit are refused with an error
//! that names it, before the kernel would refuse something the process
//! cannot do without (a thread's stack, a large allocation).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use corosensei::stack::DefaultStack;

/// The stack size of a task that does not ask for one: 256 KiB of address
/// space, of which only the touched pages cost memory.
pub const DEFAULT_STACK_SIZE: usize = 256 * 1024;

/// The largest stack a task may ask for: a quarter of the address space,
/// far more than a mapping can get, and small enough that rounding it up to
/// pages cannot overflow.
const MAX_STACK_SIZE: usize = usize::MAX / 4;

/// Stacks a worker keeps for reuse; beyond these, finished tasks' stacks
/// are unmapped.
const POOLED_PER_WORKER: usize = 64;

/// Mappings left to the rest of the process: its threads, its allocator,
/// its libraries.
const HEADROOM: usize = 4096;

/// One worker's stacks, and the task stacks it hands out.
#[derive(Default)]
pub(crate) struct StackPool {
    free: Vec<DefaultStack>,
}

impl std::fmt::Debug for StackPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StackPool")
            .field("free", &self.free.len())
            .finish()
    }
}

impl StackPool {
    /// A stack of `size` bytes (the default when `None`): a pooled one if
    /// there is one, else a new mapping.
    ///
    /// # Errors
    ///
    /// When the process holds as many stacks as the mapping limit allows, or
    /// the kernel refuses the mapping; the message says which, and what to
    /// do about it.
    pub(crate) fn take(&mut self, size: Option<usize>) -> Result<DefaultStack, String> {
        let size = size.unwrap_or(DEFAULT_STACK_SIZE);
        if size == DEFAULT_STACK_SIZE {
            if let Some(stack) = self.free.pop() {
                return Ok(stack);
            }
        }
        let budget = budget();
        if LIVE.fetch_add(1, Ordering::Relaxed) >= budget.stacks {
            LIVE.fetch_sub(1, Ordering::Relaxed);
            return Err(format!(
                "the process already holds {} task stacks, as many as the kernel's limit \
                 of {} memory mappings per process allows (vm.max_map_count; each stack \
                 takes two, the stack and its guard page); let some tasks finish first, \
                 or raise the limit, as root: sysctl -w vm.max_map_count={}",
                budget.stacks,
                budget.max_map_count,
                budget.max_map_count.saturating_mul(4).max(262_144),
            ));
        }
        if size > MAX_STACK_SIZE {
            LIVE.fetch_sub(1, Ordering::Relaxed);
            return Err(format!(
                "a stack of {size} bytes is more than a task may ask for"
            ));
        }
        // corosensei panics rather than fail on sizes whose rounding
        // overflows; the check above keeps them out, this is the backstop.
        let mapped = std::panic::catch_unwind(|| DefaultStack::new(size));
        match mapped {
            Ok(Ok(stack)) => Ok(stack),
            Ok(Err(e)) => {
                LIVE.fetch_sub(1, Ordering::Relaxed);
                Err(format!(
                    "cannot map a stack of {size} bytes for the task: {e}"
                ))
            }
            Err(_) => {
                LIVE.fetch_sub(1, Ordering::Relaxed);
                Err(format!(
                    "a stack of {size} bytes is more than the address space holds"
                ))
            }
        }
    }

    /// Takes back the stack of a finished task.
    pub(crate) fn give(&mut self, stack: DefaultStack, size: Option<usize>) {
        let size = size.unwrap_or(DEFAULT_STACK_SIZE);
        if size == DEFAULT_STACK_SIZE && self.free.len() < POOLED_PER_WORKER {
            self.free.push(stack);
        } else {
            drop(stack);
            LIVE.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl Drop for StackPool {
    fn drop(&mut self) {
        LIVE.fetch_sub(self.free.len(), Ordering::Relaxed);
    }
}

/// How many task stacks are mapped now, pooled ones included.
pub(crate) fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// How many task stacks the process may hold at once.
pub(crate) fn limit() -> usize {
    budget().stacks
}

static LIVE: AtomicUsize = AtomicUsize::new(0);

#[derive(Debug, Clone, Copy)]
struct Budget {
    max_map_count: usize,
    stacks: usize,
}

/// The stack budget, worked out once from the kernel's limit and the
/// mappings the process already had when the runtime first needed it.
fn budget() -> Budget {
    static BUDGET: OnceLock<Budget> = OnceLock::new();
    *BUDGET.get_or_init(|| {
        let max_map_count = std::fs::read_to_string("/proc/sys/vm/max_map_count")
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
            .unwrap_or(65_530);
        let used = std::fs::read_to_string("/proc/self/maps")
            .map(|maps| maps.lines().count())
            .unwrap_or(0);
        Budget {
            max_map_count,
            stacks: max_map_count.saturating_sub(used + HEADROOM) / 2,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_leaves_room_under_the_kernel_limit() {
        let budget = budget();
        assert!(budget.stacks > 0);
        assert!(budget.stacks * 2 + HEADROOM <= budget.max_map_count);
    }

    #[test]
    fn a_default_stack_is_pooled_and_reused() {
        let mut pool = StackPool::default();
        let stack = pool.take(None).unwrap();
        pool.give(stack, None);
        assert_eq!(pool.free.len(), 1);
        let _again = pool.take(None).unwrap();
        assert!(pool.free.is_empty());
    }

    #[test]
    fn an_odd_sized_stack_is_not_pooled() {
        let mut pool = StackPool::default();
        let stack = pool.take(Some(64 * 1024)).unwrap();
        pool.give(stack, Some(64 * 1024));
        assert!(pool.free.is_empty());
    }
}
