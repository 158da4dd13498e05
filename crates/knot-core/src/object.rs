//! Identities of the objects tasks synchronise on.

use std::fmt;
use std::panic::Location;

use crate::executor;

/// What kind of object a task can wait on or act upon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ObjectKind {
    /// A task, as the target of `join`.
    Task,
    /// A [`Mutex`](crate::sync::Mutex).
    Mutex,
    /// An [`RwLock`](crate::sync::RwLock).
    RwLock,
    /// A [`Condvar`](crate::sync::Condvar).
    Condvar,
    /// A [`WaitGroup`](crate::sync::WaitGroup).
    WaitGroup,
    /// An atomic variable.
    Atomic,
    /// A channel.
    Channel,
    /// A timer behind `sleep`.
    Timer,
    /// A context.
    Context,
    /// A [`RaceCell`](crate::cell::RaceCell).
    Cell,
}

impl ObjectKind {
    /// The name reports use for this kind, such as `Mutex`.
    pub fn name(self) -> &'static str {
        match self {
            ObjectKind::Task => "task",
            ObjectKind::Mutex => "Mutex",
            ObjectKind::RwLock => "RwLock",
            ObjectKind::Condvar => "Condvar",
            ObjectKind::WaitGroup => "WaitGroup",
            ObjectKind::Atomic => "Atomic",
            ObjectKind::Channel => "Chan",
            ObjectKind::Timer => "Timer",
            ObjectKind::Context => "Context",
            ObjectKind::Cell => "RaceCell",
        }
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The identity of one synchronisation object: its kind, a number and the
/// place it was created.
///
/// Under the checker numbers are given in creation order within each
/// execution, so they are the same on every replay; live they are unique in
/// the process.
///
/// # Examples
///
/// ```
/// use knot_core::object::{Object, ObjectKind};
///
/// let a = Object::new(ObjectKind::Mutex);
/// let b = Object::new(ObjectKind::Mutex);
/// assert_ne!(a.id(), b.id());
/// assert_eq!(a.kind(), ObjectKind::Mutex);
/// assert_eq!(a.created().file(), file!());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Object {
    id: u64,
    kind: ObjectKind,
    created: &'static Location<'static>,
}

impl Object {
    /// Gives a new object of `kind` an identity, remembering the caller as its
    /// creation site.
    #[track_caller]
    pub fn new(kind: ObjectKind) -> Object {
        Object {
            id: executor::new_object_id(),
            kind,
            created: Location::caller(),
        }
    }

    /// Gives a new object of `kind` an identity, with `created` as its
    /// creation site (for constructors that take the site from their own
    /// caller).
    pub fn at(kind: ObjectKind, created: &'static Location<'static>) -> Object {
        Object {
            id: executor::new_object_id(),
            kind,
            created,
        }
    }

    /// Builds the identity of an object that has no number of its own, such
    /// as an atomic, identified by `id` (its address).
    pub fn with_id(kind: ObjectKind, id: u64, created: &'static Location<'static>) -> Object {
        Object { id, kind, created }
    }

    /// Builds the identity of a task, for operations that wait on one.
    pub fn task(id: u64, spawned: &'static Location<'static>) -> Object {
        Object {
            id,
            kind: ObjectKind::Task,
            created: spawned,
        }
    }

    /// The object's number.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The object's kind.
    pub fn kind(&self) -> ObjectKind {
        self.kind
    }

    /// Where the object was created.
    pub fn created(&self) -> &'static Location<'static> {
        self.created
    }
}

impl fmt::Display for Object {
    /// `Chan#3`. Objects made outside the checker are numbered from
    /// [`LIVE_IDS`](crate::executor::LIVE_IDS) up, so that they never
    /// collide with the checker's; they are shown from 1 all the same.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = match self.id.checked_sub(crate::executor::LIVE_IDS) {
            Some(live) => live + 1,
            None => self.id,
        };
        write!(f, "{}#{}", self.kind, id)
    }
}
