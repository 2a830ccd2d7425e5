#!/usr/bin/env python3
"""What happens when threads advance one shared iterator: the measurement behind NG112.

Each run starts a fresh interpreter in which THREADS threads (released together at a barrier)
each call `next()` ITERATIONS times on one shared object, catching `ValueError`. The script
counts, over RUNS runs per kind, how many interpreters died (by signal, or with "Fatal Python
error" on stderr), how many `ValueError: generator already executing` the surviving runs
raised, and how many items were handed out twice.

Kinds: `generator` (a generator function's object), `genexpr` (a generator expression),
`locked-generator` (the same generator, each `next()` under one lock), `count`
(`itertools.count()`), `list-iterator` (`iter(list)`), `map` (`map(f, range(...))`).

This is a measurement, not a test: CI and `cargo test` never run it.

Usage: scripts/shared-iterator-race.py [--python PATH] [--runs 50] [--iterations 100000]
                                       [--threads 4] [--kinds generator,count,...]
"""

import argparse
import collections
import json
import signal
import subprocess
import sys

CHILD = r"""
import itertools, json, sys, threading

kind, threads, iterations = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
size = threads * iterations + 10


def numbers():
    n = 0
    while True:
        n += 1
        yield n


lock = None
if kind in ("generator", "locked-generator"):
    shared = numbers()
    if kind == "locked-generator":
        lock = threading.Lock()
elif kind == "genexpr":
    shared = (n for n in range(size))
elif kind == "count":
    shared = itertools.count()
elif kind == "list-iterator":
    shared = iter(list(range(size)))
elif kind == "map":
    shared = map(int, range(size))
else:
    raise SystemExit(f"unknown kind {kind}")

taken, errors = [], []
barrier = threading.Barrier(threads)


def work():
    barrier.wait()
    mine, failed = [], 0
    for _ in range(iterations):
        try:
            if lock is None:
                mine.append(next(shared))
            else:
                with lock:
                    mine.append(next(shared))
        except ValueError:
            failed += 1
    taken.extend(mine)
    errors.append(failed)


workers = [threading.Thread(target=work) for _ in range(threads)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
print(json.dumps({
    "taken": len(taken),
    "duplicates": len(taken) - len(set(taken)),
    "value_errors": sum(errors),
}))
"""

KINDS = ["generator", "genexpr", "locked-generator", "count", "list-iterator", "map"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--iterations", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--kinds", default=",".join(KINDS))
    args = parser.parse_args()

    probe = subprocess.run(
        [args.python, "-c",
         "import sys; print(sys.version.split()[0], getattr(sys, '_is_gil_enabled', lambda: True)())"],
        capture_output=True, text=True, check=True,
    ).stdout.split()
    print(f"interpreter: {args.python} (Python {probe[0]}, GIL enabled: {probe[1]})")
    print(f"{args.runs} runs per kind, {args.threads} threads x {args.iterations:,} next() calls each")
    print()
    print(f"{'kind':<17} {'crashed':<8} {'how':<40} {'runs with ValueError':<28} runs with duplicates")
    for kind in args.kinds.split(","):
        crashes = collections.Counter()
        value_error_runs = duplicate_runs = 0
        value_errors = duplicates = 0
        for _ in range(args.runs):
            done = subprocess.run(
                [args.python, "-c", CHILD, kind, str(args.threads), str(args.iterations)],
                capture_output=True, text=True, timeout=600,
            )
            fatal = "Fatal Python error" in done.stderr
            if done.returncode < 0:
                name = signal.Signals(-done.returncode).name
                crashes[f"{name}{' + Fatal Python error' if fatal else ''}"] += 1
            elif fatal or done.returncode != 0:
                crashes[f"exit {done.returncode}{' + Fatal Python error' if fatal else ''}"] += 1
            else:
                outcome = json.loads(done.stdout)
                value_errors += outcome["value_errors"]
                duplicates += outcome["duplicates"]
                value_error_runs += outcome["value_errors"] > 0
                duplicate_runs += outcome["duplicates"] > 0
        crashed = sum(crashes.values())
        survived = args.runs - crashed
        how = ", ".join(f"{count} {what}" for what, count in sorted(crashes.items())) or "-"
        errors = f"{value_error_runs}/{survived} ({value_errors:,} calls)"
        repeats = f"{duplicate_runs}/{survived} ({duplicates:,} items)"
        print(f"{kind:<17} {crashed:>2}/{args.runs:<5} {how:<40} {errors:<28} {repeats}")

if __name__ == "__main__":
    main()
