"""nogil-lint parity harness: runs one workload serially and on threads, prints JSON.

usage: harness.py probe
       harness.py race MODULE_DIR MODULE THREADS ITERATIONS BUDGET_SECONDS MAX_TRIES
       harness.py scale WORKERS TARGET_SECONDS
       harness.py row WORKLOAD EXECUTOR WORKERS SIZE

`race` runs the serial program once, then the threaded one until its outcome differs from the
serial one (the race shown), until MAX_TRIES tries (when not 0), or until BUDGET_SECONDS have
passed (when MAX_TRIES is 0). `scale` sizes each CPU-bound workload so that its serial run takes
about TARGET_SECONDS, then runs every row (serial, threads, processes) in a fresh interpreter of
its own (`row`), so that each row's peak memory is its own.
"""

import importlib
import json
import multiprocessing
import os
import subprocess
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


def programs(module, threads, iterations):
    """The serial and the threaded run of a workload, as two functions returning its outcome."""
    if getattr(module, "SINGLE", False):
        return (lambda: module.run(iterations, 1)), (lambda: module.run(iterations, threads))
    if getattr(module, "ROUNDS", False):
        # A try is a few dozen rounds (threads started at a barrier each): short, so that the
        # budget buys many tries.
        rounds = max(1, min(iterations // 400, 50))

        def serial_rounds():
            before = module.outcome()
            for _ in range(rounds):
                module.reset()
                for _ in range(threads):
                    module.work(1)
            return module.outcome() - before

        def threaded_rounds():
            before = module.outcome()
            for _ in range(rounds):
                module.reset()
                run_threads(threads, lambda: module.work(1))
            return module.outcome() - before

        return serial_rounds, threaded_rounds

    def serial_run():
        module.reset()
        for _ in range(threads):
            module.work(iterations)
        return module.outcome()

    def threaded_run():
        module.reset()
        run_threads(threads, lambda: module.work(iterations))
        return module.outcome()

    return serial_run, threaded_run


def race(module, threads, iterations, budget, max_tries):
    serial_run, threaded_run = programs(module, threads, iterations)
    serial, serial_time = timed(serial_run)
    start = time.perf_counter()
    tries = 0
    while True:
        threaded, threaded_time = timed(threaded_run)
        tries += 1
        if threaded != serial:
            break
        if max_tries and tries >= max_tries:
            break
        if not max_tries and time.perf_counter() - start >= budget:
            break
    return {
        "serial": serial,
        "threaded": threaded,
        "serial_seconds": serial_time,
        "threaded_seconds": threaded_time,
        "tries": tries,
        "seconds": time.perf_counter() - start,
    }


def count_primes(bounds):
    start, stop = bounds
    count = 0
    for n in range(max(start, 2), stop):
        if all(n % d for d in range(2, int(n**0.5) + 1)):
            count += 1
    return count


MANDELBROT_WIDTH = 400


def mandelbrot_rows(bounds):
    start, stop = bounds
    inside = 0
    for y in range(start, stop):
        for x in range(MANDELBROT_WIDTH):
            c = complex(-2.0 + 2.5 * x / MANDELBROT_WIDTH, -1.25 + 2.5 * (y % 400) / 400)
            z = 0j
            for _ in range(50):
                z = z * z + c
                if abs(z) > 2.0:
                    break
            else:
                inside += 1
    return inside


# Each workload's size grows its work about linearly (primes a little faster).
WORKLOADS = {"primes": (count_primes, 20_000), "mandelbrot": (mandelbrot_rows, 16)}


def chunks(total, parts):
    # Many small chunks, handed out as workers free up: a pool finishes when its slowest
    # worker does, and the primes workload's later chunks cost more than its first ones.
    step = max(total // parts, 1)
    return [(i, min(i + step, total)) for i in range(0, total, step)]


def peak_rss_kib(pid="self"):
    """The peak resident memory of a process (Linux `VmHWM`), or None where it is not known."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def row(name, executor, workers, size):
    function = WORKLOADS[name][0]
    if executor == "serial":
        value, elapsed = timed(lambda: sum(map(function, chunks(size, 1))))
        return {"result": value, "seconds": elapsed, "peak_rss_kib": peak_rss_kib()}
    parts = chunks(size, workers * 16)
    pool_type = ThreadPoolExecutor if executor == "threads" else ProcessPoolExecutor
    start = time.perf_counter()
    with pool_type(max_workers=workers) as pool:
        value = sum(pool.map(function, parts))
        memory = peak_rss_kib()
        if executor == "processes" and memory is not None:
            # Read before the pool shuts down, while its workers are alive: each one's peak.
            for child in multiprocessing.active_children():
                child_memory = peak_rss_kib(child.pid)
                if child_memory is None:
                    memory = None
                    break
                memory += child_memory
    elapsed = time.perf_counter() - start
    return {"result": value, "seconds": elapsed, "peak_rss_kib": memory}


def run_row(name, executor, workers, size):
    """One row in a fresh interpreter, so that its peak memory is its own."""
    output = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "row", name, executor, str(workers), str(size)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output)


def calibrate(name, target):
    """The size whose serial run takes about `target` seconds of this machine's CPU.

    Measured in CPU time, not wall time: another busy process on a shared machine slows the
    wall clock of a calibration run and would size the work too small.
    """
    function, size = WORKLOADS[name]
    while True:
        start = time.thread_time()
        function((0, size))
        elapsed = time.thread_time() - start
        if elapsed >= target:
            return size
        # Aim a little past the target so the run that counts is not just below it.
        factor = min(max(1.15 * target / max(elapsed, 1e-6), 1.25), 16.0)
        size = int(size * factor) + 1


def scale(workers, target):
    counts = [1]
    while counts[-1] * 2 <= workers:
        counts.append(counts[-1] * 2)
    if counts[-1] != workers:
        counts.append(workers)
    rows = []
    for name in WORKLOADS:
        size = calibrate(name, target)
        serial = run_row(name, "serial", 1, size)
        for count in counts:
            for executor in ("threads", "processes"):
                measured = run_row(name, executor, count, size)
                rows.append({
                    "workload": name,
                    "executor": executor,
                    "workers": count,
                    "size": size,
                    "result": measured["result"],
                    "serial_result": serial["result"],
                    "serial_seconds": serial["seconds"],
                    "seconds": measured["seconds"],
                    "serial_peak_rss_kib": serial["peak_rss_kib"],
                    "peak_rss_kib": measured["peak_rss_kib"],
                })
    return rows


def main():
    mode = sys.argv[1]
    if mode == "race":
        if gil_enabled():
            # Hand the GIL over as often as possible, so that interleavings show.
            sys.setswitchinterval(1e-6)
        directory, name = sys.argv[2], sys.argv[3]
        threads, iterations = int(sys.argv[4]), int(sys.argv[5])
        budget, max_tries = float(sys.argv[6]), int(sys.argv[7])
        sys.path.insert(0, directory)
        module = importlib.import_module(name)
        print(json.dumps(race(module, threads, iterations, budget, max_tries)))
    elif mode == "scale":
        workers, target = int(sys.argv[2]), float(sys.argv[3])
        print(json.dumps({"rows": scale(workers, target)}))
    elif mode == "row":
        name, executor, workers, size = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
        print(json.dumps(row(name, executor, workers, size)))
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
