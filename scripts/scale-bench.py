#!/usr/bin/env python3
"""Scale benchmark: how nogil-lint's time and peak memory grow with the size of the input.

This is a benchmark, not a test: CI and `cargo test` never run it.

It generates, in a temporary directory (never inside the repository):
  * trees of N small modules (N = 25,000, 50,000, 100,000 by default), a third of them with a
    finding, like an application where most modules are clean;
  * single modules of 12.5, 25 and 50 MB of the same kind of code.

and runs `nogil-lint check --output-format concise` (and, when found, Ruff with two of its
comparable rules) on each, measuring the child's CPU time, wall time and peak RSS through
wait4. It prints, per input, the figures and the ratios to the smallest input, so that linear
growth shows as ratios close to the size ratios. Compare ratios, not seconds: the machines
are shared and noisy.

Usage: scripts/scale-bench.py [--files 25000,50000,100000] [--megabytes 12.5,25,50]
                              [--bin PATH] [--ruff PATH] [--keep DIR]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

RACY_MODULE = '''"""Module {i}: a counter bumped from a worker thread."""
import threading

counter_{i} = 0
cache_{i} = {{}}


def work_{i}(key):
    global counter_{i}
    counter_{i} += 1
    if key not in cache_{i}:
        cache_{i}[key] = [key] * 3
    return cache_{i}[key]


threading.Thread(target=work_{i}, args=(1,)).start()
'''

CLEAN_MODULE = '''"""Module {i}: plain helpers, nothing shared."""
from dataclasses import dataclass, field


@dataclass
class Record{i}:
    name: str
    tags: list = field(default_factory=list)

    def add(self, tag):
        self.tags.append(tag)
        return len(self.tags)


def total_{i}(values):
    result = 0
    for value in values:
        result += value
    return result
'''


def module(i: int) -> str:
    return (RACY_MODULE if i % 3 == 0 else CLEAN_MODULE).format(i=i)


def make_tree(root: Path, count: int) -> None:
    for i in range(count):
        package = root / f"pkg{i // 1000:03d}"
        if i % 1000 == 0:
            package.mkdir(parents=True, exist_ok=True)
            (package / "__init__.py").write_text("")
        (package / f"mod{i:06d}.py").write_text(module(i))


def make_file(path: Path, megabytes: float) -> None:
    target = int(megabytes * 1024 * 1024)
    parts, size, i = [], 0, 0
    while size < target:
        text = module(i)
        parts.append(text)
        size += len(text)
        i += 1
    path.write_text("".join(parts))


def measure(command: list, timeout: float = 0, yardstick: bool = False) -> tuple:
    """(cpu seconds, wall seconds, peak RSS in MB, exit status) of one run; None when it ran
    longer than `timeout` seconds (then it is killed) or, for the yardstick, failed."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if timeout and time.perf_counter() - start > timeout:
            process.kill()
            os.wait4(process.pid, 0)
            return None
        time.sleep(0.02)
    wall = time.perf_counter() - start
    stderr = process.stderr.read().decode(errors="replace")
    process.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        if yardstick:
            print(f"{command[0]} failed with status {code}", file=sys.stderr)
            return None
        sys.exit(f"{' '.join(map(str, command))} exited {code}:\n{stderr}")
    # ru_maxrss is in kilobytes on Linux.
    return usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss / 1024, code


def find_ruff(explicit):
    if explicit:
        return explicit
    found = shutil.which("ruff")
    if found:
        return found
    local = Path("/work/corpora/venv/bin/ruff")
    return str(local) if local.exists() else None


def report(rows, label):
    base = rows[0]
    print(f"\n{label}")
    print(f"| input | size ratio | CPU ratio | wall ratio | peak RSS MB | RSS ratio | vs Ruff CPU |")
    print(f"|---|---|---|---|---|---|---|")
    for name, size, cpu, wall, rss, ruff_cpu in rows:
        if ruff_cpu is None:
            versus = "n/a"
        elif ruff_cpu == float("inf"):
            versus = "Ruff did not finish (stopped at 5x our time, or killed)"
        else:
            versus = f"{cpu / ruff_cpu:.2f}x"
        print(
            f"| {name} | {size / base[1]:.1f} | {cpu / base[2]:.2f} | {wall / base[3]:.2f} "
            f"| {rss:.0f} | {rss / base[4]:.2f} | {versus} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", default="25000,50000,100000")
    parser.add_argument("--megabytes", default="12.5,25,50")
    parser.add_argument("--bin", default=str(REPO / "target/release/nogil-lint"))
    parser.add_argument("--ruff")
    parser.add_argument("--runs", type=int, default=1, help="runs per input (the fastest counts)")
    parser.add_argument("--keep", help="generate into this directory and keep it")
    args = parser.parse_args()

    if not Path(args.bin).exists():
        subprocess.run(["cargo", "build", "--release"], cwd=REPO, check=True)
    ruff = find_ruff(args.ruff)
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="nogil-lint-scale-"))
    if REPO in work.resolve().parents:
        sys.exit("the work directory must be outside the repository")
    work.mkdir(parents=True, exist_ok=True)

    def run(path: Path):
        ours = min(
            (measure([args.bin, "check", "--isolated", "--exit-zero", "--output-format", "concise", str(path)])
             for _ in range(args.runs)),
            key=lambda row: row[0],
        )
        theirs = None
        if ruff:
            # Ruff is only the yardstick: a run far slower than ours is stopped and shown as such.
            limit = max(60.0, 5 * ours[1])
            runs = [
                measure([ruff, "check", "--no-cache", "--isolated", "--exit-zero",
                         "--select", "PLW0603,RUF012", "--output-format", "concise", str(path)],
                        timeout=limit, yardstick=True)
                for _ in range(args.runs)
            ]
            finished = [row[0] for row in runs if row]
            theirs = min(finished) if finished else float("inf")
        return ours, theirs

    # Each series: its title, its sizes, how an input is named and where it goes, how it is made.
    series = [
        ("Many small files", [int(n) for n in args.files.split(",") if n],
         lambda count: (f"{count:,} files", work / f"tree-{count}"), make_tree),
        ("One large module", [float(n) for n in args.megabytes.split(",") if n],
         lambda megabytes: (f"{megabytes:g} MB module", work / f"module-{megabytes:g}mb.py"),
         make_file),
    ]
    try:
        for title, sizes, name_of, make in series:
            rows = []
            for size in sizes:
                name, path = name_of(size)
                if not path.exists():
                    make(path, size)
                (cpu, wall, rss, _), ruff_cpu = run(path)
                rows.append((name, size, cpu, wall, rss, ruff_cpu))
                print(f"{name}: cpu {cpu:.2f}s wall {wall:.2f}s rss {rss:.0f} MB", file=sys.stderr)
            if rows:
                report(rows, title)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
