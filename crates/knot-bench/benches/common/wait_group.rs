//! Go's `sync.WaitGroup` for the rivals, which have none.

/// Writes `WaitGroup`, Go's `sync.WaitGroup` built from `$tool`'s mutex and
/// condition variable, as Go builds it: all shuttle and loom offer for it.
macro_rules! wait_group {
    ($tool:ident) => {
        /// Go's `sync.WaitGroup`, from a mutex and a condition variable.
        #[derive(Default)]
        pub(crate) struct WaitGroup {
            count: ::$tool::sync::Mutex<usize>,
            zero: ::$tool::sync::Condvar,
        }

        impl WaitGroup {
            /// Adds `n` to the count.
            pub(crate) fn add(&self, n: usize) {
                *self.count.lock().unwrap() += n;
            }

            /// Takes one from the count, waking the waiters at zero.
            pub(crate) fn done(&self) {
                let mut count = self.count.lock().unwrap();
                *count -= 1;
                if *count == 0 {
                    self.zero.notify_all();
                }
            }

            /// Waits until the count is zero.
            pub(crate) fn wait(&self) {
                let mut count = self.count.lock().unwrap();
                while *count > 0 {
                    count = self.zero.wait(count).unwrap();
                }
            }
        }
    };
}
