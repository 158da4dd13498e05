//! The corpus entries of this group.

use super::Entry;

pub mod cockroach_1462;
pub mod etcd_7902;
pub mod grpc_1460;
pub mod kubernetes_10182;
pub mod moby_25384;

/// The entries of this group, in the order of the corpus notes.
pub const ENTRIES: &[Entry] = &[
    etcd_7902::ENTRY,
    kubernetes_10182::ENTRY,
    grpc_1460::ENTRY,
    cockroach_1462::ENTRY,
    moby_25384::ENTRY,
];
