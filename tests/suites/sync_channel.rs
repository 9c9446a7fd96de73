//! Channels and select: Go's channel semantics (buffered, unbuffered,
//! close, many senders and receivers), values handed back on errors,
//! fairness, cross-thread use, and cancellation that loses nothing.
//!
//! No assertion depends on timing: tasks of one runtime are sequenced with
//! `settle` (a few yields, so every other task reaches its park point).

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use corio::rt::{TaskStatus, WaitReason};
use corio::sync::channel::{self, RecvError, SendError, TryRecvError, TrySendError};
use corio::sync::select::{self, Select};

const MS: Duration = Duration::from_millis(1);

/// Lets the other tasks of this worker run until they park. Tests that
/// settle spawn with `spawn_local`, so that what they wait for is on this
/// worker's run queue also on a multi-worker runtime.
fn settle() {
    for _ in 0..20 {
        corio::yield_now();
    }
}

/// Runs `f`, aborting the test process with a message if it has not
/// finished after a generous delay: a lost wake-up across threads shows up
/// as a clear failure instead of a hung test run.
fn with_watchdog<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let what = what.to_owned();
    let watchdog = std::thread::spawn(move || {
        if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
            done_rx.recv_timeout(Duration::from_secs(60))
        {
            eprintln!("{what}: no progress for 60 s (a lost cross-thread wake-up?)");
            std::process::abort();
        }
    });
    let value = f();
    drop(done_tx);
    watchdog.join().unwrap();
    value
}

/// Counts drops.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

// ---------------------------------------------------------------------------
// Buffered and unbuffered

#[test]
fn an_unbuffered_send_waits_for_a_receiver() {
    super::run(|| {
        let (tx, rx) = channel::bounded(0);
        let sent = Rc::new(RefCell::new(false));
        let sender = {
            let sent = sent.clone();
            corio::spawn_local(move || {
                tx.send(1).unwrap();
                *sent.borrow_mut() = true;
            })
        };
        settle();
        assert!(
            !*sent.borrow(),
            "a rendezvous send returned with no receiver"
        );
        assert_eq!(rx.len(), 0);
        assert_eq!(rx.recv(), Ok(1));
        sender.join().unwrap();
        assert!(*sent.borrow());
    });
}

#[test]
fn an_unbuffered_receive_waits_for_a_sender() {
    super::run(|| {
        let (tx, rx) = channel::bounded::<i32>(0);
        let receiver = corio::spawn_local(move || rx.recv());
        settle();
        assert!(!receiver.is_finished());
        tx.send(5).unwrap(); // a receiver waits: handed over at once
        assert_eq!(receiver.join().unwrap(), Ok(5));
    });
}

#[test]
fn try_send_on_a_rendezvous_channel_needs_a_blocked_receiver() {
    super::run(|| {
        let (tx, rx) = channel::bounded(0);
        assert_eq!(tx.try_send(1), Err(TrySendError::Full(1)));
        let rx2 = rx.clone();
        let receiver = corio::spawn_local(move || rx2.recv());
        settle();
        assert_eq!(tx.try_send(2), Ok(()));
        assert_eq!(tx.try_send(3), Err(TrySendError::Full(3)));
        assert_eq!(receiver.join().unwrap(), Ok(2));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    });
}

#[test]
fn a_buffered_channel_holds_cap_messages_then_blocks_the_sender() {
    super::run(|| {
        let (tx, rx) = channel::bounded(3);
        for n in 0..3 {
            tx.try_send(n).unwrap();
        }
        assert_eq!(tx.len(), 3);
        assert_eq!(tx.try_send(3), Err(TrySendError::Full(3)));
        let blocked = {
            let tx = tx.clone();
            corio::spawn_local(move || tx.send(3))
        };
        settle();
        assert!(!blocked.is_finished(), "sent into a full channel");
        assert_eq!(rx.recv(), Ok(0)); // room: the blocked message moves in
        blocked.join().unwrap().unwrap();
        assert_eq!(rx.len(), 3);
        assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2, 3]);
    });
}

#[test]
fn for_every_capacity_messages_arrive_in_order() {
    for cap in [0, 1, 2, 7, 100] {
        let got = super::run(|| {
            let (tx, rx) = channel::bounded(cap);
            corio::spawn(move || {
                for n in 0..200 {
                    tx.send(n).unwrap();
                }
            });
            rx.iter().collect::<Vec<_>>()
        });
        assert_eq!(got, (0..200).collect::<Vec<_>>(), "cap {cap}");
    }
}

#[test]
fn an_unbounded_channel_never_blocks_the_sender() {
    let (tx, rx) = channel::unbounded();
    for n in 0..10_000 {
        tx.try_send(n).unwrap();
    }
    assert_eq!(tx.capacity(), None);
    assert_eq!(rx.len(), 10_000);
    drop(tx);
    assert_eq!(rx.iter().sum::<i64>(), (0..10_000).sum());
}

#[test]
fn ping_pong_over_two_rendezvous_channels() {
    let rounds = super::run(|| {
        let (ping_tx, ping_rx) = channel::bounded::<u32>(0);
        let (pong_tx, pong_rx) = channel::bounded::<u32>(0);
        let ponger = corio::spawn(move || {
            for n in ping_rx.iter() {
                pong_tx.send(n + 1).unwrap();
            }
        });
        let mut n = 0;
        for _ in 0..100 {
            ping_tx.send(n).unwrap();
            n = pong_rx.recv().unwrap();
        }
        drop(ping_tx);
        ponger.join().unwrap();
        n
    });
    assert_eq!(rounds, 100);
}

// ---------------------------------------------------------------------------
// Closing and disconnecting

#[test]
fn dropping_the_senders_closes_after_the_buffer_drains() {
    let (tx, rx) = channel::bounded(5);
    let tx2 = tx.clone();
    tx.send(1).unwrap();
    tx2.send(2).unwrap();
    drop(tx);
    assert!(!rx.is_closed(), "one sender is left");
    tx2.send(3).unwrap();
    drop(tx2);
    assert!(rx.is_closed());
    assert_eq!(rx.recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.recv(), Ok(3));
    assert_eq!(rx.recv(), Err(RecvError));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn a_blocked_receiver_wakes_with_an_error_when_the_last_sender_goes() {
    super::run(|| {
        let (tx, rx) = channel::bounded::<u8>(0);
        let receivers: Vec<_> = (0..3)
            .map(|_| {
                let rx = rx.clone();
                corio::spawn_local(move || rx.recv())
            })
            .collect();
        settle();
        drop(tx);
        for r in receivers {
            assert_eq!(r.join().unwrap(), Err(RecvError));
        }
    });
}

#[test]
fn close_fails_later_and_blocked_sends_with_their_values() {
    super::run(|| {
        let (tx, rx) = channel::bounded(1);
        tx.send("kept").unwrap();
        let blocked = {
            let tx = tx.clone();
            corio::spawn_local(move || tx.send("blocked"))
        };
        settle();
        tx.close();
        assert!(tx.is_closed() && rx.is_closed());
        assert_eq!(blocked.join().unwrap(), Err(SendError("blocked")));
        assert_eq!(tx.send("late").unwrap_err().into_inner(), "late");
        assert_eq!(tx.try_send("late"), Err(TrySendError::Disconnected("late")));
        // What was buffered before the close is still delivered.
        assert_eq!(rx.recv(), Ok("kept"));
        assert_eq!(rx.recv(), Err(RecvError));
    });
}

#[test]
fn sends_give_the_value_back_once_every_receiver_is_gone() {
    let (tx, rx) = channel::bounded(2);
    let rx2 = rx.clone();
    drop(rx);
    tx.send(1).unwrap();
    drop(rx2);
    assert!(tx.is_closed());
    assert_eq!(tx.send(2), Err(SendError(2)));
    assert_eq!(tx.try_send(3), Err(TrySendError::Disconnected(3)));
    let e = tx.try_send(4).unwrap_err();
    assert!(e.is_disconnected() && !e.is_full());
    assert_eq!(e.into_inner(), 4);
}

#[test]
fn a_blocked_sender_gets_its_value_back_when_the_receivers_go() {
    super::run(|| {
        let (tx, rx) = channel::bounded(0);
        let sender = corio::spawn_local(move || tx.send(String::from("mine")));
        settle();
        drop(rx);
        assert_eq!(sender.join().unwrap(), Err(SendError("mine".to_string())));
    });
}

#[test]
fn buffered_messages_are_dropped_with_the_last_receiver() {
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = channel::unbounded();
    for _ in 0..3 {
        tx.send(Counted(drops.clone())).unwrap();
    }
    drop(rx);
    assert_eq!(drops.load(Ordering::SeqCst), 3);
    // A failed send hands the value back rather than dropping it.
    let back = tx.send(Counted(drops.clone())).unwrap_err().into_inner();
    assert_eq!(drops.load(Ordering::SeqCst), 3);
    drop(back);
    assert_eq!(drops.load(Ordering::SeqCst), 4);
}

#[test]
fn iterators_stop_at_close_and_try_iter_takes_only_what_is_ready() {
    let (tx, rx) = channel::unbounded();
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2]);
    assert_eq!(rx.try_iter().count(), 0);
    tx.send(3).unwrap();
    drop(tx);
    let mut all = Vec::new();
    for n in &rx {
        all.push(n);
    }
    assert_eq!(all, [3]);
    let (tx, rx) = channel::bounded(4);
    tx.send('x').unwrap();
    drop(tx);
    assert_eq!(rx.into_iter().collect::<String>(), "x");
}

#[test]
fn handles_report_length_capacity_and_state() {
    let (tx, rx) = channel::bounded::<u8>(2);
    assert_eq!((tx.capacity(), rx.capacity()), (Some(2), Some(2)));
    assert!(tx.is_empty() && rx.is_empty());
    tx.send(1).unwrap();
    assert_eq!((tx.len(), rx.len()), (1, 1));
    assert!(!tx.is_closed() && !rx.is_closed());
    let text = format!("{tx:?} {rx:?}");
    assert!(
        text.contains("Sender") && text.contains("Receiver"),
        "{text}"
    );
    assert_eq!(channel::bounded::<u8>(0).0.capacity(), Some(0));
}

// ---------------------------------------------------------------------------
// Fairness

#[test]
fn blocked_receivers_are_served_oldest_first() {
    let got = super::run(|| {
        let (tx, rx) = channel::unbounded();
        let receivers: Vec<_> = (0..5)
            .map(|_| {
                let rx = rx.clone();
                let r = corio::spawn_local(move || rx.recv().unwrap());
                settle(); // park in spawn order
                r
            })
            .collect();
        for n in 0..5 {
            tx.send(n).unwrap();
        }
        receivers
            .into_iter()
            .map(|r| r.join().unwrap())
            .collect::<Vec<_>>()
    });
    assert_eq!(got, [0, 1, 2, 3, 4]);
}

#[test]
fn blocked_senders_complete_in_the_order_they_blocked() {
    for cap in [0, 1, 3] {
        let got = super::run(|| {
            let (tx, rx) = channel::bounded(cap);
            for n in 0..cap {
                tx.send(100 + n).unwrap();
            }
            let senders: Vec<_> = (0..5)
                .map(|n| {
                    let tx = tx.clone();
                    let s = corio::spawn_local(move || tx.send(n).unwrap());
                    settle();
                    s
                })
                .collect();
            drop(tx);
            let got: Vec<_> = rx.iter().collect();
            senders.into_iter().for_each(|s| s.join().unwrap());
            got
        });
        let mut want: Vec<_> = (100..100 + cap).collect();
        want.extend(0..5);
        assert_eq!(got, want, "cap {cap}");
    }
}

// ---------------------------------------------------------------------------
// Many senders, many receivers (Go's multi-consumer test)

fn many_to_many(cap: Option<usize>) {
    const SENDERS: u64 = 4;
    const PER_SENDER: u64 = 250;
    let (total, count) = super::run(|| {
        let (tx, rx) = match cap {
            Some(c) => channel::bounded(c),
            None => channel::unbounded(),
        };
        for s in 0..SENDERS {
            let tx = tx.clone();
            corio::spawn_local(move || {
                for n in 0..PER_SENDER {
                    tx.send(s * PER_SENDER + n).unwrap();
                    if n % 7 == 0 {
                        corio::yield_now();
                    }
                }
            });
        }
        drop(tx);
        let receivers: Vec<_> = (0..3)
            .map(|_| {
                let rx = rx.clone();
                corio::spawn_local(move || rx.iter().fold((0u64, 0u64), |(s, c), n| (s + n, c + 1)))
            })
            .collect();
        drop(rx);
        receivers
            .into_iter()
            .map(|r| r.join().unwrap())
            .fold((0, 0), |(s, c), (s2, c2)| (s + s2, c + c2))
    });
    let n = SENDERS * PER_SENDER;
    assert_eq!(count, n, "cap {cap:?}");
    assert_eq!(total, n * (n - 1) / 2, "cap {cap:?}");
}

#[test]
fn many_senders_and_receivers_lose_and_duplicate_nothing() {
    for cap in [Some(0), Some(1), Some(16), None] {
        many_to_many(cap);
    }
}

#[test]
fn plain_threads_and_tasks_of_two_runtimes_share_a_channel() {
    with_watchdog(
        "two runtimes and plain threads",
        two_runtimes_and_plain_threads,
    );
}

fn two_runtimes_and_plain_threads() {
    let (tx, rx) = channel::bounded::<u64>(2);
    let (done_tx, done_rx) = channel::unbounded::<u64>();
    // Two producer threads without a runtime.
    let producers: Vec<_> = (0..2u64)
        .map(|t| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for n in 0..500 {
                    tx.send(t * 1000 + n).unwrap();
                }
            })
        })
        .collect();
    // One producer runtime on its own thread.
    let runtime_producer = {
        let tx = tx.clone();
        std::thread::spawn(move || {
            super::run(|| {
                let tasks: Vec<_> = (0..5u64)
                    .map(|k| {
                        let tx = tx.clone();
                        corio::spawn(move || {
                            for n in 0..100 {
                                tx.send(10_000 + k * 100 + n).unwrap();
                            }
                        })
                    })
                    .collect();
                tasks.into_iter().for_each(|t| t.join().unwrap());
            })
        })
    };
    drop(tx);
    // Consumers: tasks of a runtime on a second thread.
    let consumer = std::thread::spawn(move || {
        super::run(|| {
            let tasks: Vec<_> = (0..3)
                .map(|_| {
                    let (rx, done_tx) = (rx.clone(), done_tx.clone());
                    corio::spawn(move || {
                        for n in rx.iter() {
                            done_tx.send(n).unwrap();
                        }
                    })
                })
                .collect();
            tasks.into_iter().for_each(|t| t.join().unwrap());
        })
    });
    producers.into_iter().for_each(|p| p.join().unwrap());
    runtime_producer.join().unwrap();
    consumer.join().unwrap();
    let mut got: Vec<u64> = done_rx.try_iter().collect();
    got.sort_unstable();
    let mut want: Vec<u64> = (0..500).chain(1000..1500).chain(10_000..10_500).collect();
    want.sort_unstable();
    assert_eq!(got, want);
}

#[test]
fn a_plain_thread_sends_to_a_parked_task() {
    let got = super::run(|| {
        let (tx, rx) = channel::bounded(0);
        let thread = std::thread::spawn(move || {
            std::thread::sleep(5 * MS);
            for word in ["from", "a", "thread"] {
                tx.send(word).unwrap();
            }
        });
        let got: Vec<_> = rx.iter().collect();
        thread.join().unwrap();
        got
    });
    assert_eq!(got, ["from", "a", "thread"]);
}

#[test]
fn plain_threads_rendezvous_without_any_runtime() {
    let (tx, rx) = channel::bounded(0);
    let (back_tx, back_rx) = channel::bounded(0);
    let echo = std::thread::spawn(move || {
        for n in rx.iter() {
            back_tx.send(n * 2).unwrap();
        }
    });
    for n in 0..50 {
        tx.send(n).unwrap();
        assert_eq!(back_rx.recv(), Ok(n * 2));
    }
    drop(tx);
    echo.join().unwrap();
    assert_eq!(back_rx.recv(), Err(RecvError));
}

// ---------------------------------------------------------------------------
// Cancellation and timeouts

#[test]
fn a_cancelled_blocked_receiver_leaves_the_message_for_another() {
    super::run(|| {
        let (tx, rx) = channel::bounded(0);
        let first = {
            let rx = rx.clone();
            corio::spawn_local(move || rx.recv())
        };
        settle();
        let second = {
            let rx = rx.clone();
            corio::spawn_local(move || rx.recv())
        };
        settle();
        first.cancel();
        assert!(first.join().unwrap_err().is_cancelled());
        tx.send(1).unwrap();
        assert_eq!(second.join().unwrap(), Ok(1));
    });
}

#[test]
fn a_message_handed_to_a_receiver_cancelled_before_it_ran_goes_to_the_next() {
    super::run(|| {
        let (tx, rx) = channel::bounded(0);
        let first = {
            let rx = rx.clone();
            corio::spawn_local(move || rx.recv())
        };
        settle();
        let second = {
            let rx = rx.clone();
            corio::spawn_local(move || rx.recv())
        };
        settle();
        tx.send(7).unwrap(); // handed to `first`, which has not run yet
        first.cancel();
        assert!(first.join().unwrap_err().is_cancelled());
        assert_eq!(second.join().unwrap(), Ok(7));
    });
}

// spawn_local: the test counts on the order of one worker's run queue.
#[test]
fn a_message_handed_to_a_cancelled_receiver_stays_in_the_channel() {
    super::run(|| {
        let (tx, rx) = channel::bounded(0);
        let receiver = {
            let rx = rx.clone();
            corio::spawn_local(move || rx.recv())
        };
        settle();
        tx.send(7).unwrap();
        receiver.cancel();
        assert!(receiver.join().unwrap_err().is_cancelled());
        // Nobody else waits: the message waits in the channel.
        assert_eq!(rx.len(), 1);
        assert_eq!(rx.try_recv(), Ok(7));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    });
}

#[test]
fn a_cancelled_blocked_sender_withdraws_its_message() {
    let drops = Arc::new(AtomicUsize::new(0));
    super::run(|| {
        let (tx, rx) = channel::bounded(0);
        let sender = {
            let drops = drops.clone();
            corio::spawn_local(move || tx.send(Counted(drops)).is_ok())
        };
        settle();
        sender.cancel();
        assert!(sender.join().unwrap_err().is_cancelled());
        assert_eq!(drops.load(Ordering::SeqCst), 1, "the message dropped once");
        assert!(matches!(rx.try_recv(), Err(TryRecvError::Disconnected)));
    });
}

#[test]
fn a_timed_out_receive_leaves_no_trace() {
    super::run(|| {
        let (tx, rx) = channel::bounded::<u8>(0);
        let r = corio::timeout(5 * MS, || rx.recv());
        assert!(r.is_err());
        // No receiver is registered any more: a rendezvous try_send fails.
        assert_eq!(tx.try_send(1), Err(TrySendError::Full(1)));
        let r = corio::timeout(5 * MS, || tx.send(2));
        assert!(r.is_err());
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    });
}

#[test]
fn a_task_blocked_on_a_channel_shows_in_the_dump() {
    super::run(|| {
        let (_tx, rx) = channel::bounded::<u8>(0);
        let t = corio::task::Builder::new()
            .name("chan-waiter")
            .spawn_local(move || rx.recv())
            .unwrap();
        settle();
        let dump = corio::rt::dump().unwrap();
        let info = dump
            .tasks
            .iter()
            .find(|t| t.name.as_deref() == Some("chan-waiter"))
            .unwrap();
        assert_eq!(info.status, TaskStatus::Parked);
        assert_eq!(info.waiting_on, WaitReason::Channel);
        t.cancel();
    });
}

// ---------------------------------------------------------------------------
// Select

#[test]
fn select_takes_from_the_ready_channel() {
    let (tx1, rx1) = channel::unbounded::<i32>();
    let (tx2, rx2) = channel::unbounded::<&str>();
    tx2.send("two").unwrap();
    let got = Select::new()
        .recv(&rx1, |r| format!("one: {r:?}"))
        .recv(&rx2, |r| format!("two: {r:?}"))
        .wait();
    assert_eq!(got, "two: Ok(\"two\")");
    drop(tx1);
}

#[test]
fn select_takes_exactly_one_message() {
    let (tx1, rx1) = channel::unbounded();
    let (tx2, rx2) = channel::unbounded();
    tx1.send(1).unwrap();
    tx2.send(2).unwrap();
    let (i, v) = select::select(&[&rx1, &rx2]);
    let v = v.unwrap();
    assert_eq!(v, [1, 2][i]);
    assert_eq!(rx1.len() + rx2.len(), 1, "the other message stays");
}

#[test]
fn select_parks_and_wakes_on_a_later_send() {
    let got = super::run(|| {
        let (tx1, rx1) = channel::bounded::<u32>(0);
        let (tx2, rx2) = channel::bounded::<u32>(0);
        let selector = corio::spawn_local(move || select::select(&[&rx1, &rx2]));
        settle();
        assert!(!selector.is_finished());
        // The select is a blocked receiver on both channels.
        assert_eq!(tx2.try_send(9), Ok(()));
        assert_eq!(
            tx1.try_send(8),
            Err(TrySendError::Full(8)),
            "it took only one"
        );
        selector.join().unwrap()
    });
    assert_eq!(got, (1, Ok(9)));
}

#[test]
fn select_wakes_for_a_send_from_another_thread() {
    let got = super::run(|| {
        let (_tx1, rx1) = channel::unbounded::<u32>();
        let (tx2, rx2) = channel::unbounded::<u32>();
        let thread = std::thread::spawn(move || {
            std::thread::sleep(5 * MS);
            tx2.send(42).unwrap();
        });
        let got = select::select(&[&rx1, &rx2]);
        thread.join().unwrap();
        got
    });
    assert_eq!(got, (1, Ok(42)));
}

#[test]
fn select_on_a_plain_thread_blocks_until_a_send() {
    let (tx1, rx1) = channel::bounded::<u32>(0);
    let (_tx2, rx2) = channel::bounded::<u32>(0);
    let thread = std::thread::spawn(move || tx1.send(3));
    assert_eq!(select::select(&[&rx1, &rx2]), (0, Ok(3)));
    thread.join().unwrap().unwrap();
}

#[test]
fn select_reports_a_closed_channel_as_ready() {
    super::run(|| {
        let (tx1, rx1) = channel::bounded::<u8>(0);
        let (_tx2, rx2) = channel::bounded::<u8>(0);
        let selector = corio::spawn_local(move || select::select(&[&rx1, &rx2]));
        settle();
        drop(tx1);
        assert_eq!(selector.join().unwrap(), (0, Err(RecvError)));
    });
}

#[test]
fn select_keeps_rendezvous_exact_for_the_channel_it_did_not_pick() {
    super::run(|| {
        let (tx1, rx1) = channel::bounded::<u8>(0);
        let (tx2, rx2) = channel::bounded::<u8>(0);
        let s1 = corio::spawn_local(move || tx1.send(1));
        let s2 = corio::spawn_local(move || tx2.send(2));
        settle();
        let (i, v) = select::select(&[&rx1, &rx2]);
        assert_eq!(v.unwrap(), [1, 2][i]);
        settle();
        let (picked, other) = if i == 0 { (s1, s2) } else { (s2, s1) };
        picked.join().unwrap().unwrap();
        assert!(
            !other.is_finished(),
            "the other send must still wait for a receiver"
        );
        let rx_other = if i == 0 { &rx2 } else { &rx1 };
        assert_eq!(rx_other.recv().unwrap(), [2, 1][i]);
        other.join().unwrap().unwrap();
    });
}

#[test]
fn select_alternates_between_channels_that_are_always_ready() {
    let (tx1, rx1) = channel::unbounded();
    let (tx2, rx2) = channel::unbounded();
    let mut picks = [0; 2];
    for _ in 0..100 {
        tx1.try_send(()).ok();
        tx2.try_send(()).ok();
        let (i, r) = select::select(&[&rx1, &rx2]);
        r.unwrap();
        picks[i] += 1;
    }
    // The first arm tried rotates, so neither ready channel is starved.
    assert!(picks[0] >= 40 && picks[1] >= 40, "{picks:?}");
}

#[test]
fn selects_waiting_on_one_channel_are_served_oldest_first() {
    let got = super::run(|| {
        let (tx, rx) = channel::unbounded::<u32>();
        let (_other_tx, other_rx) = channel::unbounded::<u32>();
        let selectors: Vec<_> = (0..3)
            .map(|_| {
                let (rx, other_rx) = (rx.clone(), other_rx.clone());
                let s = corio::spawn_local(move || select::select(&[&other_rx, &rx]).1.unwrap());
                settle();
                s
            })
            .collect();
        for n in 0..3 {
            tx.send(n).unwrap();
        }
        selectors
            .into_iter()
            .map(|s| s.join().unwrap())
            .collect::<Vec<_>>()
    });
    assert_eq!(got, [0, 1, 2]);
}

#[test]
fn a_cancelled_select_unregisters_from_every_channel() {
    super::run(|| {
        let (tx1, rx1) = channel::bounded::<u8>(0);
        let (tx2, rx2) = channel::bounded::<u8>(0);
        let selector = {
            let (rx1, rx2) = (rx1.clone(), rx2.clone());
            corio::spawn_local(move || select::select(&[&rx1, &rx2]))
        };
        settle();
        selector.cancel();
        assert!(selector.join().unwrap_err().is_cancelled());
        assert_eq!(tx1.try_send(1), Err(TrySendError::Full(1)));
        assert_eq!(tx2.try_send(2), Err(TrySendError::Full(2)));
    });
}

// spawn_local: the test counts on the order of one worker's run queue.
#[test]
fn a_message_handed_to_a_cancelled_select_is_not_lost() {
    super::run(|| {
        let (tx1, rx1) = channel::bounded::<u8>(0);
        let (_tx2, rx2) = channel::bounded::<u8>(0);
        let selector = {
            let (rx1, rx2) = (rx1.clone(), rx2.clone());
            corio::spawn_local(move || select::select(&[&rx1, &rx2]))
        };
        settle();
        let plain = {
            let rx1 = rx1.clone();
            corio::spawn_local(move || rx1.recv())
        };
        settle();
        tx1.send(5).unwrap(); // handed to the select, which has not run
        selector.cancel();
        assert!(selector.join().unwrap_err().is_cancelled());
        assert_eq!(plain.join().unwrap(), Ok(5));
    });
}

#[test]
fn select_closures_map_different_message_types_to_one_result() {
    #[derive(Debug, PartialEq)]
    enum Msg {
        Num(u32),
        Text(String),
        Gone,
    }
    let (ntx, nrx) = channel::unbounded::<u32>();
    let (ttx, trx) = channel::unbounded::<String>();
    ttx.send("hi".into()).unwrap();
    ntx.send(4).unwrap();
    drop((ntx, ttx));
    let mut got = Vec::new();
    for _ in 0..4 {
        got.push(
            Select::new()
                .recv(&nrx, |r| r.map_or(Msg::Gone, Msg::Num))
                .recv(&trx, |r| r.map_or(Msg::Gone, Msg::Text))
                .wait(),
        );
    }
    assert!(got.contains(&Msg::Num(4)));
    assert!(got.contains(&Msg::Text("hi".into())));
    assert_eq!(got.iter().filter(|m| **m == Msg::Gone).count(), 2);
}

#[test]
fn try_wait_takes_only_what_is_ready() {
    let (tx, rx) = channel::bounded::<u8>(0);
    let sel = Select::new().recv(&rx, |r| r);
    let sel = sel.try_wait().unwrap_err();
    assert!(format!("{sel:?}").contains("arms: 1"));
    let sender = std::thread::spawn(move || tx.send(1));
    // The blocked sender is ready to be taken from.
    let mut sel = sel;
    let got = loop {
        match sel.try_wait() {
            Ok(r) => break r,
            Err(back) => {
                sel = back;
                std::thread::sleep(MS);
            }
        }
    };
    assert_eq!(got, Ok(1));
    sender.join().unwrap().unwrap();
    assert!(Select::<()>::new().try_wait().is_err());
}

#[test]
#[should_panic(expected = "no arms")]
fn an_empty_select_panics_instead_of_waiting_forever() {
    Select::<()>::new().wait();
}

#[test]
fn a_select_loop_drains_several_producers_until_all_close() {
    let total = super::run(|| {
        let (tx_a, rx_a) = channel::bounded::<u64>(0);
        let (tx_b, rx_b) = channel::bounded::<u64>(1);
        let (tx_c, rx_c) = channel::unbounded::<u64>();
        for (tx, base) in [(tx_a, 0), (tx_b, 1000), (tx_c, 2000)] {
            corio::spawn(move || {
                for n in 0..100 {
                    tx.send(base + n).unwrap();
                }
            });
        }
        let mut open = [true; 3];
        let mut total = 0;
        while open.iter().any(|&o| o) {
            let rxs = [&rx_a, &rx_b, &rx_c];
            let (i, r) = select::select(&rxs);
            match r {
                Ok(n) => total += n,
                Err(RecvError) => {
                    open[i] = false;
                    // Keep selecting on the open ones only.
                    let left: Vec<_> = (0..3).filter(|&k| open[k]).map(|k| rxs[k]).collect();
                    for rx in left {
                        while let Ok(n) = rx.try_recv() {
                            total += n;
                        }
                    }
                }
            }
            if open.iter().filter(|&&o| o).count() < 3 {
                // Drain the rest one channel at a time.
                for (k, rx) in rxs.iter().enumerate() {
                    if open[k] {
                        total += rx.iter().sum::<u64>();
                        open[k] = false;
                    }
                }
            }
        }
        total
    });
    let want: u64 = (0..100).map(|n| 3 * n + 1000 + 2000).sum();
    assert_eq!(total, want);
}
