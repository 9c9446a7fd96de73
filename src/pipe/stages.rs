//! Ready-made stages: [`filter`], [`map`] and [`broadcast`].

use super::{Consumer, Inbox, Sink};
use crate::generator::Interrupt;

/// Passes on the items for which `pred` is true. Closes and errors are
/// forwarded to `target`; when `target` finishes, so does the filter.
///
/// ```
/// use corio::pipe;
///
/// let mut odd = Vec::new();
/// pipe::from_iter(1..=6, pipe::filter(|x: &i32| x % 2 == 1, &mut odd)).unwrap();
/// assert_eq!(odd, [1, 3, 5]);
/// ```
pub fn filter<'a, T: 'a>(
    mut pred: impl FnMut(&T) -> bool + 'a,
    mut target: impl Sink<T> + 'a,
) -> Consumer<'a, T> {
    Consumer::new(move |inbox| loop {
        match inbox.recv() {
            Ok(item) => {
                if pred(&item) {
                    target.send(item)?;
                    if target.is_finished() {
                        // Nothing more to feed: finish too.
                        return Ok(());
                    }
                }
            }
            Err(interrupt) => target.forward(interrupt)?,
        }
    })
}

/// Passes on `f(item)` for every item. Closes and errors are forwarded to
/// `target`; when `target` finishes, so does the map.
///
/// ```
/// use corio::pipe;
///
/// let mut lens = Vec::new();
/// pipe::from_iter(["a", "bcd"], pipe::map(str::len, &mut lens)).unwrap();
/// assert_eq!(lens, [1, 3]);
/// ```
pub fn map<'a, T: 'a, U: 'a>(
    mut f: impl FnMut(T) -> U + 'a,
    mut target: impl Sink<U> + 'a,
) -> Consumer<'a, T> {
    Consumer::new(move |inbox| loop {
        match inbox.recv() {
            Ok(item) => {
                target.send(f(item))?;
                if target.is_finished() {
                    return Ok(());
                }
            }
            Err(interrupt) => target.forward(interrupt)?,
        }
    })
}

/// Sends every item to all `targets`, in order (the last one gets the item
/// itself, the others clones).
///
/// A close closes every target; an error thrown in is thrown into every
/// target, and the broadcast goes on if they all handled it. If a target
/// raises, the others still get the close or the error, and the first error
/// raised is passed on. An error raised by a target on `send` stops the
/// broadcast (the targets after it do not get that item) and comes back to
/// the sender. When every target has finished, so does the broadcast.
///
/// ```
/// use corio::pipe;
///
/// let (mut a, mut b) = (Vec::new(), Vec::new());
/// pipe::from_iter(["x", "y"], pipe::broadcast(vec![&mut a, &mut b])).unwrap();
/// assert_eq!((a, b), (vec!["x", "y"], vec!["x", "y"]));
/// ```
pub fn broadcast<'a, T: Clone + 'a, S: Sink<T> + 'a>(
    targets: impl IntoIterator<Item = S>,
) -> Consumer<'a, T> {
    let mut targets: Vec<S> = targets.into_iter().collect();
    Consumer::new(move |inbox: &mut Inbox<'_, T>| loop {
        match inbox.recv() {
            Ok(item) => {
                if let Some((last, rest)) = targets.split_last_mut() {
                    for target in rest {
                        target.send(item.clone())?;
                    }
                    last.send(item)?;
                }
                if targets.iter().all(|t| t.is_finished()) {
                    return Ok(());
                }
            }
            Err(interrupt) => {
                let mut first_error = None;
                for target in &mut targets {
                    let result = match &interrupt {
                        Interrupt::Closed => target.close(),
                        Interrupt::Thrown(e) => target.throw(e.clone()),
                    };
                    if let Err(e) = result {
                        first_error.get_or_insert(e);
                    }
                }
                if let Some(e) = first_error {
                    return Err(Interrupt::Thrown(e));
                }
                if let Interrupt::Closed = interrupt {
                    return Err(Interrupt::Closed);
                }
            }
        }
    })
}
