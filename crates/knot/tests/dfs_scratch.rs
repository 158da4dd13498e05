//! scratch
use std::sync::Arc;
use knot::sync::{Mutex, atomic::{AtomicUsize, Ordering}, WaitGroup};
use knot::Strategy;

fn dfs() -> knot::Checker { knot::Checker::new().strategy(Strategy::Dfs { preemption_bound: None }).iterations(100_000) }

#[test]
fn counts() {
    if std::env::var_os("ONLY2").is_some() { let o = dfs().run(|| { let m = Arc::new(Mutex::new(0)); let hs: Vec<_> = (0..2).map(|_| { let m = m.clone(); knot::spawn(move || { *m.lock() += 1; }) }).collect(); for h in hs { h.join().unwrap(); } }); println!("{}", o.executions); return; }
    // disjoint
    let o = dfs().run(|| {
        let hs: Vec<_> = (0..3).map(|_| knot::spawn(|| { let a = AtomicUsize::new(0); a.store(1, Ordering::SeqCst); let m = Mutex::new(0); *m.lock() += 1; })).collect();
        for h in hs { h.join().unwrap(); }
    });
    println!("disjoint: {} complete {}", o.executions, o.complete);
    let o = dfs().run(|| {
        let m = Arc::new(Mutex::new(0));
        let hs: Vec<_> = (0..2).map(|_| { let m = m.clone(); knot::spawn(move || { *m.lock() += 1; }) }).collect();
        for h in hs { h.join().unwrap(); }
        assert_eq!(*m.lock(), 2);
    });
    println!("2x1 mutex: {} complete {} {:?}", o.executions, o.complete, o.report.map(|r| r.to_string()));
    let o = dfs().run(|| {
        let m = Arc::new(Mutex::new(0));
        let hs: Vec<_> = (0..3).map(|_| { let m = m.clone(); knot::spawn(move || { *m.lock() += 1; *m.lock() += 1; }) }).collect();
        for h in hs { h.join().unwrap(); }
        assert_eq!(*m.lock(), 6);
    });
    println!("3x2 mutex: {} complete {}", o.executions, o.complete);
    let o = dfs().run(|| {
        let n = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..2).map(|_| { let n = n.clone(); knot::spawn(move || { let v = n.load(Ordering::SeqCst); n.store(v + 1, Ordering::SeqCst); }) }).collect();
        for h in hs { h.join().unwrap(); }
        assert_eq!(n.load(Ordering::SeqCst), 2);
    });
    println!("lost update: {} found {:?}", o.executions, o.report.map(|r| r.kind()));
    let o = dfs().run(|| {
        let n = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..2).map(|_| { let n = n.clone(); knot::spawn(move || { n.fetch_add(1, Ordering::SeqCst); }) }).collect();
        for h in hs { h.join().unwrap(); }
        assert_eq!(n.load(Ordering::SeqCst), 2);
    });
    println!("fetch_add: {} complete {}", o.executions, o.complete);
    let o = dfs().run(|| {
        let wg = WaitGroup::new();
        let m = Arc::new(Mutex::new(Vec::new()));
        for i in 0..3 { wg.add(1); let wg = wg.clone(); let m = m.clone(); knot::go(move || { m.lock().push(i); wg.done(); }); }
        wg.wait();
        assert_eq!(m.lock().len(), 3);
    });
    println!("services: {} complete {}", o.executions, o.complete);
    let o = dfs().run(|| {
        let (tx1, rx1) = knot::chan::bounded::<u32>(0);
        let (tx2, rx2) = knot::chan::bounded::<u32>(0);
        let p = knot::spawn(move || for i in 0..3 { tx1.send(i).unwrap(); });
        let w = knot::spawn(move || for v in &rx1 { tx2.send(v).unwrap(); });
        let got: Vec<u32> = rx2.iter().collect();
        assert_eq!(got, vec![0,1,2]);
        p.join().unwrap(); w.join().unwrap();
    });
    println!("pipeline: {} complete {} {:?}", o.executions, o.complete, o.report.map(|r| r.to_string()));
    let o = dfs().run(|| {
        let a = Arc::new(Mutex::new(())); let b = Arc::new(Mutex::new(()));
        let (a2, b2) = (a.clone(), b.clone());
        let t = knot::spawn(move || { let _b = b2.lock(); let _a = a2.lock(); });
        { let _a = a.lock(); let _b = b.lock(); }
        t.join().unwrap();
    });
    println!("abba: {} found {:?}", o.executions, o.report.map(|r| r.kind()));
}
