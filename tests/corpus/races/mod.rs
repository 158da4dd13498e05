//! The corpus entries of this group.

use super::Entry;

pub mod etcd_9446;
pub mod grpc_3090;
pub mod kubernetes_80284;
pub mod kubernetes_81091;

/// The entries of this group, in the order of the corpus notes.
pub const ENTRIES: &[Entry] = &[
    kubernetes_80284::ENTRY,
    etcd_9446::ENTRY,
    grpc_3090::ENTRY,
    kubernetes_81091::ENTRY,
];
