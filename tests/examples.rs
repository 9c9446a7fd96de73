//! The generator examples print what their Python originals print.

mod common;

use common::example_stdout;

#[test]
fn simple_yield_prints_the_producer_consumer_dialogue() {
    let mut expected = String::from("[CONSUMER] Starting consumer...\n");
    for n in 1..=5 {
        expected += &format!(
            "[PRODUCER] Producing {n}...\n[CONSUMER] Consuming {n}...\n\
             [PRODUCER] Consumer return: 200 OK\n"
        );
    }
    assert_eq!(example_stdout("simple_yield", &[]), expected);
}

#[test]
fn yield_from_prints_fib_three_ways_and_the_writer_log() {
    let fib = "1\n1\n2\n3\n5\n";
    let expected = format!("{fib}start\n{fib}end\nstart\n{fib}end\n>> 0\n>> 1\n>> 2\n***\n>> 4\n");
    assert_eq!(example_stdout("yield_from", &[]), expected);
}

#[test]
fn coroutine_greps_and_says_goodbye_on_close() {
    assert_eq!(
        example_stdout("coroutine", &[]),
        "Looking for python\npython generators rock!\nGoing away. Goodbye!\n"
    );
}

/// No flags to take: `--help` helps, anything else is a usage error.
#[test]
fn the_generator_examples_take_only_help() {
    for name in ["simple_yield", "yield_from", "coroutine"] {
        common::assert_help(name);
        common::assert_usage_error(name, &["--verbose"]);
        common::assert_usage_error(name, &["extra"]);
    }
}
