//! scratch
use std::time::Duration;
use knot::chan;
use knot::context::Context;

#[test]
fn classic_timeout_leak() {
    let outcome = knot::Checker::new().iterations(1000).run(|| {
        let (tx, rx) = chan::bounded::<u32>(0);
        knot::task::Builder::new().name("worker").spawn(move || { knot::time::sleep(Duration::from_millis(5)); let _ = tx.send(1); });
        knot::select! {
            recv(rx) -> v => { let _ = v; },
            recv(knot::time::after(Duration::from_millis(10))) -> _ => {},
        }
    });
    let r = outcome.report.expect("leak");
    println!("{} executions\n{r}", outcome.executions);
    assert_eq!(r.kind(), knot::ReportKind::Leak);
}

#[test]
fn pipeline_ok() {
    let outcome = knot::Checker::new().iterations(500).run(|| {
        let (tx, rx) = chan::bounded::<u32>(0);
        let (tx2, rx2) = chan::bounded::<u32>(1);
        let p = knot::spawn(move || { for i in 0..3 { tx.send(i).unwrap(); } });
        let w = knot::spawn(move || { for v in &rx { tx2.send(v * 2).unwrap(); } });
        let got: Vec<u32> = rx2.iter().collect();
        assert_eq!(got, vec![0, 2, 4]);
        p.join().unwrap(); w.join().unwrap();
    });
    assert!(outcome.report.is_none(), "{}", outcome.report.unwrap());
}

#[test]
fn context_hour() {
    let start = std::time::Instant::now();
    let outcome = knot::Checker::new().iterations(100).run(|| {
        let (ctx, cancel) = Context::background().with_timeout(Duration::from_secs(3600));
        let (_tx, rx) = chan::bounded::<u32>(0);
        knot::select! {
            recv(rx) -> _ => panic!("no"),
            recv(ctx.done()) -> _ => {},
        }
        assert!(ctx.err().is_some());
        cancel.cancel();
    });
    assert!(outcome.report.is_none(), "{}", outcome.report.unwrap());
    println!("took {:?}", start.elapsed());
}

#[test]
fn double_close_and_lostcancel() {
    let outcome = knot::Checker::new().run(|| { let (tx, _rx) = chan::bounded::<u32>(1); tx.close(); tx.close(); });
    println!("{}", outcome.report.as_ref().unwrap());
    assert_eq!(outcome.report.unwrap().kind(), knot::ReportKind::Misuse);
    let outcome = knot::Checker::new().run(|| { let (_ctx, _cancel) = Context::background().with_cancel(); });
    println!("{}", outcome.report.as_ref().unwrap());
    assert_eq!(outcome.report.unwrap().kind(), knot::ReportKind::Misuse);
}

#[test]
fn live_select_and_channels() {
    let (tx, rx) = chan::bounded::<u32>(0);
    let h = knot::spawn(move || { for i in 0..1000 { tx.send(i).unwrap(); } });
    let mut sum = 0; for v in &rx { sum += v; }
    h.join().unwrap();
    assert_eq!(sum, 999 * 1000 / 2);
    let (_tx, rx) = chan::bounded::<u32>(0);
    assert_eq!(rx.recv_timeout(Duration::from_millis(20)), Err(chan::RecvTimeoutError::Timeout));
    let (ctx, cancel) = Context::background().with_timeout(Duration::from_millis(10));
    let _ = ctx.done().recv();
    assert_eq!(ctx.err(), Some(knot::context::ContextError::DeadlineExceeded));
    cancel.cancel();
}
