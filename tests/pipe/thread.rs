//! The threaded stage: `pipe::threaded`, `pipe::threaded_scoped`,
//! `pipe::ThreadBuilder`. Part of `tests/pipe.rs`.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use corio::pipe::bus::generate_feed;
use corio::pipe::xml::{self, Event};
use corio::pipe::{self, Consumer, Error, Sink, StageError, ThreadBuilder, ThreadPanic};
use corio::Interrupt;

/// Sends the id of the thread it lives on when that thread exits: a
/// thread-local's destructor runs as the thread ends, before a join of the
/// thread returns.
struct ExitSignal(mpsc::Sender<ThreadId>);

impl Drop for ExitSignal {
    fn drop(&mut self) {
        let _ = self.0.send(std::thread::current().id());
    }
}

thread_local! {
    static ON_EXIT: RefCell<Option<ExitSignal>> = const { RefCell::new(None) };
}

/// Arms the current thread to send its id on `exits` when it exits, and
/// returns the id.
fn report_exit(exits: mpsc::Sender<ThreadId>) -> ThreadId {
    ON_EXIT.with(|slot| *slot.borrow_mut() = Some(ExitSignal(exits)));
    std::thread::current().id()
}

/// A target that logs what happens to it, handles thrown errors, and says
/// goodbye when closed.
fn recorder(log: mpsc::Sender<String>) -> Consumer<'static, String> {
    Consumer::new(move |inbox| loop {
        match inbox.recv() {
            Ok(item) => log.send(format!("got {item}")).unwrap(),
            Err(Interrupt::Closed) => {
                log.send("closed".into()).unwrap();
                return Ok(());
            }
            Err(Interrupt::Thrown(e)) => log.send(format!("caught {e}")).unwrap(),
        }
    })
}

/// A target that raises an error at item `bad`.
fn fails_at(bad: u32) -> impl Sink<u32> {
    pipe::sink_fn(move |n: u32| {
        if n == bad {
            Err(Error::msg(format!("bad item {n}")))
        } else {
            Ok(())
        }
    })
}

/// Waits (bounded) until `stage` sees that its thread has ended.
fn wait_finished<T>(stage: &impl Sink<T>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !stage.is_finished() {
        assert!(Instant::now() < deadline, "the thread never ended");
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn items_arrive_in_order_on_another_thread() {
    let (tx, rx) = mpsc::channel();
    let (ids, worker) = mpsc::channel();
    // An odd batch size, so that the last batch is partial, and little room
    // in the channel, so that the sender waits for the thread at times.
    let stage = ThreadBuilder::new()
        .batch(7)
        .capacity(1)
        .name("corio-test-worker")
        .spawn(move || {
            ids.send(std::thread::current().id()).unwrap();
            assert_eq!(std::thread::current().name(), Some("corio-test-worker"));
            pipe::sink_fn(move |n: u32| {
                tx.send(n).unwrap();
                Ok(())
            })
        })
        .unwrap();
    pipe::from_iter(0..10_000, stage).unwrap();
    assert_ne!(worker.recv().unwrap(), std::thread::current().id());
    assert_eq!(
        rx.try_iter().collect::<Vec<_>>(),
        (0..10_000).collect::<Vec<_>>()
    );
}

#[test]
fn close_flushes_closes_the_target_and_joins_the_thread() {
    let (log_tx, log) = mpsc::channel();
    let (exits, exited) = mpsc::channel();
    let (ids, worker) = mpsc::channel();
    let mut stage = pipe::threaded(move || {
        ids.send(report_exit(exits)).unwrap();
        recorder(log_tx)
    });
    for word in ["a", "b", "c"] {
        stage.send(word.into()).unwrap();
    }
    // Fewer than a batch: held on this side until the close.
    stage.close().unwrap();
    // Everything happened before `close` returned: nothing to wait for.
    assert_eq!(
        log.try_iter().collect::<Vec<_>>(),
        ["got a", "got b", "got c", "closed"]
    );
    assert_eq!(exited.try_recv(), Ok(worker.recv().unwrap()));
    assert!(stage.is_finished());
    stage.close().unwrap(); // closing twice is harmless
    let err = stage.send("late".into()).unwrap_err();
    assert_eq!(err.stage_error(), Some(StageError::Finished));
}

#[test]
fn flush_hands_over_the_partial_batch() {
    let (log_tx, log) = mpsc::channel();
    let mut stage = pipe::threaded(move || recorder(log_tx));
    stage.send("a".into()).unwrap();
    stage.flush().unwrap();
    // The batch is on its way without a close.
    assert_eq!(log.recv_timeout(Duration::from_secs(60)).unwrap(), "got a");
    stage.close().unwrap();
    assert_eq!(log.try_iter().collect::<Vec<_>>(), ["closed"]);
}

#[test]
fn a_full_batch_is_taken_without_a_flush_even_from_a_sleeping_thread() {
    let (log_tx, log) = mpsc::channel();
    let mut stage = ThreadBuilder::new()
        .batch(1)
        .capacity(8)
        .spawn(move || recorder(log_tx))
        .unwrap();
    for round in 0..5 {
        // Long enough for the thread to give up waiting awake and sleep.
        std::thread::sleep(Duration::from_millis(20));
        let item = format!("item {round}");
        stage.send(item.clone()).unwrap();
        // One batch, below the count that wakes a napping thread: it is
        // taken all the same (a sleeping thread is woken, a nap ends).
        let got = log.recv_timeout(Duration::from_secs(60)).unwrap();
        assert_eq!(got, format!("got {item}"));
    }
    stage.close().unwrap();
    assert_eq!(log.try_iter().collect::<Vec<_>>(), ["closed"]);
}

#[test]
fn a_slow_target_makes_the_sender_wait_and_loses_nothing() {
    let (tx, rx) = mpsc::channel();
    let stage = ThreadBuilder::new()
        .batch(3)
        .capacity(2)
        .spawn(move || {
            pipe::sink_fn(move |n: u32| {
                if n.is_multiple_of(16) {
                    std::thread::sleep(Duration::from_millis(1));
                }
                tx.send(n).unwrap();
                Ok(())
            })
        })
        .unwrap();
    pipe::from_iter(0..600, stage).unwrap();
    assert_eq!(
        rx.try_iter().collect::<Vec<_>>(),
        (0..600).collect::<Vec<_>>()
    );
}

#[test]
fn dropping_without_close_closes_the_target_and_joins_the_thread() {
    let (log_tx, log) = mpsc::channel();
    let (exits, exited) = mpsc::channel();
    let (ids, worker) = mpsc::channel();
    let mut stage = pipe::threaded(move || {
        ids.send(report_exit(exits)).unwrap();
        recorder(log_tx)
    });
    stage.send("a".into()).unwrap();
    drop(stage);
    // The queued item was handed over, the target closed, the thread gone.
    assert_eq!(log.try_iter().collect::<Vec<_>>(), ["got a", "closed"]);
    assert_eq!(exited.try_recv(), Ok(worker.recv().unwrap()));
}

#[test]
fn an_error_of_the_target_comes_back_from_the_source() {
    for batch in [1, 3, 64] {
        let stage = ThreadBuilder::new()
            .batch(batch)
            .spawn(|| fails_at(5))
            .unwrap();
        let err = pipe::from_iter(0..1000, stage).unwrap_err();
        assert_eq!(err.to_string(), "bad item 5", "batch {batch}");
    }
    // All three items cross at the close: the error comes back from it.
    let stage = pipe::threaded(|| fails_at(2));
    let err = pipe::from_iter(0..3, stage).unwrap_err();
    assert_eq!(err.to_string(), "bad item 2");
}

#[test]
fn an_error_of_the_target_comes_back_from_the_next_send_then_it_is_finished() {
    let mut stage = ThreadBuilder::new().batch(1).spawn(|| fails_at(1)).unwrap();
    stage.send(0).unwrap();
    stage.send(1).unwrap(); // fails over there, later
    wait_finished(&stage);
    let err = stage.send(2).unwrap_err();
    assert_eq!(err.to_string(), "bad item 1");
    // Reported once; after that the stage is just finished.
    let err = stage.send(3).unwrap_err();
    assert_eq!(err.stage_error(), Some(StageError::Finished));
    stage.close().unwrap();
}

#[test]
fn an_error_of_the_target_comes_back_from_close() {
    let mut stage = ThreadBuilder::new().batch(1).spawn(|| fails_at(0)).unwrap();
    stage.send(0).unwrap();
    wait_finished(&stage);
    assert_eq!(stage.close().unwrap_err().to_string(), "bad item 0");
    stage.close().unwrap();
}

#[test]
fn an_io_error_keeps_its_kind() {
    let stage = pipe::threaded(|| {
        pipe::sink_fn(|_: u8| Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe).into()))
    });
    let err = pipe::from_iter([1], stage).unwrap_err();
    assert_eq!(err.io_kind(), Some(std::io::ErrorKind::BrokenPipe));
}

#[test]
fn a_panic_on_the_thread_becomes_an_error() {
    let stage = pipe::threaded(|| {
        pipe::sink_fn(|n: u32| {
            assert!(n < 3, "item {n} is too big");
            Ok(())
        })
    });
    let err = pipe::from_iter(0..1000, stage).unwrap_err();
    let panic = err.downcast_ref::<ThreadPanic>().expect("a ThreadPanic");
    assert_eq!(panic.message(), "item 3 is too big");
    assert_eq!(
        err.to_string(),
        "pipeline thread panicked: item 3 is too big"
    );

    // A panic in a generator stage, and one while the target is built.
    let stage = pipe::threaded(|| {
        Consumer::<u32>::new(|inbox| loop {
            if inbox.recv()? == 7 {
                panic!("seven");
            }
        })
    });
    let err = pipe::from_iter(0..1000, stage).unwrap_err();
    assert_eq!(
        err.downcast_ref::<ThreadPanic>().unwrap().message(),
        "seven"
    );
    let stage = pipe::threaded(|| -> Vec<u32> { panic!("no target") });
    let err = pipe::from_iter(0..1000, stage).unwrap_err();
    assert_eq!(
        err.downcast_ref::<ThreadPanic>().unwrap().message(),
        "no target"
    );
}

#[test]
fn throw_is_forwarded_after_the_items_before_it() {
    let (log_tx, log) = mpsc::channel();
    let mut stage = pipe::threaded(move || recorder(log_tx));
    stage.send("a".into()).unwrap();
    // The recorder handles it, so the stage goes on.
    stage.throw(Error::msg("boom")).unwrap();
    stage.send("b".into()).unwrap();
    stage.close().unwrap();
    assert_eq!(
        log.try_iter().collect::<Vec<_>>(),
        ["got a", "caught boom", "got b", "closed"]
    );
}

#[test]
fn an_unhandled_throw_comes_back_and_finishes_the_stage() {
    let (log_tx, log) = mpsc::channel();
    let mut stage = pipe::threaded(move || {
        pipe::map(
            |s: String| s.len(),
            pipe::sink_fn(move |n: usize| {
                log_tx.send(n).unwrap();
                Ok(())
            }),
        )
    });
    stage.send("abc".into()).unwrap();
    let err = stage.throw(Error::msg("boom")).unwrap_err();
    assert_eq!(err.to_string(), "boom");
    wait_finished(&stage);
    let err = stage.send("more".into()).unwrap_err();
    assert_eq!(err.stage_error(), Some(StageError::Finished));
    stage.close().unwrap();
    assert_eq!(log.try_iter().collect::<Vec<_>>(), [3]);
}

#[test]
fn a_target_that_finishes_stops_the_source() {
    let sent = AtomicUsize::new(0);
    let stage = pipe::threaded(|| {
        Consumer::<u64>::new(|inbox| {
            for _ in 0..3 {
                inbox.recv()?;
            }
            Ok(()) // takes three items, then finishes
        })
    });
    let items = (0..100_000_000).inspect(|_| {
        sent.fetch_add(1, Ordering::Relaxed);
    });
    pipe::from_iter(items, stage).unwrap();
    let sent = sent.load(Ordering::Relaxed);
    assert!((3..100_000_000).contains(&sent), "{sent} items sent");
}

#[test]
fn the_send_that_finds_the_target_finished_drops_its_item_quietly() {
    let (exits, exited) = mpsc::channel();
    let mut stage = ThreadBuilder::new()
        .batch(1)
        .spawn(move || {
            report_exit(exits);
            Consumer::<u32>::new(|inbox| {
                inbox.recv()?;
                Ok(()) // takes one item, then finishes
            })
        })
        .unwrap();
    stage.send(0).unwrap();
    exited.recv_timeout(Duration::from_secs(60)).unwrap();
    // The thread has ended, and nobody has asked: this item just drops.
    stage.send(1).unwrap();
    assert!(stage.is_finished());
    let err = stage.send(2).unwrap_err();
    assert_eq!(err.stage_error(), Some(StageError::Finished));
    stage.close().unwrap();
}

#[test]
fn scoped_stages_take_events_that_borrow_from_the_document() {
    let feed = generate_feed(200, 7);
    let mut alone = Vec::new();
    xml::parse_str(&feed, super::bus_routes(&mut alone)).unwrap();
    let mut threaded = Vec::new();
    std::thread::scope(|scope| {
        let out = &mut threaded;
        let stage = pipe::threaded_scoped(scope, move || super::bus_routes(out));
        xml::parse_str(&feed, stage).unwrap();
    });
    assert!(!alone.is_empty());
    assert_eq!(threaded, alone);

    // Borrowed text crosses as it is: no copy.
    let doc = "<a>text</a>";
    let mut seen = Vec::new();
    std::thread::scope(|scope| {
        let seen = &mut seen;
        let stage = pipe::threaded_scoped(scope, move || {
            pipe::sink_fn(move |ev: Event<'_>| {
                if let Event::Text(t) = ev {
                    seen.push(t.into_cow());
                }
                Ok(())
            })
        });
        xml::parse_str(doc, stage).unwrap();
    });
    assert!(matches!(&seen[..], [std::borrow::Cow::Borrowed("text")]));
}

#[test]
fn a_stage_fed_from_a_task_parks_the_task_not_the_thread() {
    let (log_tx, log) = mpsc::channel();
    let ticks = corio::run(move || {
        let ticks = std::rc::Rc::new(std::cell::Cell::new(0u64));
        let counter = std::rc::Rc::clone(&ticks);
        let ticker = corio::spawn_local(move || loop {
            counter.set(counter.get() + 1);
            corio::yield_now();
        });
        // A slow target and no room in the channel: the sending task waits
        // for the thread, and meanwhile the ticker runs on this one.
        let stage = ThreadBuilder::new()
            .batch(1)
            .capacity(1)
            .spawn(move || {
                pipe::sink_fn(move |s: String| {
                    std::thread::sleep(Duration::from_millis(2));
                    log_tx.send(s).unwrap();
                    Ok(())
                })
            })
            .unwrap();
        pipe::from_iter(strings(&["a", "b", "c", "d", "e"]), stage).unwrap();
        ticker.cancel();
        ticks.get()
    });
    assert!(ticks > 0, "the sending task never parked");
    assert_eq!(
        log.try_iter().collect::<Vec<_>>(),
        strings(&["a", "b", "c", "d", "e"])
    );
}

#[test]
fn a_cancelled_task_drops_its_stage_and_the_thread_ends() {
    let (log_tx, log) = mpsc::channel();
    let (exits, exited) = mpsc::channel();
    let joined = corio::run(move || {
        let task = corio::spawn(move || {
            let mut stage = pipe::threaded(move || {
                report_exit(exits);
                recorder(log_tx)
            });
            stage.send("a".into()).unwrap();
            stage.flush().unwrap();
            stage.send("b".into()).unwrap(); // left in the partial batch
            loop {
                corio::sleep(Duration::from_millis(1));
            }
        });
        corio::sleep(Duration::from_millis(20));
        task.cancel();
        task.join()
    });
    assert!(matches!(joined, Err(corio::task::JoinError::Cancelled)));
    // Dropped while unwinding: the partial batch is dropped, the target
    // closed, the thread joined.
    assert_eq!(log.try_iter().collect::<Vec<_>>(), ["got a", "closed"]);
    assert!(exited.try_recv().is_ok());
}
