//! The buggy programs that read the same with shuttle's primitives as with
//! loom's: the twins of the programs of the same names in
//! `knot_bench::programs::buggy`. Needs `wait_group!` in scope.

/// Writes module `$module` with the buggy programs in `$tool`'s primitives
/// (`lost_update`, `abba`, `lost_wakeup`, `services_late_add`) and the
/// `WaitGroup` the last one uses, followed by the `$extra` items, the
/// programs that only that tool writes so.
macro_rules! buggy_twins {
    ($module:ident, $tool:ident { $($extra:item)* }) => {
        /// The buggy programs, written with the rival's primitives.
        mod $module {
            use std::sync::Arc;

            use knot_bench::programs::SERVICES;

            wait_group!($tool);

            /// Two threads increment a counter with a load then a store.
            pub(crate) fn lost_update() {
                use ::$tool::sync::atomic::{AtomicUsize, Ordering};
                let hits = Arc::new(AtomicUsize::new(0));
                let handles: Vec<_> = (0..2)
                    .map(|_| {
                        let hits = Arc::clone(&hits);
                        ::$tool::thread::spawn(move || {
                            let seen = hits.load(Ordering::SeqCst);
                            hits.store(seen + 1, Ordering::SeqCst);
                        })
                    })
                    .collect();
                for h in handles {
                    h.join().unwrap();
                }
                assert_eq!(hits.load(Ordering::SeqCst), 2, "an update was lost");
            }

            /// A thread locks `b` then `a` while main locks `a` then `b`.
            pub(crate) fn abba() {
                use ::$tool::sync::Mutex;
                let a = Arc::new(Mutex::new(0u32));
                let b = Arc::new(Mutex::new(0u32));
                let (a2, b2) = (Arc::clone(&a), Arc::clone(&b));
                let t = ::$tool::thread::spawn(move || {
                    let mut second = b2.lock().unwrap();
                    let mut first = a2.lock().unwrap();
                    *first += 1;
                    *second += 1;
                });
                {
                    let mut first = a.lock().unwrap();
                    let mut second = b.lock().unwrap();
                    *first += 1;
                    *second += 1;
                }
                t.join().unwrap();
            }

            /// Main sets a flag and notifies; the waiter waits without
            /// looking at the flag.
            pub(crate) fn lost_wakeup() {
                use ::$tool::sync::{Condvar, Mutex};
                let pair = Arc::new((Mutex::new(false), Condvar::new()));
                let theirs = Arc::clone(&pair);
                let waiter = ::$tool::thread::spawn(move || {
                    let (ready, cv) = &*theirs;
                    let ready = ready.lock().unwrap();
                    let _ready = cv.wait(ready).unwrap();
                });
                let (ready, cv) = &*pair;
                *ready.lock().unwrap() = true;
                cv.notify_one();
                waiter.join().unwrap();
            }

            /// Three threads each `add` to the wait group themselves, so
            /// main's `wait` may come first and read a partial list.
            pub(crate) fn services_late_add() {
                let wg = Arc::new(WaitGroup::default());
                let answers = Arc::new(::$tool::sync::Mutex::new(Vec::new()));
                for service in SERVICES {
                    let (wg, answers) = (Arc::clone(&wg), Arc::clone(&answers));
                    drop(::$tool::thread::spawn(move || {
                        wg.add(1);
                        answers.lock().unwrap().push(service);
                        wg.done();
                    }));
                }
                wg.wait();
                let got = answers.lock().unwrap().len();
                assert_eq!(got, 3, "main read the answers too early");
            }

            $($extra)*
        }
    };
}
