"""nogil-lint parity harness: runs one workload serially and on threads, prints JSON.

usage: harness.py race MODULE_DIR MODULE THREADS ITERATIONS
       harness.py scale THREADS ITERATIONS
"""

import importlib
import json
import os
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor


def gil_enabled():
    return getattr(sys, "_is_gil_enabled", lambda: True)()


def timed(function, *args):
    start = time.perf_counter()
    value = function(*args)
    return value, time.perf_counter() - start


def run_threads(threads, target):
    barrier = threading.Barrier(threads)

    def body():
        barrier.wait()
        target()

    workers = [threading.Thread(target=body) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def race(module, threads, iterations):
    if getattr(module, "SINGLE", False):
        serial, serial_time = timed(module.run, iterations, 1)
        threaded, threaded_time = timed(module.run, iterations, threads)
        return serial, threaded, serial_time, threaded_time
    if getattr(module, "ROUNDS", False):
        rounds = max(1, min(iterations // 20, 500))

        def serial_run():
            for _ in range(rounds):
                module.reset()
                for _ in range(threads):
                    module.work(1)
            return module.outcome()

        start_count = module.outcome()
        serial, serial_time = timed(serial_run)
        serial -= start_count

        def threaded_run():
            before = module.outcome()
            for _ in range(rounds):
                module.reset()
                run_threads(threads, lambda: module.work(1))
            return module.outcome() - before

        threaded, threaded_time = timed(threaded_run)
        return serial, threaded, serial_time, threaded_time

    def serial_run():
        module.reset()
        for _ in range(threads):
            module.work(iterations)
        return module.outcome()

    def threaded_run():
        module.reset()
        run_threads(threads, lambda: module.work(iterations))
        return module.outcome()

    serial, serial_time = timed(serial_run)
    threaded, threaded_time = timed(threaded_run)
    return serial, threaded, serial_time, threaded_time


def count_primes(bounds):
    start, stop = bounds
    count = 0
    for n in range(max(start, 2), stop):
        if all(n % d for d in range(2, int(n**0.5) + 1)):
            count += 1
    return count


def mandelbrot_rows(bounds):
    start, stop, size = bounds
    inside = 0
    for y in range(start, stop):
        for x in range(size):
            c = complex(-2.0 + 2.5 * x / size, -1.25 + 2.5 * y / size)
            z = 0j
            for _ in range(50):
                z = z * z + c
                if abs(z) > 2.0:
                    break
            else:
                inside += 1
    return inside


def chunks(total, parts, extra=None):
    step = max(total // parts, 1)
    bounds = [(i, min(i + step, total)) for i in range(0, total, step)]
    return [b + (extra,) if extra is not None else b for b in bounds]


def scale(threads, iterations):
    counts = [1]
    while counts[-1] * 2 <= threads:
        counts.append(counts[-1] * 2)
    if counts[-1] != threads:
        counts.append(threads)
    workloads = {
        "primes": (count_primes, iterations * 5, None),
        "mandelbrot": (mandelbrot_rows, max(iterations // 200, 16), max(iterations // 200, 16)),
    }
    rows = []
    for name, (function, size, extra) in workloads.items():
        serial, serial_time = timed(lambda: sum(map(function, chunks(size, 1, extra))))
        for workers in counts:
            parts = chunks(size, workers * 4, extra)
            for kind, executor in (("threads", ThreadPoolExecutor), ("processes", ProcessPoolExecutor)):
                with executor(max_workers=workers) as pool:
                    value, elapsed = timed(lambda: sum(pool.map(function, parts)))
                rows.append({
                    "workload": name,
                    "executor": kind,
                    "workers": workers,
                    "result": value,
                    "serial_result": serial,
                    "serial_seconds": serial_time,
                    "seconds": elapsed,
                })
    return rows


def main():
    mode = sys.argv[1]
    if mode == "race":
        if gil_enabled():
            # Hand the GIL over as often as possible, so that interleavings show.
            sys.setswitchinterval(1e-6)
        directory, name, threads, iterations = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
        sys.path.insert(0, directory)
        module = importlib.import_module(name)
        serial, threaded, serial_time, threaded_time = race(module, threads, iterations)
        print(json.dumps({
            "serial": serial,
            "threaded": threaded,
            "serial_seconds": serial_time,
            "threaded_seconds": threaded_time,
        }))
    elif mode == "scale":
        threads, iterations = int(sys.argv[2]), int(sys.argv[3])
        print(json.dumps({"rows": scale(threads, iterations)}))
    elif mode == "probe":
        print(json.dumps({
            "version": sys.version.split()[0],
            "gil_enabled": getattr(sys, "_is_gil_enabled", None) and sys._is_gil_enabled(),
            "has_gil_api": hasattr(sys, "_is_gil_enabled"),
            "cpus": os.cpu_count(),
        }))
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
