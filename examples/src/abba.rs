//! Two transfers lock the same two accounts in opposite orders: the AB-BA
//! deadlock.
//!
//! A transfer locks the account it takes money from, then the account it
//! pays into, and moves the amount. Alice pays Bob while Bob pays Alice, in
//! two tasks; main joins both.
//!
//! # The bug
//!
//! [`buggy`] locks in argument order, so "alice pays bob" takes Alice's lock
//! then Bob's, while "bob pays alice" takes Bob's then Alice's. If each task
//! gets its first lock before the other gets its second, each waits for the
//! lock the other holds, forever, and main waits for both. Live, that needs
//! the two tasks to interleave within a few instructions, so the program
//! works for months and then hangs a server.
//!
//! The checker reports a deadlock: every task is blocked and main has not
//! returned. The report lists each task with the lock it waits for and the
//! lock it holds, and the wait-for graph shows the cycle: "alice pays bob"
//! waits for Bob's account, held by "bob pays alice", which waits for
//! Alice's account, held by "alice pays bob". Accounts are created with
//! `#[track_caller]`, so each mutex is named by the line that opened the
//! account, not by a line inside `Account::open`.
//!
//! # The fix
//!
//! [`fixed`] makes every transfer take the two locks in one global order,
//! lower account number first, whatever the direction of the payment. With
//! one order there is no cycle, so there is no deadlock.

use std::sync::Arc;

use knot::sync::Mutex;
use knot::ReportKind;

/// One line that says what this example shows.
pub const ABOUT: &str = "two transfers lock two accounts in opposite orders (AB-BA)";

/// What the checker reports for [`buggy`]: each transfer waits for the
/// other's lock.
pub const EXPECTED: ReportKind = ReportKind::Deadlock;

/// A bank account: a number that orders its lock, and a balance.
#[derive(Debug)]
struct Account {
    number: u32,
    balance: Mutex<i64>,
}

impl Account {
    /// Opens an account; its mutex is reported as created at the caller.
    #[track_caller]
    fn open(number: u32, balance: i64) -> Arc<Account> {
        Arc::new(Account {
            number,
            balance: Mutex::new(balance),
        })
    }
}

/// The program with the bug: locks taken in argument order.
pub fn buggy() {
    pay_each_other(|from, to, amount| {
        // BUG: the order depends on the direction of the payment.
        let mut from_balance = from.balance.lock();
        let mut to_balance = to.balance.lock();
        *from_balance -= amount;
        *to_balance += amount;
    });
}

/// The same program, fixed: locks taken in account-number order.
pub fn fixed() {
    pay_each_other(|from, to, amount| {
        let (mut from_balance, mut to_balance);
        if from.number < to.number {
            from_balance = from.balance.lock();
            to_balance = to.balance.lock();
        } else {
            to_balance = to.balance.lock();
            from_balance = from.balance.lock();
        }
        *from_balance -= amount;
        *to_balance += amount;
    });
}

/// Alice and Bob pay each other at the same time with `transfer`; main joins
/// both payments and checks that no money appeared or vanished.
fn pay_each_other(transfer: fn(&Account, &Account, i64)) {
    let alice = Account::open(1, 100);
    let bob = Account::open(2, 100);
    let payments = [
        ("alice pays bob", Arc::clone(&alice), Arc::clone(&bob), 30),
        ("bob pays alice", Arc::clone(&bob), Arc::clone(&alice), 20),
    ]
    .map(|(name, from, to, amount)| {
        knot::task::Builder::new()
            .name(name)
            .spawn(move || transfer(&from, &to, amount))
    });
    for payment in payments {
        payment.join().expect("a payment does not panic");
    }
    assert_eq!(*alice.balance.lock() + *bob.balance.lock(), 200);
}
