//! A clear message when a task overflows its stack.
//!
//! A task's stack has a guard page below it, so an overflow faults instead
//! of overwriting other memory. The standard library only recognises the
//! guard pages of thread stacks: on a coroutine stack the process would die
//! of a bare "Segmentation fault". This module installs a `SIGSEGV` handler
//! (running on the thread's alternate signal stack, which the standard
//! library sets up for every thread) that checks whether the faulting
//! address is in the guard page of the task its worker is running; if it
//! is, it names the task before the process dies. Every fault, that one
//! included, then goes to the handler that was installed before, untouched.

use std::panic::Location;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

use crossbeam_utils::atomic::AtomicCell;

use crate::scheduler::Runtime;

/// Installs the handler, once per process.
pub(crate) fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // The handler reads the running task's spawn site through this
        // cell, which must not take a lock there.
        assert!(AtomicCell::<Option<&'static Location<'static>>>::is_lock_free());
        // The guard is one page; `sysconf` is not async-signal-safe, so the
        // size is read here, once.
        // SAFETY: `sysconf` has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        PAGE.store(usize::try_from(page).unwrap_or(4096), Ordering::Relaxed);
        // SAFETY: `sigaction` is given a zeroed, then filled, `sigaction`
        // struct and a place for the previous one; the handler it installs
        // only reads atomics and `'static` data and calls `write`, both
        // async-signal-safe.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_fault as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            let mut previous: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(libc::SIGSEGV, &action, &mut previous) == 0 {
                PREVIOUS.store(
                    Box::into_raw(Box::new(previous)) as usize,
                    Ordering::Release,
                );
            }
        }
    });
}

/// The page size, which is the size of a stack's guard.
static PAGE: AtomicUsize = AtomicUsize::new(4096);

/// The previous `SIGSEGV` action, leaked so that the handler can call it.
static PREVIOUS: AtomicUsize = AtomicUsize::new(0);

/// Where the handler finds the workers' running stacks.
static RUNTIME: AtomicUsize = AtomicUsize::new(0);

pub(crate) fn watch(runtime: &'static Runtime) {
    RUNTIME.store(runtime as *const Runtime as usize, Ordering::Release);
}

extern "C" fn on_fault(
    signal: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    // SAFETY: the kernel passes a valid `siginfo_t` to an `SA_SIGINFO`
    // handler; for SIGSEGV `si_addr` is the faulting address.
    let address = unsafe { (*info).si_addr() } as usize;
    let runtime = RUNTIME.load(Ordering::Acquire);
    if runtime != 0 {
        // SAFETY: `watch` stored a `&'static Runtime`, which lives until the
        // process ends.
        let runtime = unsafe { &*(runtime as *const Runtime) };
        for worker in runtime.workers.iter() {
            let limit = worker.stack_limit.load(Ordering::Relaxed);
            if limit != 0 && address >= limit && address < limit + PAGE.load(Ordering::Relaxed) {
                report(
                    worker.running.load(Ordering::Relaxed),
                    worker.running_site.load(),
                );
                break;
            }
        }
    }
    chain(signal, info, context);
}

/// Hands the fault to the handler installed before this one (the standard
/// library's, which lets the fault kill the process unless it is a thread's
/// own stack overflow), or to the default action.
fn chain(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    let previous = PREVIOUS.load(Ordering::Acquire);
    if previous != 0 {
        // SAFETY: `install` stored a leaked, never freed `sigaction`.
        let previous = unsafe { &*(previous as *const libc::sigaction) };
        let handler = previous.sa_sigaction;
        if handler != libc::SIG_DFL && handler != libc::SIG_IGN {
            if previous.sa_flags & libc::SA_SIGINFO != 0 {
                // SAFETY: with SA_SIGINFO the field holds a three-argument
                // handler, which is given what the kernel gave this one.
                let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                    unsafe { std::mem::transmute(handler) };
                handler(signal, info, context);
            } else {
                // SAFETY: without SA_SIGINFO the field holds a one-argument
                // handler.
                let handler: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(handler) };
                handler(signal);
            }
            return;
        }
    }
    // The default action: once this returns, the faulting instruction runs
    // again and the fault ends the process.
    // SAFETY: `signal` with SIG_DFL has no preconditions.
    unsafe {
        libc::signal(libc::SIGSEGV, libc::SIG_DFL);
    }
}

/// Writes the message with no allocation, as a signal handler must.
fn report(task: u64, site: Option<&'static Location<'static>>) {
    let mut message = Message::default();
    message.push(b"\nknot: task#");
    message.number(task);
    if let Some(site) = site {
        message.push(b" spawned at ");
        message.push(site.file().as_bytes());
        message.push(b":");
        message.number(u64::from(site.line()));
        message.push(b":");
        message.number(u64::from(site.column()));
    }
    message.push(
        b" has overflowed its stack; give it a larger one with \
          knot::task::Builder::stack_size\n",
    );
    // SAFETY: `write` is async-signal-safe, and the buffer is valid for
    // `len` bytes.
    unsafe {
        libc::write(2, message.buffer.as_ptr().cast(), message.len);
    }
}

/// A fixed buffer for the message.
struct Message {
    buffer: [u8; 512],
    len: usize,
}

impl Default for Message {
    fn default() -> Message {
        Message {
            buffer: [0; 512],
            len: 0,
        }
    }
}

impl Message {
    fn push(&mut self, bytes: &[u8]) {
        let room = self.buffer.len() - self.len;
        let n = bytes.len().min(room);
        self.buffer[self.len..self.len + n].copy_from_slice(&bytes[..n]);
        self.len += n;
    }

    fn number(&mut self, mut n: u64) {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.push(&digits[at..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_written_without_allocating() {
        let mut m = Message::default();
        m.push(b"task#");
        m.number(0);
        m.push(b" ");
        m.number(1234567);
        assert_eq!(&m.buffer[..m.len], b"task#0 1234567");
    }

    #[test]
    fn a_message_longer_than_the_buffer_is_cut() {
        let mut m = Message::default();
        for _ in 0..100 {
            m.push(b"0123456789");
        }
        assert_eq!(m.len, 512);
    }
}
