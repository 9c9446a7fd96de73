//! Two jobs registered under one name: a pool refuses to start rather
//! than let a worker run the wrong one. (A binary of its own: the
//! duplicate stops every pool in it.)

fn one(n: u64) -> u64 {
    n + 1
}

fn two(n: u64) -> u64 {
    n + 2
}

fn declares_one() -> &'static corio::procpool::Job<u64, u64> {
    corio::job!(static TWIN: Job<u64, u64> = one);
    &TWIN
}

fn declares_two() -> &'static corio::procpool::Job<u64, u64> {
    corio::job!(static TWIN: Job<u64, u64> = two);
    &TWIN
}

#[test]
fn a_name_registered_twice_stops_the_pool_from_starting() {
    assert_eq!(declares_one().name(), declares_two().name());
    let err = corio::procpool::Pool::builder()
        .workers(1)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    assert!(
        err.to_string().contains("two jobs are registered as"),
        "{err}"
    );
}
