#!/usr/bin/env bash
# Shows that the hook in .pre-commit-hooks.yaml works as users run it: pre-commit (installed
# from the package index into a throwaway virtual environment) builds this repository's hook
# with cargo, then
#   1. fails on a scratch git repository holding a racy Python file, naming NG101, and
#   2. passes once that file is replaced with a locked version.
# Exits non-zero if either expectation is not met.
#
# `pre-commit try-repo` uses this repository's working tree, uncommitted changes included. The
# hook is a release build (minutes); set CARGO_TARGET_DIR to share a build directory between
# runs. PRE_COMMIT_HOME is a temporary directory so no earlier hook build is reused.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PRE_COMMIT_HOME="$work/pre-commit-home"

fail() {
    echo "pre-commit-integration: FAIL: $*" >&2
    exit 1
}

echo "== installing pre-commit"
"$python" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check pre-commit
pre_commit="$work/venv/bin/pre-commit"
"$pre_commit" --version

project="$work/project"
mkdir -p "$project"
git -C "$project" init --quiet
git -C "$project" config user.name "nogil-lint integration test"
git -C "$project" config user.email "integration@example.invalid"

# try-repo --all-files lints the files git knows about, so each version is staged.
stage() {
    cat >"$project/worker.py"
    git -C "$project" add worker.py
}

try_repo() {
    local status=0
    (cd "$project" && "$pre_commit" try-repo "$repo" nogil-lint --all-files --verbose) \
        >"$work/try-repo.out" 2>&1 || status=$?
    cat "$work/try-repo.out"
    return "$status"
}

echo "== racy code: the hook must fail"
stage <<'EOF'
counter = 0
def work():
    global counter
    counter += 1
import threading
threading.Thread(target=work).start()
EOF
if try_repo; then
    fail "the hook passed on an unlocked read-modify-write of a global"
fi
grep -q 'NG101' "$work/try-repo.out" || fail "the hook failed without reporting NG101"
grep -q 'worker.py:4:5' "$work/try-repo.out" || fail "the finding is not at worker.py:4:5"

echo "== locked code: the hook must pass"
stage <<'EOF'
import threading

counter = 0
counter_lock = threading.Lock()


def work():
    global counter
    with counter_lock:
        counter += 1


threading.Thread(target=work).start()
EOF
try_repo || fail "the hook failed on code that takes a lock"

echo "pre-commit-integration: OK"
