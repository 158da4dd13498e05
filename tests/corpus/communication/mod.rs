//! The corpus entries of this group.

use super::Entry;

/// The entries of this group, in the order of the corpus notes.
pub const ENTRIES: &[Entry] = &[];
