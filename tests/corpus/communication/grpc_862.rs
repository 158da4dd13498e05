//! grpc-862 (gRPC-Go): dialing creates a client connection whose context
//! derives from the background, not from the caller's, and starts a
//! connector that retries until its address connection's context (a child of
//! the client connection's) is done. The dialer closes the connection only
//! when the caller's context is done and it has a connection to return,
//! which it never has, so nothing cancels the connector's context and the
//! connector waits forever. The fix closes the client connection whenever
//! the dialer does not hand back a usable one.

use std::sync::Arc;
use std::time::Duration;

use knot::context::{Cancel, Context};
use knot::sync::Mutex;
use knot::task::Builder;
use knot::{JoinHandle, ReportKind};

/// The backoff unit: retry `n` waits `n` times this.
const BACKOFF: Duration = Duration::from_nanos(2);

/// How many times the connector retries before it only waits (Go retries
/// forever).
const RETRIES: u32 = 3;

/// A client connection: its context, and its address connections.
struct ClientConn {
    ctx: Context,
    cancel: Cancel,
    conns: Mutex<Vec<Arc<AddrConn>>>,
}

/// A connection to one address, with a context derived from its client
/// connection's.
struct AddrConn {
    ctx: Context,
    cancel: Cancel,
}

impl ClientConn {
    fn new() -> ClientConn {
        let (ctx, cancel) = Context::background().with_cancel();
        ClientConn {
            ctx,
            cancel,
            conns: Mutex::new(Vec::new()),
        }
    }

    /// The connector: registers an address connection and connects it.
    fn reset_addr_conn(&self) {
        let (ctx, cancel) = self.ctx.with_cancel();
        let conn = Arc::new(AddrConn { ctx, cancel });
        self.conns.lock().push(Arc::clone(&conn));
        conn.reset_transport();
    }

    /// Cancels the connection's context and tears down every address
    /// connection.
    fn close(&self) {
        self.cancel.cancel();
        let conns = std::mem::take(&mut *self.conns.lock());
        for conn in conns {
            conn.cancel.cancel();
        }
    }
}

impl AddrConn {
    /// Tries to connect, backing off longer after each attempt, until the
    /// context is done.
    fn reset_transport(&self) {
        let done = self.ctx.done();
        for retry in 1..=RETRIES {
            knot::select! {
                recv(knot::time::after(BACKOFF * retry)) -> _ => {}
                recv(done) -> _ => return,
            }
        }
        let _ = done.recv();
    }
}

/// Dials: creates the client connection and starts its connector. The
/// connection is never usable, so the result is always `None`; the
/// connector's handle comes back too. With `close_unused`, the fix.
fn dial(caller: &Context, close_unused: bool) -> (Option<Arc<ClientConn>>, JoinHandle<()>) {
    let cc = Arc::new(ClientConn::new());
    let c = Arc::clone(&cc);
    let connector = Builder::new()
        .name("connector")
        .spawn(move || c.reset_addr_conn());
    let mut conn: Option<Arc<ClientConn>> = None;
    // On the way out, as Go's deferred function.
    knot::select! {
        recv(caller.done()) -> _ => {
            if let Some(conn) = conn.take() {
                conn.close();
            }
        }
        default => {}
    }
    if close_unused && conn.is_none() {
        cc.close();
    }
    (conn, connector)
}

/// Runs the scenario: main starts a dialer and a canceller that cancels the
/// caller's context, and joins both.
fn run(close_unused: bool) {
    let (caller, caller_cancel) = Context::background().with_cancel();
    let dialer = Builder::new().name("dialer").spawn(move || {
        let (conn, connector) = dial(&caller, close_unused);
        if close_unused {
            connector.join().expect("the connector does not panic");
        }
        conn.is_some()
    });
    let canceller = Builder::new()
        .name("canceller")
        .spawn(move || caller_cancel.cancel());
    dialer.join().expect("the dialer does not panic");
    canceller.join().expect("the canceller does not panic");
}

/// The program with the bug: the unused client connection is never closed,
/// and its connector waits forever.
pub fn buggy() {
    // Not joined: as in Go, nothing waits for the connector.
    run(false);
}

/// The same program, fixed: the dialer closes the unused connection, which
/// cancels the connector's context, and joins the connector.
pub fn fixed() {
    run(true);
}

/// The corpus entry.
pub const ENTRY: crate::corpus::Entry = crate::corpus::Entry {
    id: "grpc-862",
    subtype: "communication deadlock: channel and context",
    expected: ReportKind::Leak,
    buggy,
    fixed,
};
