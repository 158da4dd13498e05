//! The corpus entries of this group.

use super::Entry;

pub mod cockroach_4407;
pub mod grpc_1687;

/// The entries of this group, in the order of the corpus notes.
pub const ENTRIES: &[Entry] = &[grpc_1687::ENTRY, cockroach_4407::ENTRY];
