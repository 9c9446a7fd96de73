//! `yield_from` (PEP 380), and yields from any depth of calls and of
//! generators driving generators.

use std::cell::RefCell;
use std::rc::Rc;

use corio::generator::{Generator, GeneratorState, Interrupt};

use super::Spam;
use GeneratorState::{Complete, Yielded};

// ---------------------------------------------------------------- yield_from

fn fib(limit: usize) -> Generator<'static, (), u64, usize> {
    Generator::new(move |co, ()| {
        let (mut a, mut b) = (0, 1);
        for _ in 0..limit {
            co.yield_(b)?;
            (a, b) = (b, a + b);
        }
        Ok(limit)
    })
}

#[test]
fn yield_from_passes_values_and_returns_the_result() {
    let mut outer = Generator::<(), u64, usize>::new(|co, ()| {
        co.yield_(100)?;
        let n = co.yield_from(fib(5), ())?;
        co.yield_(200)?;
        Ok(n)
    });
    assert_eq!(
        outer.by_ref().collect::<Vec<_>>(),
        [100, 1, 1, 2, 3, 5, 200]
    );
    assert_eq!(outer.take_result().unwrap().unwrap(), 5);
}

#[test]
fn yield_from_forwards_sends_to_the_sub_generator() {
    let echo = Generator::<i32, i32, i32>::new(|co, mut x| {
        let mut sum = 0;
        while x != 0 {
            sum += x;
            x = co.yield_(x * 2)?;
        }
        Ok(sum)
    });
    let mut outer = Generator::<i32, i32, i32>::new(move |co, first| {
        let sum = co.yield_from(echo, first)?;
        co.yield_(-sum)?;
        Ok(0)
    });
    assert_eq!(outer.send(1).unwrap(), Yielded(2));
    assert_eq!(outer.send(5).unwrap(), Yielded(10));
    assert_eq!(outer.send(0).unwrap(), Yielded(-6));
}

#[test]
fn yield_from_forwards_throw_to_the_sub_generator() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let writer_log = log.clone();
    let writer = Generator::<i32, (), (), Spam>::new(move |co, mut w| loop {
        writer_log.borrow_mut().push(format!(">> {w}"));
        w = loop {
            match co.yield_(()) {
                Ok(w) => break w,
                Err(Interrupt::Thrown(_)) => writer_log.borrow_mut().push("***".to_string()),
                Err(closed) => return Err(closed),
            }
        };
    });
    let mut wrapper =
        Generator::<i32, (), (), Spam>::new(move |co, first| co.yield_from(writer, first));
    wrapper.send(0).unwrap();
    wrapper.send(1).unwrap();
    wrapper.throw(Spam("spam")).unwrap();
    wrapper.send(4).unwrap();
    assert_eq!(*log.borrow(), [">> 0", ">> 1", "***", ">> 4"]);
}

#[test]
fn an_error_escaping_the_sub_generator_is_raised_in_the_delegator() {
    let sub = Generator::<(), i32, (), Spam>::new(|co, ()| {
        co.yield_(1)?;
        Ok(())
    });
    let mut outer =
        Generator::<(), i32, &str, Spam>::new(move |co, ()| match co.yield_from(sub, ()) {
            Err(Interrupt::Thrown(Spam(s))) => {
                co.yield_(-1)?;
                Ok(s)
            }
            other => other.map(|()| "sub finished"),
        });
    assert_eq!(outer.send(()).unwrap(), Yielded(1));
    assert_eq!(outer.throw(Spam("boom")).unwrap(), Yielded(-1));
    assert_eq!(outer.send(()).unwrap(), Complete("boom"));
}

#[test]
fn close_goes_to_the_sub_generator_first() {
    let log = Rc::new(RefCell::new(Vec::new()));
    let sub_log = log.clone();
    let sub = Generator::<(), i32, ()>::new(move |co, ()| {
        let r = co.yield_(1);
        sub_log.borrow_mut().push(format!("sub saw {r:?}"));
        r?;
        Ok(())
    });
    let outer_log = log.clone();
    let mut outer = Generator::<(), i32, ()>::new(move |co, ()| {
        let r = co.yield_from(sub, ());
        outer_log.borrow_mut().push(format!("outer saw {r:?}"));
        r
    });
    assert_eq!(outer.send(()).unwrap(), Yielded(1));
    assert_eq!(outer.close().unwrap(), None);
    assert_eq!(
        *log.borrow(),
        ["sub saw Err(Closed)", "outer saw Err(Closed)"]
    );
}

#[test]
fn yield_from_chains_a_hundred_levels_deep() {
    fn level(depth: usize) -> Generator<'static, (), usize, usize> {
        Generator::new(move |co, ()| {
            if depth == 0 {
                co.yield_(0)?;
                return Ok(1);
            }
            co.yield_(depth)?;
            let below = co.yield_from(level(depth - 1), ())?;
            Ok(below + 1)
        })
    }
    let mut top = level(100);
    let values: Vec<usize> = top.by_ref().collect();
    assert_eq!(values, (0..=100).rev().collect::<Vec<_>>());
    assert_eq!(top.take_result().unwrap().unwrap(), 101);
}

#[test]
#[should_panic(expected = "already finished")]
fn yield_from_a_finished_generator_panics_clearly() {
    let mut done = fib(0);
    assert_eq!(done.send(()).unwrap(), Complete(0));
    let mut outer = Generator::<(), u64, usize>::new(move |co, ()| co.yield_from(done, ()));
    let _ = outer.send(());
}

// ---------------------------------------------------------------- depth and nesting

#[test]
fn functions_called_by_the_body_can_yield_at_any_depth() {
    #[derive(Debug)]
    enum Tree {
        Leaf(i32),
        Node(Vec<Tree>),
    }
    fn walk(
        co: &corio::Co<(), i32>,
        tree: &Tree,
    ) -> Result<(), Interrupt<std::convert::Infallible>> {
        match tree {
            Tree::Leaf(v) => {
                co.yield_(*v)?;
            }
            Tree::Node(children) => {
                for child in children {
                    walk(co, child)?;
                }
            }
        }
        Ok(())
    }
    let mut tree = Tree::Leaf(0);
    for i in 1..200 {
        tree = Tree::Node(vec![Tree::Leaf(-i), tree, Tree::Leaf(i)]);
    }
    let gen = Generator::<(), i32, ()>::new(|co, ()| walk(co, &tree));
    let values: Vec<i32> = gen.collect();
    assert_eq!(values.len(), 399);
    assert_eq!(values[0], -199);
    assert_eq!(values[199], 0);
    assert_eq!(values[398], 199);
}

#[test]
fn generators_drive_other_generators_inside_their_bodies() {
    // A chain of generators, each summing what the one below yields.
    fn chain(depth: u32) -> Generator<'static, (), u32, ()> {
        Generator::new(move |co, ()| {
            if depth == 0 {
                for i in 1..=3 {
                    co.yield_(i)?;
                }
                return Ok(());
            }
            let inner = chain(depth - 1);
            for v in inner {
                co.yield_(v * 2)?;
            }
            Ok(())
        })
    }
    assert_eq!(chain(10).collect::<Vec<_>>(), [1024, 2048, 3072]);
}

#[test]
fn bodies_borrow_from_the_caller() {
    let words = vec!["alpha".to_string(), "beta".to_string(), "gamma".to_string()];
    let lengths = Generator::<(), &str, ()>::new(|co, ()| {
        for w in &words {
            co.yield_(w.as_str())?;
        }
        Ok(())
    });
    assert_eq!(lengths.collect::<Vec<_>>(), ["alpha", "beta", "gamma"]);
}

#[test]
#[should_panic(expected = "not the one running")]
fn yielding_through_an_outer_handle_from_a_nested_generator_panics() {
    let mut outer = Generator::<(), i32, ()>::new(|outer_co, ()| {
        let mut inner = Generator::<(), i32, ()>::new(|_inner_co, ()| {
            outer_co.yield_(1)?;
            Ok(())
        });
        let _ = inner.send(());
        Ok(())
    });
    let _ = outer.send(());
}
