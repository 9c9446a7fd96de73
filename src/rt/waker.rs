//! The waker of a task: a raw waker over its `Arc<TaskHandle>`, so that the
//! task can keep one that shares the task's own reference instead of
//! holding a second one (std's `Waker::from(Arc)` leaves its layout
//! unspecified, so a borrowed waker needs this vtable).

use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::sync::Arc;
use std::task::{RawWaker, RawWakerVTable, Waker};

use super::task::TaskHandle;

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

/// A waker that borrows the reference of the `Arc<TaskHandle>` it was made
/// from: cloning it takes a new reference, and it must not outlive that
/// `Arc` (the owner keeps both side by side; see [`Task`](super::task::Task)).
pub(crate) struct TaskWaker(ManuallyDrop<Waker>);

impl TaskWaker {
    /// # Safety
    ///
    /// The returned value must be dropped before `handle`'s last reference
    /// it borrows goes away: the owner must keep `handle` alive while it
    /// holds the waker.
    pub(crate) unsafe fn borrowing(handle: &Arc<TaskHandle>) -> TaskWaker {
        let data = Arc::as_ptr(handle).cast::<()>();
        // SAFETY: `data` comes from an `Arc<TaskHandle>`, which is what the
        // vtable's functions expect; the waker is never dropped through the
        // vtable (`ManuallyDrop`), so it gives back no reference it did not
        // take, and the caller keeps the borrowed reference alive.
        TaskWaker(ManuallyDrop::new(unsafe {
            Waker::from_raw(RawWaker::new(data, &VTABLE))
        }))
    }
}

impl Deref for TaskWaker {
    type Target = Waker;

    fn deref(&self) -> &Waker {
        &self.0
    }
}

/// Clones: takes a new reference for the new waker.
unsafe fn clone(data: *const ()) -> RawWaker {
    // SAFETY: every waker with this vtable has `data` from a live
    // `Arc<TaskHandle>` (see `TaskWaker::borrowing` and this function).
    unsafe { Arc::increment_strong_count(data.cast::<TaskHandle>()) };
    RawWaker::new(data, &VTABLE)
}

/// Wakes and gives up the waker's reference. Only a cloned waker is ever
/// consumed (a `TaskWaker` is never dropped or woken by value), so it owns
/// the reference it gives back.
unsafe fn wake(data: *const ()) {
    // SAFETY: a waker consumed by value owns one reference (see above).
    let handle = unsafe { Arc::from_raw(data.cast::<TaskHandle>()) };
    handle.wake_task();
}

unsafe fn wake_by_ref(data: *const ()) {
    // SAFETY: the waker holds (or borrows, for a `TaskWaker`) a reference
    // for as long as it is alive, which covers this call.
    let handle = unsafe { &*data.cast::<TaskHandle>() };
    handle.wake_task();
}

unsafe fn drop_waker(data: *const ()) {
    // SAFETY: as in `wake`: only a cloned waker is dropped through the
    // vtable, and it owns one reference.
    drop(unsafe { Arc::from_raw(data.cast::<TaskHandle>()) });
}
