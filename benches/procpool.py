"""The process-pool figures of benches/procpool.rs, in CPython with
multiprocessing.Pool: round trip, throughput of many small jobs, and the
speedup of hashing jobs on 1 and 2 workers.

    python3 benches/procpool.py TRIPS JOBS CPU_JOBS ROUNDS BLOCK
"""

import hashlib
import statistics
import sys
import time
from multiprocessing import Pool


def square(n):
    return n * n


def hash_chain(args):
    seed, rounds, block_len = args
    block = bytes((seed + j) % 251 for j in range(block_len))
    digest = bytes(32)
    for _ in range(rounds):
        digest = hashlib.sha256(digest + block).digest()
    return digest.hex()


def median(runs, f):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    trips, jobs, cpu_jobs, rounds, block = map(int, sys.argv[1:6])
    with Pool(1) as one, Pool(2) as two:
        for n in range(200):
            one.apply_async(square, (n,)).get()

        def round_trips():
            for n in range(trips):
                one.apply_async(square, (n,)).get()

        print("round_trip_us", median(5, round_trips) / trips * 1e6)

        def batch():
            results = [two.apply_async(square, (n,)) for n in range(jobs)]
            for r in results:
                r.get()

        print("jobs_per_sec", jobs / median(5, batch))
        work = [(seed, rounds, block) for seed in range(cpu_jobs)]
        print("digest0", one.map(hash_chain, work[:1])[0])
        print("cpu_1_ms", median(3, lambda: one.map(hash_chain, work, chunksize=1)) * 1e3)
        print("cpu_2_ms", median(3, lambda: two.map(hash_chain, work, chunksize=1)) * 1e3)


if __name__ == "__main__":
    main()
