//! The `runtime` report: knot's live runtime next to std threads and tokio
//! on the same work.
//!
//! Four programs, each measured for knot, tokio (multi-thread runtime, two
//! workers) and std threads (crossbeam-channel between two std threads for
//! the channel program):
//!
//! 1. spawn and join many tasks that each return a number (time per task,
//!    median of [`SPAWN_RUNS`] runs after a warm-up run);
//! 2. the resident memory of [`PARKED`] tasks parked on a shared channel,
//!    per task;
//! 3. the throughput of a bounded channel of capacity 1024 between one
//!    producer and one consumer;
//! 4. three 200 ms service calls made concurrently and joined (wall time).
//!
//! Every measurement runs in a child process of its own (the benchmark
//! re-runs its own binary with `runtime-phase NAME`), so that no runtime,
//! pooled stack or allocator state of one measurement distorts another; the
//! child prints `value NAME NUMBER` lines that the parent reads.

use std::collections::HashMap;
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Tasks spawned and joined per run by knot and tokio.
const SPAWN_TASKS: usize = 100_000;

/// Threads spawned and joined per run by std, fewer because each is an OS
/// thread; the figure compared is the time per task.
const SPAWN_THREADS: usize = 10_000;

/// Timed runs of the spawn program, after one warm-up run.
const SPAWN_RUNS: usize = 5;

/// Tasks (or threads) parked at once for the memory program.
const PARKED: usize = 30_000;

/// Stack size of the parked std threads.
const THREAD_STACK: usize = 64 * 1024;

/// Memory mappings left unused when parking std threads.
const MAPPING_HEADROOM: usize = 2_000;

/// Messages sent through the channel per run.
const MESSAGES: u64 = 5_000_000;

/// Capacity of the channel of the throughput program.
const CAPACITY: usize = 1024;

/// Timed runs of the channel program, after one warm-up run.
const CHANNEL_RUNS: usize = 5;

/// How long each of the three service calls takes.
const CALL: Duration = Duration::from_millis(200);

/// Timed runs of the service-call program, after one warm-up run.
const CALL_RUNS: usize = 5;

/// Worker threads of the knot and tokio runtimes.
const WORKERS: usize = 2;

/// Every phase, in the order they run: the memory phases first (each is a
/// fresh process anyway).
const PHASES: [&str; 12] = [
    "memory-knot",
    "memory-tokio",
    "memory-std",
    "spawn-knot",
    "spawn-tokio",
    "spawn-std",
    "channel-knot",
    "channel-tokio",
    "channel-crossbeam",
    "calls-knot",
    "calls-tokio",
    "calls-std",
];

/// Runs every phase in a child process and prints the table.
pub(crate) fn report() -> ExitCode {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            eprintln!("knot-bench: cannot find my own binary: {e}");
            return ExitCode::FAILURE;
        }
    };
    let started = Instant::now();
    let mut values: HashMap<String, f64> = HashMap::new();
    for name in PHASES {
        eprintln!("knot-bench: {name}");
        let output = Command::new(&exe)
            .args(["runtime-phase", name])
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output();
        match output {
            Ok(output) if output.status.success() => {
                for line in String::from_utf8_lossy(&output.stdout).lines() {
                    let mut words = line.split_whitespace();
                    if let (Some("value"), Some(key), Some(number)) =
                        (words.next(), words.next(), words.next())
                    {
                        if let Ok(number) = number.parse::<f64>() {
                            values.insert(format!("{name}.{key}"), number);
                        }
                    }
                }
            }
            Ok(output) => eprintln!("knot-bench: {name} failed: {}", output.status),
            Err(e) => eprintln!("knot-bench: {name} could not start: {e}"),
        }
    }
    let total = started.elapsed();
    print_table(&values);
    println!();
    println!("total run: {:.0} s", total.as_secs_f64());
    ExitCode::SUCCESS
}

/// One row of the table.
struct Row {
    program: &'static str,
    knot: Option<f64>,
    tokio: Option<f64>,
    std: Option<f64>,
    unit: &'static str,
    /// The ratio of knot to its main rival, and which two it compares.
    ratio: Option<(f64, &'static str)>,
    target: &'static str,
    met: Option<bool>,
}

fn print_table(values: &HashMap<String, f64>) {
    let get = |key: &str| values.get(key).copied();
    let ratio = |a: Option<f64>, b: Option<f64>, what: &'static str| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some((a / b, what)),
        _ => None,
    };

    let spawn_knot = get("spawn-knot.ns_per_task").map(|ns| ns / 1000.0);
    let spawn_tokio = get("spawn-tokio.ns_per_task").map(|ns| ns / 1000.0);
    let spawn_std = get("spawn-std.ns_per_task").map(|ns| ns / 1000.0);
    let memory_knot = get("memory-knot.kib_per_task");
    let memory_tokio = get("memory-tokio.kib_per_task");
    let memory_std = get("memory-std.kib_per_task");
    let channel_knot = get("channel-knot.messages_per_s").map(|m| m / 1e6);
    let channel_tokio = get("channel-tokio.messages_per_s").map(|m| m / 1e6);
    let channel_crossbeam = get("channel-crossbeam.messages_per_s").map(|m| m / 1e6);
    let calls_knot = get("calls-knot.ms");
    let calls_tokio = get("calls-tokio.ms");
    let calls_std = get("calls-std.ms");

    let spawn_ratio = ratio(spawn_knot, spawn_tokio, "knot/tokio");
    let channel_ratio = ratio(channel_knot, channel_crossbeam, "knot/crossbeam");
    let rows = [
        Row {
            program: "spawn + join, time per task",
            knot: spawn_knot,
            tokio: spawn_tokio,
            std: spawn_std,
            unit: "us",
            ratio: spawn_ratio,
            target: "knot/tokio <= 1.00",
            met: spawn_ratio.map(|(r, _)| r <= 1.0),
        },
        Row {
            program: "RSS per parked task",
            knot: memory_knot,
            tokio: memory_tokio,
            std: memory_std,
            unit: "KiB",
            ratio: ratio(memory_knot, memory_std, "knot/std"),
            target: "knot <= 8 KiB",
            met: memory_knot.map(|k| k <= 8.0),
        },
        Row {
            program: "channel (cap 1024), u64 msgs/s",
            knot: channel_knot,
            tokio: channel_tokio,
            std: channel_crossbeam,
            unit: "M",
            ratio: channel_ratio,
            target: "knot/crossbeam >= 0.50",
            met: channel_ratio.map(|(r, _)| r >= 0.5),
        },
        Row {
            program: "3 concurrent 200 ms calls, wall",
            knot: calls_knot,
            tokio: calls_tokio,
            std: calls_std,
            unit: "ms",
            ratio: ratio(calls_knot, calls_tokio, "knot/tokio"),
            target: "knot <= 220 ms",
            met: calls_knot.map(|ms| ms <= 220.0),
        },
    ];

    println!(
        "{:<32} {:>11} {:>11} {:>11}  {:<21} {:<23} met",
        "program", "knot", "tokio", "std", "ratio", "target"
    );
    for row in &rows {
        let cell = |v: Option<f64>| match v {
            Some(v) if v >= 100.0 => format!("{v:.0} {}", row.unit),
            Some(v) if v >= 10.0 => format!("{v:.1} {}", row.unit),
            Some(v) => format!("{v:.2} {}", row.unit),
            None => "failed".to_string(),
        };
        let ratio = match row.ratio {
            Some((r, what)) => format!("{r:.2} {what}"),
            None => "-".to_string(),
        };
        let met = match row.met {
            Some(true) => "met",
            Some(false) => "NOT MET",
            None => "-",
        };
        println!(
            "{:<32} {:>11} {:>11} {:>11}  {:<21} {:<23} {}",
            row.program,
            cell(row.knot),
            cell(row.tokio),
            cell(row.std),
            ratio,
            row.target,
            met
        );
    }
    println!();
    let count = |key: &str| {
        get(key)
            .map(|n| format!("{n:.0}"))
            .unwrap_or_else(|| "?".to_string())
    };
    println!(
        "spawn: {SPAWN_TASKS} knot and tokio tasks, {SPAWN_THREADS} std threads a run; \
         median of {SPAWN_RUNS} runs after a warm-up"
    );
    println!(
        "memory: RSS growth with all parked, over the count parked: knot {} and tokio {} \
         tasks on one shared channel (knot stacks held: {})",
        count("memory-knot.parked"),
        count("memory-tokio.parked"),
        count("memory-knot.stacks"),
    );
    println!(
        "        std {} threads of {PARKED} ({} KiB stacks, on a Mutex and Condvar gate), \
         stopped by vm.max_map_count at {} mappings a thread",
        count("memory-std.parked"),
        THREAD_STACK / 1024,
        get("memory-std.mappings_per_thread")
            .map(|n| format!("{n:.1}"))
            .unwrap_or_else(|| "?".to_string()),
    );
    println!(
        "channel: {MESSAGES} messages, one producer and one consumer; std column is \
         crossbeam-channel between two std threads; median of {CHANNEL_RUNS} runs"
    );
    println!("calls: median of {CALL_RUNS} runs after a warm-up");
}

/// Runs one phase in this (child) process and prints its values.
pub(crate) fn phase(name: &str) -> ExitCode {
    match name {
        "memory-knot" => memory_knot(),
        "memory-tokio" => memory_tokio(),
        "memory-std" => memory_std(),
        "spawn-knot" => {
            start_knot();
            timed_runs("ns_per_task", SPAWN_RUNS, SPAWN_TASKS, || {
                spawn_knot(SPAWN_TASKS)
            })
        }
        "spawn-tokio" => {
            let rt = tokio_runtime();
            timed_runs("ns_per_task", SPAWN_RUNS, SPAWN_TASKS, || {
                spawn_tokio(&rt, SPAWN_TASKS)
            })
        }
        "spawn-std" => timed_runs("ns_per_task", SPAWN_RUNS, SPAWN_THREADS, || {
            spawn_std(SPAWN_THREADS)
        }),
        "channel-knot" => {
            start_knot();
            throughput(channel_knot)
        }
        "channel-tokio" => {
            let rt = tokio_runtime();
            throughput(|n| channel_tokio(&rt, n))
        }
        "channel-crossbeam" => throughput(channel_crossbeam),
        "calls-knot" => {
            start_knot();
            calls(calls_knot)
        }
        "calls-tokio" => {
            let rt = tokio_runtime();
            calls(|| calls_tokio(&rt))
        }
        "calls-std" => calls(calls_std),
        _ => {
            eprintln!("knot-bench: no runtime phase named {name}");
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}

fn start_knot() {
    if knot::runtime::Builder::new()
        .workers(WORKERS)
        .start()
        .is_err()
    {
        eprintln!("knot-bench: the knot runtime had already started");
    }
}

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKERS)
        .enable_time()
        .build()
        .expect("a tokio runtime")
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

/// One warm-up run, then `runs` timed ones; prints the median time per
/// unit of work in nanoseconds.
fn timed_runs(key: &str, runs: usize, per: usize, mut run: impl FnMut() -> u64) {
    std::hint::black_box(run());
    let samples = (0..runs)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(run());
            started.elapsed()
        })
        .collect();
    let ns = median(samples).as_nanos() as f64 / per as f64;
    println!("value {key} {ns}");
}

fn spawn_knot(n: usize) -> u64 {
    let handles: Vec<_> = (0..n as u64).map(|i| knot::spawn(move || i)).collect();
    handles.into_iter().map(|h| h.join().unwrap()).sum()
}

fn spawn_tokio(rt: &tokio::runtime::Runtime, n: usize) -> u64 {
    rt.block_on(async {
        let handles: Vec<_> = (0..n as u64)
            .map(|i| tokio::spawn(async move { i }))
            .collect();
        let mut sum = 0;
        for handle in handles {
            sum += handle.await.unwrap();
        }
        sum
    })
}

fn spawn_std(n: usize) -> u64 {
    let handles: Vec<_> = (0..n as u64)
        .map(|i| std::thread::spawn(move || i))
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).sum()
}

/// The resident set of this process, in KiB.
fn rss_kib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmRSS:"))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|kib| kib.parse::<f64>().ok())
        })
        .unwrap_or(f64::NAN)
}

/// Waits until `started` reaches `n`, then a little longer so the last
/// ones are parked, not just about to.
fn await_parked(started: &AtomicUsize, n: usize) {
    while started.load(Ordering::Acquire) < n {
        std::thread::sleep(Duration::from_millis(1));
    }
    std::thread::sleep(Duration::from_millis(200));
}

fn print_memory(before: f64, parked: f64, n: usize) {
    println!("value parked {n}");
    println!("value rss_before_kib {before}");
    println!("value rss_parked_kib {parked}");
    println!("value kib_per_task {}", (parked - before) / n as f64);
}

fn memory_knot() {
    start_knot();
    // Worker threads up and one stack pooled before the baseline.
    knot::spawn(|| 0).join().unwrap();
    let before = rss_kib();
    let started = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = knot::chan::bounded::<()>(0);
    let handles: Vec<_> = (0..PARKED)
        .map(|_| {
            let started = Arc::clone(&started);
            let rx = rx.clone();
            knot::spawn(move || {
                started.fetch_add(1, Ordering::Release);
                let _ = rx.recv();
            })
        })
        .collect();
    await_parked(&started, PARKED);
    let parked = rss_kib();
    let (stacks, _) = knot::runtime::stacks();
    drop(tx);
    for handle in handles {
        handle.join().unwrap();
    }
    print_memory(before, parked, PARKED);
    println!("value stacks {stacks}");
}

fn memory_tokio() {
    let rt = tokio_runtime();
    rt.block_on(rt.spawn(async { 0 })).unwrap();
    let before = rss_kib();
    let started = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = tokio::sync::watch::channel(());
    let handles: Vec<_> = (0..PARKED)
        .map(|_| {
            let started = Arc::clone(&started);
            let mut rx = rx.clone();
            rt.spawn(async move {
                started.fetch_add(1, Ordering::Release);
                let _ = rx.changed().await;
            })
        })
        .collect();
    await_parked(&started, PARKED);
    let parked = rss_kib();
    let _ = tx.send(());
    rt.block_on(async {
        for handle in handles {
            handle.await.unwrap();
        }
    });
    print_memory(before, parked, PARKED);
}

/// The number of memory mappings this process has.
fn mappings() -> usize {
    std::fs::read_to_string("/proc/self/maps")
        .map(|maps| maps.lines().count())
        .unwrap_or(0)
}

/// The kernel's limit on the memory mappings of a process.
fn max_mappings() -> usize {
    std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(65_530)
}

fn memory_std() {
    // Each std thread takes several mappings (its stack, the stack's guard
    // page, its signal stack and that one's guard); a thread that cannot
    // map its signal stack aborts the process, so spawning stops while
    // there is room to spare.
    let room = max_mappings().saturating_sub(MAPPING_HEADROOM);
    let at_start = mappings();
    let before = rss_kib();
    let started = Arc::new(AtomicUsize::new(0));
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    let mut handles = Vec::with_capacity(PARKED);
    for i in 0..PARKED {
        if i % 256 == 0 && mappings() > room {
            eprintln!(
                "knot-bench: stopped at {i} std threads, near the limit of {} memory mappings",
                max_mappings()
            );
            break;
        }
        let started = Arc::clone(&started);
        let gate = Arc::clone(&gate);
        let spawned = std::thread::Builder::new()
            .stack_size(THREAD_STACK)
            .spawn(move || {
                started.fetch_add(1, Ordering::Release);
                let (open, opened) = &*gate;
                let mut open = open.lock().unwrap();
                while !*open {
                    open = opened.wait(open).unwrap();
                }
            });
        match spawned {
            Ok(handle) => handles.push(handle),
            Err(e) => {
                eprintln!("knot-bench: std thread {i} could not be spawned: {e}");
                break;
            }
        }
    }
    let n = handles.len();
    await_parked(&started, n);
    let parked = rss_kib();
    let per_thread = (mappings() - at_start) as f64 / n as f64;
    {
        let (open, opened) = &*gate;
        *open.lock().unwrap() = true;
        opened.notify_all();
    }
    for handle in handles {
        handle.join().unwrap();
    }
    print_memory(before, parked, n);
    println!("value mappings_per_thread {per_thread}");
}

/// One warm-up run of `run` with a tenth of the messages, then
/// [`CHANNEL_RUNS`] timed ones; prints the median messages per second.
fn throughput(mut run: impl FnMut(u64) -> u64) {
    let expected = MESSAGES * (MESSAGES - 1) / 2;
    run(MESSAGES / 10);
    let samples = (0..CHANNEL_RUNS)
        .map(|_| {
            let started = Instant::now();
            let sum = run(MESSAGES);
            let elapsed = started.elapsed();
            assert_eq!(sum, expected, "every message arrives once");
            elapsed
        })
        .collect();
    println!(
        "value messages_per_s {}",
        MESSAGES as f64 / median(samples).as_secs_f64()
    );
}

fn channel_knot(n: u64) -> u64 {
    let (tx, rx) = knot::chan::bounded::<u64>(CAPACITY);
    let producer = knot::spawn(move || {
        for i in 0..n {
            tx.send(i).unwrap();
        }
    });
    let consumer = knot::spawn(move || {
        let mut sum = 0u64;
        while let Ok(v) = rx.recv() {
            sum = sum.wrapping_add(v);
        }
        sum
    });
    producer.join().unwrap();
    consumer.join().unwrap()
}

fn channel_tokio(rt: &tokio::runtime::Runtime, n: u64) -> u64 {
    rt.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(CAPACITY);
        let producer = tokio::spawn(async move {
            for i in 0..n {
                tx.send(i).await.unwrap();
            }
        });
        let consumer = tokio::spawn(async move {
            let mut sum = 0u64;
            while let Some(v) = rx.recv().await {
                sum = sum.wrapping_add(v);
            }
            sum
        });
        producer.await.unwrap();
        consumer.await.unwrap()
    })
}

fn channel_crossbeam(n: u64) -> u64 {
    let (tx, rx) = crossbeam_channel::bounded::<u64>(CAPACITY);
    let producer = std::thread::spawn(move || {
        for i in 0..n {
            tx.send(i).unwrap();
        }
    });
    let consumer = std::thread::spawn(move || {
        let mut sum = 0u64;
        while let Ok(v) = rx.recv() {
            sum = sum.wrapping_add(v);
        }
        sum
    });
    producer.join().unwrap();
    consumer.join().unwrap()
}

/// One warm-up run, then [`CALL_RUNS`] timed ones; prints the median wall
/// time in milliseconds.
fn calls(mut run: impl FnMut() -> u64) {
    assert_eq!(run(), 6, "every call answers");
    let samples = (0..CALL_RUNS)
        .map(|_| {
            let started = Instant::now();
            std::hint::black_box(run());
            started.elapsed()
        })
        .collect();
    println!("value ms {}", median(samples).as_secs_f64() * 1000.0);
}

fn calls_knot() -> u64 {
    let handles: Vec<_> = (1..=3u64)
        .map(|i| {
            knot::spawn(move || {
                knot::time::sleep(CALL);
                i
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).sum()
}

fn calls_tokio(rt: &tokio::runtime::Runtime) -> u64 {
    rt.block_on(async {
        let handles: Vec<_> = (1..=3u64)
            .map(|i| {
                tokio::spawn(async move {
                    tokio::time::sleep(CALL).await;
                    i
                })
            })
            .collect();
        let mut sum = 0;
        for handle in handles {
            sum += handle.await.unwrap();
        }
        sum
    })
}

fn calls_std() -> u64 {
    let handles: Vec<_> = (1..=3u64)
        .map(|i| {
            std::thread::spawn(move || {
                std::thread::sleep(CALL);
                i
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).sum()
}
