//! [`JobHandle`]: the parent's end of one submitted job, and
//! [`as_completed`].

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use serde::de::DeserializeOwned;

use super::JobError;
use crate::sync::channel::{self, Receiver, Sender};
use crate::util::lock;

/// Where a job's outcome lands: filled once by the pool's driver, taken
/// once by the handle.
#[derive(Default)]
pub(super) struct Slot {
    state: Mutex<SlotState>,
}

#[derive(Default)]
struct SlotState {
    outcome: Option<Result<Vec<u8>, JobError>>,
    /// Whoever polls the handle as a future (or blocks in `join`).
    waker: Option<Waker>,
    /// An [`as_completed`] iterator waiting for this job: its channel and
    /// the job's index there.
    notify: Option<(Sender<usize>, usize)>,
}

impl Slot {
    /// Records the outcome and wakes whoever waits. Only the first call
    /// counts.
    pub(super) fn complete(&self, outcome: Result<Vec<u8>, JobError>) {
        let (waker, notify) = {
            let mut state = lock(&self.state);
            if state.outcome.is_some() {
                return;
            }
            state.outcome = Some(outcome);
            (state.waker.take(), state.notify.take())
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        if let Some((tx, index)) = notify {
            // The iterator may be gone; then nobody is waiting.
            let _ = tx.send(index);
        }
    }

    pub(super) fn is_complete(&self) -> bool {
        lock(&self.state).outcome.is_some()
    }
}

/// A job submitted to a [`Pool`](super::Pool): wait for its result with
/// [`join`](JobHandle::join), which parks the calling task (or blocks a
/// plain thread), or `.await` it, since it is also a `Future`. Dropping the
/// handle does not cancel the job; its result is discarded.
#[must_use = "a job's result is only seen through its handle"]
pub struct JobHandle<R> {
    pub(super) slot: Arc<Slot>,
    pub(super) _result: PhantomData<fn() -> R>,
}

impl<R: DeserializeOwned> JobHandle<R> {
    /// Waits for the job and returns its result: inside a task the task
    /// parks, on a plain thread the thread blocks.
    pub fn join(self) -> Result<R, JobError> {
        crate::rt::block_on(self)
    }

    /// Whether the job has finished (its result is waiting).
    pub fn is_finished(&self) -> bool {
        self.slot.is_complete()
    }

    fn decode(outcome: Result<Vec<u8>, JobError>) -> Result<R, JobError> {
        postcard::from_bytes(&outcome?).map_err(|e| JobError::BadResult(e.to_string()))
    }
}

impl<R: DeserializeOwned> Future for JobHandle<R> {
    type Output = Result<R, JobError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = lock(&self.slot.state);
        match state.outcome.take() {
            Some(outcome) => {
                drop(state);
                Poll::Ready(Self::decode(outcome))
            }
            None => {
                match &mut state.waker {
                    Some(waker) => waker.clone_from(cx.waker()),
                    none => *none = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
        }
    }
}

impl<R> fmt::Debug for JobHandle<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JobHandle")
            .field("finished", &self.slot.is_complete())
            .finish()
    }
}

/// Yields each job's result as it finishes, with the job's index in
/// `handles`: `concurrent.futures.as_completed`. Waiting for the next one
/// parks the task (or blocks a plain thread).
///
/// ```
/// fn double(n: u32) -> u32 {
///     n * 2
/// }
/// corio::job!(static DOUBLE: Job<u32, u32> = double);
///
/// # corio::procpool::init();
/// let pool = corio::procpool::Pool::builder().workers(2).build().unwrap();
/// let handles: Vec<_> = (0..4).map(|n| pool.submit(&DOUBLE, n)).collect();
/// let mut results: Vec<(usize, u32)> = corio::procpool::as_completed(handles)
///     .map(|(index, result)| (index, result.unwrap()))
///     .collect();
/// results.sort();
/// assert_eq!(results, [(0, 0), (1, 2), (2, 4), (3, 6)]);
/// ```
pub fn as_completed<R: DeserializeOwned>(
    handles: impl IntoIterator<Item = JobHandle<R>>,
) -> AsCompleted<R> {
    let (tx, rx) = channel::unbounded();
    let handles: Vec<Option<JobHandle<R>>> = handles.into_iter().map(Some).collect();
    for (index, handle) in handles.iter().enumerate() {
        let slot = &handle.as_ref().expect("just wrapped").slot;
        let mut state = lock(&slot.state);
        if state.outcome.is_some() {
            drop(state);
            let _ = tx.send(index);
        } else {
            state.notify = Some((tx.clone(), index));
        }
    }
    AsCompleted {
        left: handles.len(),
        handles,
        finished: rx,
    }
}

/// The iterator of [`as_completed`].
pub struct AsCompleted<R> {
    handles: Vec<Option<JobHandle<R>>>,
    finished: Receiver<usize>,
    left: usize,
}

impl<R: DeserializeOwned> Iterator for AsCompleted<R> {
    type Item = (usize, Result<R, JobError>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        // Every slot holds a sender clone until it completes, and each
        // completion sends once, so the channel cannot close early.
        let index = self.finished.recv().expect("a slot's sender outlives it");
        self.left -= 1;
        let handle = self.handles[index].take().expect("each job finishes once");
        let outcome = lock(&handle.slot.state).outcome.take();
        let outcome = outcome.expect("a job announced as finished has an outcome");
        Some((index, JobHandle::<R>::decode(outcome)))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<R> fmt::Debug for AsCompleted<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted")
            .field("left", &self.left)
            .finish()
    }
}
