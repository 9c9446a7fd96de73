#!/usr/bin/env python3
"""The bus pipeline of benches/pipeline.rs in plain Python generators.

Same stages as the seed's coexpat_bus.py (expat feeding buses_to_dicts ->
filter route "22" -> filter direction "North Bound" -> printer), on the feed
that `cargo bench --bench pipeline` writes:

    python3 benches/pipeline.py target/pipeline-bench/buses.xml [ROUNDS]

Prints the median time of ROUNDS runs (default 5) and the throughput in MB/s
(bytes of XML per second, in decimal megabytes, as the bench's
interleaved table reports it; criterion's own output is in MiB/s).
"""

import sys
import time
import xml.parsers.expat


def coroutine(func):
    def start(*args, **kwargs):
        gen = func(*args, **kwargs)
        gen.send(None)
        return gen
    return start


@coroutine
def buses_to_dicts(target):
    while True:
        event, value = yield
        if event == 'start' and value[0] == 'bus':
            bus = {}
            fragments = []
            while True:
                event, value = yield
                if event == 'start':
                    fragments = []
                elif event == 'content':
                    fragments.append(value)
                elif event == 'end':
                    if value != 'bus':
                        bus[value] = ''.join(fragments)
                    else:
                        target.send(bus)
                        break


@coroutine
def filter_on_field(field, value, target):
    while True:
        d = yield
        if d.get(field) == value:
            target.send(d)


@coroutine
def bus_info_printer(out):
    while True:
        bus = yield
        out.append(f"{bus['route']}, {bus['id']}, {bus['direction']}, "
                   f"{bus['latitude']}, {bus['longitude']}")


def expat_parse(data, target):
    parser = xml.parsers.expat.ParserCreate()
    parser.buffer_text = True
    parser.buffer_size = 65536
    parser.StartElementHandler = lambda name, attrs: target.send(('start', (name, attrs)))
    parser.CharacterDataHandler = lambda content: target.send(('content', content))
    parser.EndElementHandler = lambda name: target.send(('end', name))
    parser.Parse(data, True)


def run(data):
    out = []
    printer = bus_info_printer(out)
    direction = filter_on_field('direction', 'North Bound', printer)
    route = filter_on_field('route', '22', direction)
    expat_parse(data, buses_to_dicts(route))
    return len(out)


def main():
    path = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    with open(path, 'rb') as f:
        data = f.read()
    times = []
    lines = 0
    for _ in range(rounds):
        start = time.perf_counter()
        lines = run(data)
        times.append(time.perf_counter() - start)
    times.sort()
    median = times[len(times) // 2]
    mb = len(data) / 1e6
    print(f"python {sys.version.split()[0]}: {lines} buses printed, "
          f"median {median * 1e3:.1f} ms over {rounds} runs, {mb / median:.1f} MB/s")


if __name__ == '__main__':
    main()
