#!/usr/bin/env bash
# Benchmark: nogil-lint vs Ruff CPU time on the same tree, in the same run.
#
# This is a benchmark, not a test: it is never run by CI or `cargo test`.
#
# Usage: scripts/bench.sh [TREE] [RUNS]
#   TREE  directory of Python code to lint   (default: /work/corpora/sympy-src)
#   RUNS  measured runs per tool              (default: 7)
#
# Environment:
#   RUFF        ruff executable (default: `ruff` on PATH, else /work/corpora/venv/bin/ruff)
#   NOGIL_LINT  nogil-lint executable (default: <repo>/target/release/nogil-lint,
#               built with `cargo build --release` if missing)
#
# Commands compared (stdout to /dev/null, stderr kept and shown on failure):
#   A: nogil-lint check --exit-zero --output-format concise TREE
#   B: ruff check --no-cache --isolated --exit-zero --select PLW0603,RUF012 \
#        --output-format concise TREE
#
# One warm-up run of each, then RUNS interleaved runs (A B A B ...). Each run's
# CPU time (user+sys of that child, via wait4), wall time and peak RSS are
# measured by a small embedded Python helper; the medians and the
# nogil-lint/ruff ratios are printed. Compare ratios, not absolute numbers.
# Neither tool writes into TREE (no cache, isolated config); this is checked.
set -euo pipefail

die() { echo "bench.sh: error: $*" >&2; exit 1; }

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

TREE_ARG="${1:-/work/corpora/sympy-src}"
RUNS="${2:-7}"

[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, got '$RUNS'"
[[ -d "$TREE_ARG" ]] || die "TREE '$TREE_ARG' is not a directory"
# Resolve symlinks (e.g. /work/corpora/sympy-src) so both tools walk the same real path.
TREE="$(realpath "$TREE_ARG")"

command -v python3 >/dev/null 2>&1 || die "python3 is required for the timing helper"

# --- locate ruff -------------------------------------------------------------
if [[ -n "${RUFF:-}" ]]; then
    RUFF_BIN="$(command -v "$RUFF" 2>/dev/null || true)"
    [[ -n "$RUFF_BIN" && -x "$RUFF_BIN" ]] || die "RUFF='$RUFF' is not an executable"
elif command -v ruff >/dev/null 2>&1; then
    RUFF_BIN="$(command -v ruff)"
elif [[ -x /work/corpora/venv/bin/ruff ]]; then
    RUFF_BIN=/work/corpora/venv/bin/ruff
else
    die "ruff not found: set RUFF, put ruff on PATH, or run
  python3 -m venv /work/corpora/venv && /work/corpora/venv/bin/pip install ruff"
fi

# --- locate (or build) nogil-lint -------------------------------------------
if [[ -n "${NOGIL_LINT:-}" ]]; then
    NOGIL_BIN="$(command -v "$NOGIL_LINT" 2>/dev/null || true)"
    [[ -n "$NOGIL_BIN" && -x "$NOGIL_BIN" ]] || die "NOGIL_LINT='$NOGIL_LINT' is not an executable"
else
    NOGIL_BIN="$REPO_ROOT/target/release/nogil-lint"
    if [[ ! -x "$NOGIL_BIN" ]]; then
        echo "bench.sh: $NOGIL_BIN missing; running cargo build --release" >&2
        (cd "$REPO_ROOT" && cargo build --release) >&2
        [[ -x "$NOGIL_BIN" ]] || die "cargo build --release did not produce $NOGIL_BIN"
    fi
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/nogil-bench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
MARKER="$WORK/marker"
touch "$MARKER"
sleep 1   # mtime granularity: anything written into TREE after this is newer than MARKER

PY_FILES="$(find "$TREE" -type f \( -name '*.py' -o -name '*.pyi' \) | wc -l | tr -d ' ')"
RUFF_VERSION="$("$RUFF_BIN" --version 2>/dev/null | head -n 1 || true)"
NOGIL_VERSION="$("$NOGIL_BIN" --version 2>/dev/null | head -n 1 || true)"

echo "tree:        $TREE"
echo "python files (*.py, *.pyi): $PY_FILES"
echo "nogil-lint:  $NOGIL_BIN (${NOGIL_VERSION:-version unknown})"
echo "ruff:        $RUFF_BIN (${RUFF_VERSION:-version unknown})"
echo "runs:        $RUNS measured per tool, interleaved, after 1 warm-up each"
echo "cpus:        $(nproc 2>/dev/null || echo '?')"
echo

python3 - "$WORK" "$RUNS" "$TREE" "$NOGIL_BIN" "$RUFF_BIN" <<'PY'
import os, statistics, sys, time

work, runs, tree, nogil, ruff = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]

tools = [
    ("nogil-lint", [nogil, "check", "--exit-zero", "--output-format", "concise", tree]),
    ("ruff", [ruff, "check", "--no-cache", "--isolated", "--exit-zero",
              "--select", "PLW0603,RUF012", "--output-format", "concise", tree]),
]

def run(name, argv, label):
    """Run argv with stdout to /dev/null; return (cpu_s, wall_s, maxrss_mb) of that child."""
    err_path = os.path.join(work, f"{name}.{label}.stderr")
    err_fd = os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    actions = [
        (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_DUP2, err_fd, 2),
    ]
    t0 = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=actions)
    _, status, ru = os.wait4(pid, 0)  # rusage of this child (and its reaped descendants)
    wall = time.perf_counter() - t0
    os.close(err_fd)
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        with open(err_path, errors="replace") as f:
            tail = f.read()[-4000:]
        sys.exit(f"bench.sh: error: {name} ({label}) exited with {code}\n"
                 f"command: {' '.join(argv)}\n--- stderr (tail) ---\n{tail}")
    # Linux reports ru_maxrss in KiB.
    return ru.ru_utime + ru.ru_stime, wall, ru.ru_maxrss / 1024.0

# Linux carries the spawning process's (this Python's) RSS high-water mark across
# exec into the child's ru_maxrss, so no child can report less than this floor;
# above it the numbers are exact (the kernel keeps the max). Measure it with `true`.
def rss_floor():
    return run("true", ["/bin/true"], "floor")[2]

floor = rss_floor()
results = {name: [] for name, _ in tools}
for name, argv in tools:
    run(name, argv, "warmup")
for i in range(runs):
    for name, argv in tools:
        results[name].append(run(name, argv, f"run{i}"))
    print(f"  run {i + 1}/{runs}: " + "  ".join(
        f"{name} cpu={results[name][-1][0]:.3f}s wall={results[name][-1][1]:.3f}s"
        for name, _ in tools), file=sys.stderr, flush=True)

floor = max(floor, rss_floor())
med = {}
for name, _ in tools:
    cpu = [r[0] for r in results[name]]
    wall = [r[1] for r in results[name]]
    rss = [r[2] for r in results[name]]
    med[name] = (statistics.median(cpu), statistics.median(wall), statistics.median(rss),
                 min(cpu), max(cpu))

print()
print(f"medians over {runs} runs")
print(f"{'tool':<12} {'CPU s':>9} {'wall s':>9} {'max RSS MB':>11} {'CPU min..max':>16}")
for name, _ in tools:
    c, w, m, lo, hi = med[name]
    rss = f"{m:.1f}" if m > floor * 1.05 else f"<={floor:.1f}*"
    print(f"{name:<12} {c:>9.3f} {w:>9.3f} {rss:>11} {f'{lo:.3f}..{hi:.3f}':>16}")
if any(med[name][2] <= floor * 1.05 for name, _ in tools):
    print(f"* at the {floor:.1f} MB RSS floor of the measuring process: real peak is at most this")

def ratio(a, b):
    return f"{a / b:.3g}x" if b > 0 else "n/a"

print()
print(f"ratio nogil-lint/ruff  CPU: {ratio(med['nogil-lint'][0], med['ruff'][0])}"
      f"  wall: {ratio(med['nogil-lint'][1], med['ruff'][1])}")
PY

CHANGED="$(find "$TREE" -newer "$MARKER" -print 2>/dev/null | head -n 5)"
if [[ -n "$CHANGED" ]]; then
    die "TREE was modified during the benchmark (newer than start), e.g.:
$CHANGED"
fi
