#!/usr/bin/env bash
# Applies every fix (safe and unsafe) to a copy of a Python tree and checks the result:
# every changed file compiles with `python3 -m py_compile`, a second `--fix` changes nothing,
# and no fixable finding is left. Prints the number of fixes per code.
#
# usage: scripts/fix-roundtrip.sh TREE [WORKDIR]
# scripts/corpora.sh runs the same round trip over pinned real-world trees.
# Not part of the test suite: it needs a tree to work on (e.g. an unpacked sdist).
set -euo pipefail

tree=${1:?usage: scripts/fix-roundtrip.sh TREE [WORKDIR]}
work=${2:-$(mktemp -d)}
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${NOGIL_LINT:-$root/target/release/nogil-lint}
[ -x "$bin" ] || (cd "$root" && cargo build --release --quiet)

tree=$(realpath "$tree")
mkdir -p "$work"
copy="$work/$(basename "$tree")"
rm -rf "$copy"
cp -r "$tree" "$copy"
(cd "$copy" && find . -name '*.py' -print0 | xargs -0 md5sum | sort -k2) > "$work/before.md5"

echo "== fixing $copy"
"$bin" check --fix --unsafe-fixes --exit-zero --output-format json "$copy" > "$work/after.json" 2> "$work/fix.log" || true
grep -v '^$' "$work/fix.log" || true

(cd "$copy" && find . -name '*.py' -print0 | xargs -0 md5sum | sort -k2) > "$work/after.md5"
changed=$( (diff "$work/before.md5" "$work/after.md5" || true) | awk '/^>/ {print $3}' | sort -u)
count=$(printf '%s\n' "$changed" | grep -c . || true)
echo "== $count files changed"

failed=0
for file in $changed; do
    # A file that did not compile before the fix (Python 2 code, deliberately broken test
    # data) proves nothing; compile() writes no bytecode into the original tree.
    if ! python3 -c 'import sys; compile(open(sys.argv[1], "rb").read(), sys.argv[1], "exec", dont_inherit=True)' \
        "$tree/$file" 2> /dev/null; then
        continue
    fi
    if ! python3 -m py_compile "$copy/$file" 2> "$work/compile.err"; then
        echo "DOES NOT COMPILE: $file"; cat "$work/compile.err"; failed=1
    fi
done
find "$copy" -name __pycache__ -type d -prune -exec rm -rf {} +

echo "== second run"
(cd "$copy" && find . -name '*.py' -print0 | xargs -0 md5sum | sort -k2) > "$work/second-before.md5"
"$bin" check --fix --unsafe-fixes --exit-zero -q --output-format concise "$copy" > /dev/null 2>&1 || true
(cd "$copy" && find . -name '*.py' -print0 | xargs -0 md5sum | sort -k2) > "$work/second-after.md5"
if ! diff -q "$work/second-before.md5" "$work/second-after.md5" > /dev/null; then
    echo "NOT IDEMPOTENT: a second --fix changed files:"; diff "$work/second-before.md5" "$work/second-after.md5" | head
    failed=1
fi
left=$(python3 -c 'import json,sys; print(sum(1 for e in json.load(open(sys.argv[1])) if e.get("fix")))' "$work/after.json")
echo "== fixable findings left: $left"
[ "$left" = 0 ] || failed=1

echo "== fixes per code"
diff -r "$tree" "$copy" > "$work/fixes.diff" || true
("$bin" check --diff --unsafe-fixes "$tree" 2>&1 >/dev/null || true) | tail -1
"$bin" check --unsafe-fixes --exit-zero --output-format json "$tree" 2>/dev/null \
    | python3 -c 'import json,sys,collections; c=collections.Counter(e["code"] for e in json.load(sys.stdin) if e.get("fix")); [print(f"{k} {v}") for k,v in sorted(c.items())]'
echo "diff of the fixes: $work/fixes.diff"
exit $failed
