//! A clear message when a task overflows its stack.
//!
//! A task's stack has a guard page below it, so an overflow faults instead
//! of overwriting other memory. The standard library only recognises the
//! guard pages of thread stacks: on a coroutine stack the process would die
//! of a bare "Segmentation fault". This module installs a `SIGSEGV` handler
//! (running on the thread's alternate signal stack, which the standard
//! library sets up for every thread) that checks whether the faulting
//! address is in the guard page of the task its worker is running; if it
//! is, it names the task before the process dies. Every other fault goes to
//! the handler that was installed before, untouched.

use std::panic::Location;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;

use crate::scheduler::Runtime;

/// Installs the handler, once per process.
pub(crate) fn install() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
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

/// The previous `SIGSEGV` action, leaked so that the handler can restore it.
static PREVIOUS: AtomicUsize = AtomicUsize::new(0);

/// Where the handler finds the workers' running stacks.
static RUNTIME: AtomicUsize = AtomicUsize::new(0);

pub(crate) fn watch(runtime: &'static Runtime) {
    RUNTIME.store(runtime as *const Runtime as usize, Ordering::Release);
}

extern "C" fn on_fault(
    _signal: libc::c_int,
    info: *mut libc::siginfo_t,
    _context: *mut libc::c_void,
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
            if limit != 0 && address >= limit && address < limit + guard_size() {
                report(
                    worker.running.load(Ordering::Relaxed),
                    worker.running_site.load(),
                );
                break;
            }
        }
    }
    // Give the fault back to the previous handler: the faulting instruction
    // runs again once this returns, and faults into it.
    let previous = PREVIOUS.load(Ordering::Acquire);
    // SAFETY: `previous` is the action `install` saved, leaked and never
    // freed; restoring it is what `sigaction` is for.
    unsafe {
        if previous != 0 {
            libc::sigaction(
                libc::SIGSEGV,
                previous as *const libc::sigaction,
                std::ptr::null_mut(),
            );
        } else {
            libc::signal(libc::SIGSEGV, libc::SIG_DFL);
        }
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

fn guard_size() -> usize {
    // Page size: the guard is one page. 4 KiB unless the system says
    // otherwise; `sysconf` is async-signal-safe.
    // SAFETY: `sysconf` has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(page).unwrap_or(4096)
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
