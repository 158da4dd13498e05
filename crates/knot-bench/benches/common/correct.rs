//! The correct programs that read the same with shuttle's primitives as
//! with loom's: the twins of the programs of the same names in
//! `knot_bench::programs`.

/// Writes module `$module` with the correct programs in `$tool`'s
/// primitives (`atomic`, `ordered_locks`, `counter`, `condvar`), followed
/// by the `$extra` items, the programs that only that tool writes so.
macro_rules! correct_twins {
    ($module:ident, $tool:ident { $($extra:item)* }) => {
        /// The correct programs, written with the rival's primitives.
        mod $module {
            use std::sync::Arc;

            /// Two threads each add one to an atomic with `fetch_add`.
            pub(crate) fn atomic() {
                use ::$tool::sync::atomic::{AtomicUsize, Ordering};
                let hits = Arc::new(AtomicUsize::new(0));
                let handles: Vec<_> = (0..2)
                    .map(|_| {
                        let hits = Arc::clone(&hits);
                        ::$tool::thread::spawn(move || {
                            hits.fetch_add(1, Ordering::SeqCst);
                        })
                    })
                    .collect();
                for h in handles {
                    h.join().unwrap();
                }
                assert_eq!(hits.load(Ordering::SeqCst), 2);
            }

            /// Two threads each lock `a` then `b`, in the same order, and
            /// bump both.
            pub(crate) fn ordered_locks() {
                use ::$tool::sync::Mutex;
                let a = Arc::new(Mutex::new(0u32));
                let b = Arc::new(Mutex::new(0u32));
                let handles: Vec<_> = (0..2)
                    .map(|_| {
                        let (a, b) = (Arc::clone(&a), Arc::clone(&b));
                        ::$tool::thread::spawn(move || {
                            let mut first = a.lock().unwrap();
                            let mut second = b.lock().unwrap();
                            *first += 1;
                            *second += 1;
                        })
                    })
                    .collect();
                for h in handles {
                    h.join().unwrap();
                }
                assert_eq!((*a.lock().unwrap(), *b.lock().unwrap()), (2, 2));
            }

            /// `tasks` threads each increment a mutex-protected counter
            /// `increments` times; main joins them and checks the total.
            pub(crate) fn counter(tasks: usize, increments: usize) {
                let m = Arc::new(::$tool::sync::Mutex::new(0));
                let handles: Vec<_> = (0..tasks)
                    .map(|_| {
                        let m = Arc::clone(&m);
                        ::$tool::thread::spawn(move || {
                            for _ in 0..increments {
                                *m.lock().unwrap() += 1;
                            }
                        })
                    })
                    .collect();
                for h in handles {
                    h.join().unwrap();
                }
                assert_eq!(*m.lock().unwrap(), tasks * increments);
            }

            /// A waiter waits on a condition variable until a flag is set,
            /// checking the flag in a loop; main sets it and notifies.
            pub(crate) fn condvar() {
                use ::$tool::sync::{Condvar, Mutex};
                let pair = Arc::new((Mutex::new(false), Condvar::new()));
                let theirs = Arc::clone(&pair);
                let waiter = ::$tool::thread::spawn(move || {
                    let (ready, cv) = &*theirs;
                    let mut ready = ready.lock().unwrap();
                    while !*ready {
                        ready = cv.wait(ready).unwrap();
                    }
                });
                let (ready, cv) = &*pair;
                *ready.lock().unwrap() = true;
                cv.notify_one();
                waiter.join().unwrap();
            }

            $($extra)*
        }
    };
}
