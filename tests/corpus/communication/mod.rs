//! The corpus entries of this group.

use knot::chan;

use super::Entry;

pub mod cockroach_13197;
pub mod cockroach_35931;
pub mod grpc_660;
pub mod grpc_862;
pub mod kubernetes_38669;
pub mod kubernetes_5316;
pub mod moby_30408;

/// The entries of this group, in the order of the corpus notes.
pub const ENTRIES: &[Entry] = &[
    grpc_660::ENTRY,
    kubernetes_38669::ENTRY,
    kubernetes_5316::ENTRY,
    cockroach_35931::ENTRY,
    cockroach_13197::ENTRY,
    grpc_862::ENTRY,
    moby_30408::ENTRY,
];

/// A random branch of a Go kernel: `true` or `false`, each explored by the
/// checker, as a select between two arms that are both ready.
fn either() -> bool {
    let (tx, rx) = chan::bounded::<()>(0);
    tx.close();
    knot::select! {
        recv(rx) -> _ => true,
        recv(rx) -> _ => false,
    }
}
