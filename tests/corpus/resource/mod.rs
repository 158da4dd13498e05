//! The corpus entries of this group.

use super::Entry;

pub mod cockroach_6181;
pub mod etcd_10492;
pub mod hugo_3251;
pub mod kubernetes_62464;
pub mod moby_36114;
pub mod moby_4951;
pub mod syncthing_4829;

/// The entries of this group, in the order of the corpus notes.
pub const ENTRIES: &[Entry] = &[
    etcd_10492::ENTRY,
    syncthing_4829::ENTRY,
    moby_36114::ENTRY,
    hugo_3251::ENTRY,
    moby_4951::ENTRY,
    cockroach_6181::ENTRY,
    kubernetes_62464::ENTRY,
];
