//! Conformance of `select!`: the `default` arm, timeout arms on
//! `knot::time::after`, send arms, closed channels, the fairness of the
//! choice between ready arms live, and, under the checker, the exploration
//! of every ready arm.
//!
//! Most properties are one program run twice, live and under the checker
//! (where every explored execution must pass without a report).

use std::collections::{BTreeSet, VecDeque};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use knot::chan::{self, RecvError, SendError, TryRecvError};
use knot::time::Instant;
use knot::{Checker, Outcome, ReportKind};
use knot_tests::both;
use knot_tests::support::{self, live, named, pause, PATIENCE};

const SEED: u64 = 0x5eed_5e1e;
const ITERATIONS: u64 = 300;

fn checker() -> Checker {
    Checker::new().seed(SEED).iterations(ITERATIONS)
}

/// Explores `program` and asserts that no execution fails.
fn checked<F: Fn() + 'static>(program: F) {
    let outcome: Outcome = checker().run(program);
    support::expect_clean(&outcome, ITERATIONS);
}

// ---------------------------------------------------------------------------
// default
// ---------------------------------------------------------------------------

/// With nothing ready, `default` runs at once, and the arms that did not run
/// left their channels as they were. A select cannot pair its own send with
/// its own receive on a rendezvous channel.
fn default_when_nothing_is_ready() {
    let (_empty_tx, empty_rx) = chan::bounded::<u32>(1);
    let (zero_tx, zero_rx) = chan::bounded::<u32>(0);
    let (full_tx, full_rx) = chan::bounded::<u32>(1);
    full_tx.send(1).unwrap();
    let taken = knot::select! {
        recv(empty_rx) -> _ => "recv empty",
        recv(zero_rx) -> _ => "recv rendezvous",
        send(zero_tx, 2) -> _ => "send rendezvous",
        send(full_tx, 3) -> _ => "send full",
        default => "default",
    };
    assert_eq!(taken, "default");
    assert_eq!(full_rx.try_recv(), Ok(1));
    assert_eq!(
        full_rx.try_recv(),
        Err(TryRecvError::Empty),
        "3 was not sent"
    );
    assert_eq!(zero_rx.try_recv(), Err(TryRecvError::Empty));
}
both!(default_when_nothing_is_ready);

/// With an arm ready, `default` does not run: a buffered value, room in the
/// buffer and a closed channel are all ready.
fn default_not_taken_when_an_arm_is_ready() {
    let (tx, rx) = chan::bounded::<u32>(1);
    tx.send(5).unwrap();
    knot::select! {
        recv(rx) -> v => assert_eq!(v, Ok(5)),
        default => panic!("a value was buffered"),
    }
    knot::select! {
        send(tx, 6) -> r => assert_eq!(r, Ok(())),
        default => panic!("the buffer had room"),
    }
    assert_eq!(rx.try_recv(), Ok(6));
    tx.close();
    knot::select! {
        recv(rx) -> v => assert_eq!(v, Err(RecvError)),
        default => panic!("a closed channel is ready"),
    }
    knot::select! {
        send(tx, 7) -> r => assert_eq!(r, Err(SendError(7))),
        default => panic!("a closed channel is ready to fail a send"),
    }
}
both!(default_not_taken_when_an_arm_is_ready);

/// A rendezvous send with `default` succeeds once a receiver waits: until
/// then `default` runs, afterwards the send arm does.
fn default_until_a_receiver_waits() {
    let (tx, rx) = chan::bounded::<u32>(0);
    let receiver = named("receiver", move || rx.recv());
    loop {
        let sent = knot::select! {
            send(tx, 4) -> r => { r.unwrap(); true }
            default => false,
        };
        if sent {
            break;
        }
        pause();
    }
    assert_eq!(receiver.join().unwrap(), Ok(4));
}
both!(default_until_a_receiver_waits);

/// Under the checker, whether a value sent by another task is already there
/// when main polls with `default` depends on the interleaving: both outcomes
/// are explored.
#[test]
fn default_and_a_racing_send_are_both_explored() {
    let seen = Arc::new(StdMutex::new(BTreeSet::new()));
    let s = Arc::clone(&seen);
    checked(move || {
        let (tx, rx) = chan::bounded::<u32>(1);
        let sender = named("sender", move || tx.send(1).unwrap());
        let got = knot::select! {
            recv(rx) -> v => { assert_eq!(v, Ok(1)); "value" }
            default => "default",
        };
        s.lock().unwrap().insert(got);
        sender.join().unwrap();
    });
    assert_eq!(
        *seen.lock().unwrap(),
        BTreeSet::from(["default", "value"]),
        "both outcomes explored"
    );
}

// ---------------------------------------------------------------------------
// Timeout arms
// ---------------------------------------------------------------------------

/// With nothing sent, the arm on `knot::time::after` runs once the time has
/// passed, and receives the time it fired at.
fn timeout_arm_on_a_silent_channel() {
    let (tx, rx) = chan::bounded::<u32>(0);
    let start = Instant::now();
    let timeout = Duration::from_millis(20);
    knot::select! {
        recv(rx) -> v => panic!("nothing was sent, got {v:?}"),
        recv(knot::time::after(timeout)) -> fired => {
            let fired = fired.expect("the timer sends the time");
            assert!(fired >= start + timeout, "fired at {fired}, started at {start}");
        }
    }
    assert!(start.elapsed() >= timeout);
    drop(tx);
}
both!(timeout_arm_on_a_silent_channel);

/// Live, a reply well within the timeout wins.
#[test]
fn a_prompt_reply_beats_the_timeout_live() {
    live(|| {
        let (tx, rx) = chan::bounded::<u32>(0);
        let worker = named("worker", move || {
            knot::time::sleep(Duration::from_millis(2));
            tx.send(1)
        });
        knot::select! {
            recv(rx) -> v => assert_eq!(v, Ok(1)),
            recv(knot::time::after(PATIENCE)) -> _ => panic!("the timeout won"),
        }
        worker.join().unwrap().unwrap();
    });
}

// ---------------------------------------------------------------------------
// Waiting
// ---------------------------------------------------------------------------

/// A select with nothing ready waits, and wakes with the arm that became
/// ready.
fn select_waits_for_the_first_ready_arm() {
    let (a_tx, a_rx) = chan::bounded::<u32>(0);
    let (b_tx, b_rx) = chan::bounded::<u32>(0);
    let sender = named("b-sender", move || {
        pause();
        b_tx.send(2)
    });
    knot::select! {
        recv(a_rx) -> v => panic!("nothing is sent on a, got {v:?}"),
        recv(b_rx) -> v => assert_eq!(v, Ok(2)),
    }
    assert_eq!(sender.join().unwrap(), Ok(()));
    drop(a_tx);
}
both!(select_waits_for_the_first_ready_arm);

/// Of four arms, only the ready ones run; the arm index maps to its body.
fn only_ready_arms_run() -> usize {
    let (_a_tx, a_rx) = chan::bounded::<u32>(1);
    let (b_tx, b_rx) = chan::bounded::<u32>(1);
    let (_c_tx, c_rx) = chan::bounded::<u32>(1);
    let (d_tx, d_rx) = chan::bounded::<u32>(1);
    b_tx.send(1).unwrap();
    d_tx.send(3).unwrap();
    knot::select! {
        recv(a_rx) -> _ => panic!("arm 0 was not ready"),
        recv(b_rx) -> v => { assert_eq!(v, Ok(1)); 1 }
        recv(c_rx) -> _ => panic!("arm 2 was not ready"),
        recv(d_rx) -> v => { assert_eq!(v, Ok(3)); 3 }
    }
}

#[test]
fn only_ready_arms_run_live() {
    live(|| {
        let mut seen = BTreeSet::new();
        for _ in 0..200 {
            seen.insert(only_ready_arms_run());
        }
        assert_eq!(seen, BTreeSet::from([1, 3]));
    });
}

#[test]
fn only_ready_arms_run_checked() {
    let seen = Arc::new(StdMutex::new(BTreeSet::new()));
    let s = Arc::clone(&seen);
    checked(move || {
        let arm = only_ready_arms_run();
        s.lock().unwrap().insert(arm);
    });
    assert_eq!(*seen.lock().unwrap(), BTreeSet::from([1, 3]));
}

// ---------------------------------------------------------------------------
// Fairness
// ---------------------------------------------------------------------------

/// Live, two arms that are always ready are each chosen about half of the
/// time: over 2,000 selects, each between 35% and 65%.
#[test]
fn select_is_fair_between_ready_receives_live() {
    live(|| {
        const SELECTS: u32 = 2_000;
        let (a_tx, a_rx) = chan::unbounded::<u32>();
        let (b_tx, b_rx) = chan::unbounded::<u32>();
        for i in 0..SELECTS {
            a_tx.send(i).unwrap();
            b_tx.send(i).unwrap();
        }
        let mut counts = [0_u32; 2];
        for _ in 0..SELECTS {
            knot::select! {
                recv(a_rx) -> v => { v.unwrap(); counts[0] += 1; }
                recv(b_rx) -> v => { v.unwrap(); counts[1] += 1; }
            }
        }
        assert_eq!(counts[0] + counts[1], SELECTS);
        for c in counts {
            assert!(
                (SELECTS * 35 / 100..=SELECTS * 65 / 100).contains(&c),
                "unfair choice: {counts:?}"
            );
        }
        // What was taken from each channel is what the counts say.
        assert_eq!(a_rx.len() as u32, SELECTS - counts[0]);
        assert_eq!(b_rx.len() as u32, SELECTS - counts[1]);
    });
}

/// The same for two send arms with room.
#[test]
fn select_is_fair_between_ready_sends_live() {
    live(|| {
        const SELECTS: u32 = 2_000;
        let (a_tx, a_rx) = chan::unbounded::<u32>();
        let (b_tx, b_rx) = chan::unbounded::<u32>();
        for i in 0..SELECTS {
            knot::select! {
                send(a_tx, i) -> r => r.unwrap(),
                send(b_tx, i) -> r => r.unwrap(),
            }
        }
        let (a, b) = (a_rx.len() as u32, b_rx.len() as u32);
        assert_eq!(a + b, SELECTS);
        for c in [a, b] {
            assert!(
                (SELECTS * 35 / 100..=SELECTS * 65 / 100).contains(&c),
                "unfair choice: {a} / {b}"
            );
        }
    });
}

// ---------------------------------------------------------------------------
// Under the checker, every ready arm is explored
// ---------------------------------------------------------------------------

/// Both arms are ready; the program claims that arm `claimed` always wins.
fn claims_an_arm_always_wins(claimed: usize) {
    let (a_tx, a_rx) = chan::bounded::<&str>(1);
    let (b_tx, b_rx) = chan::bounded::<&str>(1);
    a_tx.send("a").unwrap();
    b_tx.send("b").unwrap();
    let won = knot::select! {
        recv(a_rx) -> v => { assert_eq!(v, Ok("a")); 0 }
        recv(b_rx) -> v => { assert_eq!(v, Ok("b")); 1 }
    };
    assert_eq!(won, claimed, "arm {claimed} always wins");
}

#[test]
fn the_checker_explores_both_ready_arms() {
    for claimed in [0, 1] {
        for seed in [1, 2, 3, 0x5eed] {
            let program = move || claims_an_arm_always_wins(claimed);
            let outcome = Checker::new().seed(seed).iterations(100).run(program);
            let report = outcome.report.unwrap_or_else(|| {
                panic!("seed {seed}: the claim that arm {claimed} always wins was not refuted")
            });
            assert_eq!(report.kind(), ReportKind::Panic, "{report}");
            assert!(
                report
                    .message()
                    .contains(&format!("arm {claimed} always wins")),
                "{report}"
            );
            // The schedule records the arm: replaying it fails the same way.
            let replayed = Checker::new()
                .replay(report.schedule(), program)
                .report
                .expect("the replay fails too");
            assert_eq!(replayed.kind(), ReportKind::Panic);
            assert_eq!(replayed.message(), report.message());
        }
    }
}

#[test]
fn the_checker_sees_both_arms_win_across_executions() {
    let wins = Arc::new(StdMutex::new([0_u64; 2]));
    let w = Arc::clone(&wins);
    checked(move || {
        let (a_tx, a_rx) = chan::bounded::<u32>(1);
        let (b_tx, b_rx) = chan::bounded::<u32>(1);
        a_tx.send(0).unwrap();
        b_tx.send(1).unwrap();
        let won = knot::select! {
            recv(a_rx) -> v => v.unwrap(),
            recv(b_rx) -> v => v.unwrap(),
        };
        w.lock().unwrap()[won as usize] += 1;
    });
    let wins = *wins.lock().unwrap();
    assert_eq!(wins[0] + wins[1], ITERATIONS);
    assert!(wins[0] > 0 && wins[1] > 0, "{wins:?}");
}

// ---------------------------------------------------------------------------
// Send arms
// ---------------------------------------------------------------------------

/// A send arm with room sends; a send-only select on a rendezvous channel
/// waits for a receiver; a send arm that loses sends nothing.
fn send_arms() {
    let (tx, rx) = chan::bounded::<u32>(1);
    knot::select! {
        send(tx, 1) -> r => assert_eq!(r, Ok(())),
    }
    assert_eq!(rx.try_recv(), Ok(1));

    let (tx, rx) = chan::bounded::<u32>(0);
    let receiver = named("receiver", move || rx.recv());
    knot::select! {
        send(tx, 2) -> r => assert_eq!(r, Ok(())),
    }
    assert_eq!(receiver.join().unwrap(), Ok(2));

    let (full_tx, full_rx) = chan::bounded::<u32>(1);
    full_tx.send(10).unwrap();
    let (tx, rx) = chan::bounded::<u32>(1);
    tx.send(20).unwrap();
    let got = knot::select! {
        send(full_tx, 11) -> _ => panic!("the channel was full"),
        recv(rx) -> v => v,
    };
    assert_eq!(got, Ok(20));
    assert_eq!(full_rx.try_recv(), Ok(10));
    assert_eq!(
        full_rx.try_recv(),
        Err(TryRecvError::Empty),
        "the losing arm sent"
    );
}
both!(send_arms);

/// A relay that selects between taking the next input and handing on what
/// it holds: every value comes out, in order.
fn relay_with_send_and_recv_arms() {
    let (in_tx, in_rx) = chan::bounded::<u32>(0);
    let (out_tx, out_rx) = chan::bounded::<u32>(0);
    let relay = named("relay", move || {
        let mut pending = VecDeque::new();
        let mut open = true;
        while open || !pending.is_empty() {
            match pending.front().copied() {
                Some(next) if open => knot::select! {
                    recv(in_rx) -> m => match m {
                        Ok(v) => pending.push_back(v),
                        Err(RecvError) => open = false,
                    },
                    send(out_tx, next) -> r => {
                        r.unwrap();
                        pending.pop_front();
                    }
                },
                Some(next) => {
                    out_tx.send(next).unwrap();
                    pending.pop_front();
                }
                None => match in_rx.recv() {
                    Ok(v) => pending.push_back(v),
                    Err(RecvError) => open = false,
                },
            }
        }
    });
    let producer = named("producer", move || {
        for i in 0..4 {
            in_tx.send(i).unwrap();
        }
    });
    assert_eq!(out_rx.iter().collect::<Vec<_>>(), [0, 1, 2, 3]);
    producer.join().unwrap();
    relay.join().unwrap();
}
both!(relay_with_send_and_recv_arms);

/// Peers pass tokens to each other through one channel, each round a
/// select between offering a token, taking one and a short timeout: tokens
/// are never duplicated nor lost, whichever select matches whichever.
fn token_exchange(capacity: usize, peers: u32, rounds: u32) {
    let (tx, rx) = chan::bounded::<u32>(capacity);
    let handles: Vec<_> = (0..peers)
        .map(|p| {
            let (tx, rx) = (tx.clone(), rx.clone());
            named(&format!("peer-{p}"), move || {
                let mut held = vec![p * 10, p * 10 + 1];
                for _ in 0..rounds {
                    let timeout = knot::time::after(Duration::from_millis(1));
                    match held.last().copied() {
                        Some(token) => knot::select! {
                            send(tx, token) -> r => {
                                r.unwrap();
                                held.pop();
                            }
                            recv(rx) -> v => held.push(v.unwrap()),
                            recv(timeout) -> _ => {}
                        },
                        None => knot::select! {
                            recv(rx) -> v => held.push(v.unwrap()),
                            recv(timeout) -> _ => {}
                        },
                    }
                }
                held
            })
        })
        .collect();
    drop(tx);
    let mut all: Vec<u32> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    // What is still in the buffer belongs to nobody yet.
    all.extend(rx.try_iter());
    all.sort_unstable();
    let expected: Vec<u32> = (0..peers).flat_map(|p| [p * 10, p * 10 + 1]).collect();
    assert_eq!(all, expected, "tokens duplicated or lost");
}

#[test]
fn token_exchange_conserves_tokens_live() {
    for capacity in [0, 1] {
        live(move || token_exchange(capacity, 3, 200));
    }
}

#[test]
fn token_exchange_conserves_tokens_checked() {
    for capacity in [0, 1] {
        checked(move || token_exchange(capacity, 3, 4));
    }
}

// ---------------------------------------------------------------------------
// Closed channels
// ---------------------------------------------------------------------------

/// A closed channel in a select gives what is buffered, then the closed
/// result: `Err(RecvError)` for a receive, the value back for a send.
fn select_on_a_closed_channel() {
    let (tx, rx) = chan::bounded::<u32>(1);
    tx.send(1).unwrap();
    tx.close();
    knot::select! {
        recv(rx) -> v => assert_eq!(v, Ok(1)),
    }
    knot::select! {
        recv(rx) -> v => assert_eq!(v, Err(RecvError)),
    }
    knot::select! {
        send(tx, 5) -> r => assert_eq!(r, Err(SendError(5))),
    }
    // Beside an arm that is never ready, the closed one runs.
    let (_quiet_tx, quiet_rx) = chan::bounded::<u32>(0);
    knot::select! {
        recv(quiet_rx) -> _ => panic!("nothing is sent"),
        recv(rx) -> v => assert_eq!(v, Err(RecvError)),
        default => panic!("a closed channel is ready"),
    }
}
both!(select_on_a_closed_channel);

/// A select waiting on channels wakes when one of them closes, with that
/// arm's closed result.
fn select_wakes_when_a_channel_closes() {
    let (a_tx, a_rx) = chan::bounded::<u32>(0);
    let (b_tx, b_rx) = chan::bounded::<u32>(0);
    let closer = named("closer", move || {
        pause();
        b_tx.close();
    });
    knot::select! {
        recv(a_rx) -> v => panic!("nothing is sent on a, got {v:?}"),
        recv(b_rx) -> v => assert_eq!(v, Err(RecvError)),
    }
    closer.join().unwrap();

    // Waiting to send: the close hands the value back.
    let (c_tx, c_rx) = chan::bounded::<u32>(0);
    let c_closer = c_tx.clone();
    let closer = named("closer", move || {
        pause();
        c_closer.close();
    });
    knot::select! {
        send(c_tx, 9) -> r => assert_eq!(r, Err(SendError(9))),
        recv(a_rx) -> v => panic!("nothing is sent on a, got {v:?}"),
    }
    closer.join().unwrap();
    drop((a_tx, c_rx));
}
both!(select_wakes_when_a_channel_closes);
