#!/usr/bin/env bash
# Runs nogil-lint over real-world Python trees (pinned source distributions from the package
# index pip is configured with, and a CPython standard library) and checks, on a fresh copy of
# each tree:
#   1. `check` with every rule, as JSON and with --statistics: no panic, exit status 0 or 1, and
#      both reports agree on the number of findings per code;
#   2. a fix round trip (`--fix --unsafe-fixes`): every changed Python file that compiled before
#      still compiles (same interpreter before and after), a second `--fix` changes nothing, and
#      a final `check` reports no fixable finding.
# Prints a table per corpus and exits non-zero when any check fails.
#
# usage: scripts/corpora.sh [--only NAME[,NAME…]] [--keep] [--bin PATH] [--work DIR] [--python PATH]
#
# Downloads are cached in the work directory (default ${TMPDIR:-/tmp}/nogil-lint-corpora, or
# $NOGIL_LINT_CORPORA_DIR), which must lie outside the repository. The copies that were fixed
# are deleted when their corpus passes, unless --keep is given; logs are always kept.
# Not part of the test suite: it needs the network the first time and takes minutes.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)

# name version sha256 — sdists. The sha256 pins the exact archive, so a re-upload or a mirror
# serving something else is caught before the tree is linted.
sdists="
sympy 1.14.0 d3d3fe8df1e5a0b42f0e7bdf50541697dbe7d23746e894990c030e2b05e72517
django 6.1.3 b5d2d9e35295065d13b1927b3f19a59bd119f737aa6299def14ccca1ae3c8c0d
numpy 2.5.5 5cddc243c75114ba845f01b1f87aca1572dbf7b6c2d88636ed3e1d2bccd7f1bf
pandas 3.1.1 05fed3e3b7c99b226f160e29d7d6cb7ef39638c758cbfe42b3f24ba34f04b859
scikit-learn 1.9.1 629cada3e33e2b9bf376cdc7614a47a4140b8aedc1d836579e359736fbd82977
matplotlib 3.11.2 cec596316640f2b394b8f0daa0ea61a8eae82d017b620b9f202befb972a59ea4
requests 2.34.2 f288924cae4e29463698d6d60bc6a4da69c89185ad1e0bcc4104f584e960b9ed
"
# The standard library comes from the distribution's package archive (Debian bookworm's 3.11):
# Debian splits Lib/ into three packages, which together make the whole tree, tests included
# (those hold deliberately broken and odd files, a good test of robustness). Archives drop
# superseded versions, so when this one is gone the current candidate is used, and when apt
# cannot download at all the local interpreter's Lib directory is.
stdlib_version=3.11.2-6+deb12u7
stdlib_debs="
libpython3.11-minimal 099a8e81d82653de6162273bdd79bde668d1dd40594309e71e682a80f175a364
libpython3.11-stdlib 0ac258df74db760dc2ed408491c57880872b8a699625f6a136d15f1fb5b9f7a5
libpython3.11-testsuite 106e62d0db70646a403f04b2450b9c18c06b4c66fac0d79d235fd1cb5f4344b2
"
all_names="$(printf '%s\n' "$sdists" | awk 'NF {print $1}' | tr '\n' ' ')stdlib"

usage() {
    sed -n '12p' "$0" | sed 's/^# //'
    echo "corpora: $all_names"
}

only=""
keep=0
bin=""
python=${PYTHON:-python3}
work=${NOGIL_LINT_CORPORA_DIR:-${TMPDIR:-/tmp}/nogil-lint-corpora}
while [ $# -gt 0 ]; do
    case $1 in
        --only) only="$only ${2:?--only needs a name}"; shift 2 ;;
        --only=*) only="$only ${1#--only=}"; shift ;;
        --keep) keep=1; shift ;;
        --bin) bin=${2:?--bin needs a path}; shift 2 ;;
        --bin=*) bin=${1#--bin=}; shift ;;
        --work) work=${2:?--work needs a directory}; shift 2 ;;
        --work=*) work=${1#--work=}; shift ;;
        --python) python=${2:?--python needs a path}; shift 2 ;;
        --python=*) python=${1#--python=}; shift ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done
only=$(printf '%s' "$only" | tr ',' ' ')
for name in $only; do
    case " $all_names " in *" $name "*) ;; *) echo "unknown corpus: $name (known: $all_names)" >&2; exit 2 ;; esac
done

if [ -z "$bin" ]; then
    bin=$root/target/release/nogil-lint
    (cd "$root" && nice cargo build --release --quiet)
fi
bin=$(realpath "$bin")
[ -x "$bin" ] || { echo "not executable: $bin" >&2; exit 2; }

work=$(realpath -m "$work")
# Fixing a copy inside the repository would let the repository's own configuration apply, and
# a stray tree there could be committed by accident.
case "$work/" in "$root"/*) echo "the work directory must be outside the repository: $work" >&2; exit 2 ;; esac
mkdir -p "$work/cache" "$work/src" "$work/run"

# Fetches one sdist from the index pip is configured with. `pip download --no-binary :all:`
# cannot be used: pip prepares the metadata of every sdist it downloads, which runs the
# package's build backend (and for numpy or scikit-learn needs compilers and build
# dependencies). The index is asked directly instead (the JSON form of the simple API, or
# its HTML form for indexes without it), and the archive is checked against the pinned sha256.
fetch_sdist() {
    "$python" - "$@" <<'PY'
import hashlib, html.parser, json, os, re, ssl, subprocess, sys, urllib.parse, urllib.request

name, version, sha256, dest = sys.argv[1:5]

def pip_config(key):
    run = subprocess.run([sys.executable, "-m", "pip", "config", "get", key],
                         capture_output=True, text=True)
    return run.stdout.strip() if run.returncode == 0 else ""

def index_url():
    for var in ("PIP_INDEX_URL",):
        if os.environ.get(var):
            return os.environ[var]
    for key in ("download.index-url", "global.index-url"):
        if pip_config(key):
            return pip_config(key)
    from pip._internal.models.index import PyPI  # pip's own default index
    return PyPI.simple_url

cafile = os.environ.get("PIP_CERT") or pip_config("global.cert") or None
context = ssl.create_default_context(cafile=cafile)

def normalise(n):
    return re.sub(r"[-_.]+", "-", n).lower()

class Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = []
    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.links.append(dict(attrs).get("href", ""))

page = index_url().rstrip("/") + "/" + normalise(name) + "/"
request = urllib.request.Request(page, headers={
    "Accept": "application/vnd.pypi.simple.v1+json, text/html;q=0.1"})
with urllib.request.urlopen(request, timeout=120, context=context) as response:
    body = response.read()
    kind = response.headers.get("Content-Type", "")
if "json" in kind:
    files = [(f["filename"], urllib.parse.urljoin(page, f["url"])) for f in json.loads(body)["files"]]
else:
    parser = Links()
    parser.feed(body.decode())
    files = []
    for href in parser.links:
        url = urllib.parse.urljoin(page, href)
        files.append((urllib.parse.unquote(url.split("#")[0].rsplit("/", 1)[-1]), url))

def is_wanted(filename):
    if not filename.endswith(".tar.gz"):
        return False
    stem, _, ver = filename[: -len(".tar.gz")].rpartition("-")
    return normalise(stem) == normalise(name) and ver == version

matches = [(f, u) for f, u in files if is_wanted(f)]
if not matches:
    sys.exit(f"{name} {version}: no sdist on {page}")
filename, url = matches[0]
with urllib.request.urlopen(url.split("#")[0], timeout=600, context=context) as response:
    data = response.read()
digest = hashlib.sha256(data).hexdigest()
if digest != sha256:
    sys.exit(f"{filename}: sha256 {digest}, pinned {sha256}")
with open(dest + ".part", "wb") as out:
    out.write(data)
os.replace(dest + ".part", dest)
print(f"downloaded {filename} ({len(data)} bytes)")
PY
}

# Prints the directory of the pristine tree for a corpus, downloading and unpacking it first
# when the cache does not have it.
prepare() {
    local name=$1 version sha src archive
    src=$work/src/$name
    if [ "$name" = stdlib ]; then
        if [ ! -f "$src/.origin" ]; then
            rm -rf "$src" "$work/src/stdlib.deb.d"
            local package sha deb origin="" missing=0
            while read -r package sha; do
                [ -n "$package" ] || continue
                deb=$(find "$work/cache" -maxdepth 1 -name "${package}_*.deb" | head -1)
                if [ -z "$deb" ]; then
                    (cd "$work/cache" && { apt-get download "$package=$stdlib_version" >&2 \
                        || apt-get download "$package" >&2; }) || true
                    deb=$(find "$work/cache" -maxdepth 1 -name "${package}_*.deb" | head -1)
                fi
                if [ -z "$deb" ]; then missing=1; break; fi
                case $deb in
                    *"_${stdlib_version}_"*)
                        echo "$sha  $deb" | sha256sum -c --quiet - >&2 \
                            || { echo "$deb: sha256 differs from the pinned one" >&2; return 1; } ;;
                    *) echo "note: $package $stdlib_version is gone from the archive; using $(basename "$deb")" >&2 ;;
                esac
                dpkg-deb -x "$deb" "$work/src/stdlib.deb.d"
                origin="$origin $(basename "$deb")"
            done <<< "$stdlib_debs"
            if [ "$missing" = 0 ]; then
                local lib
                lib=$(find "$work/src/stdlib.deb.d/usr/lib" -mindepth 1 -maxdepth 1 -type d -name 'python3*' | head -1)
                mv "$lib" "$src"
                echo "${origin# }" > "$src/.origin"
            else
                local lib
                lib=$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')
                echo "note: apt-get download failed; using the local interpreter's $lib" >&2
                mkdir -p "$src"
                (cd "$lib" && tar --exclude=./site-packages --exclude=./dist-packages \
                    --exclude=__pycache__ -cf - .) | (cd "$src" && tar -xf -)
                echo "local $lib" > "$src/.origin"
            fi
            rm -rf "$work/src/stdlib.deb.d"
        fi
    else
        read -r version sha < <(printf '%s\n' "$sdists" | awk -v n="$name" '$1 == n {print $2, $3}')
        archive=$work/cache/$name-$version.tar.gz
        [ -f "$archive" ] || fetch_sdist "$name" "$version" "$sha" "$archive" >&2
        if [ ! -f "$src/.origin" ] || [ "$(cat "$src/.origin")" != "$name-$version.tar.gz" ]; then
            rm -rf "$src"
            mkdir -p "$src"
            tar -xzf "$archive" -C "$src" --strip-components=1
            echo "$name-$version.tar.gz" > "$src/.origin"
        fi
    fi
    printf '%s\n' "$src"
}

# Hashes every file (not only Python: fixes may edit requirement files too).
snapshot() {
    (cd "$1" && find . -type f ! -path '*/__pycache__/*' -print0 | sort -z | xargs -0 md5sum)
}

# Compiles each changed Python file as py_compile does (the loader's source_to_code), without
# writing bytecode into the trees: the fixed copy first in its original form, then fixed. Only
# files that compiled before count; prints one line per file that no longer compiles.
compile_changed() {
    "$python" - "$@" <<'PY'
import importlib.machinery, os, sys, warnings
warnings.simplefilter("ignore")
before_root, after_root, listing = sys.argv[1:4]
def compiles(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
        importlib.machinery.SourceFileLoader("m", path).source_to_code(data, path)
        return None
    except (SyntaxError, ValueError, UnicodeDecodeError) as e:
        return f"{type(e).__name__}: {e}"
skipped = 0
with open(listing) as f:
    for rel in filter(None, map(str.strip, f)):
        if not rel.endswith(".py"):
            continue
        if compiles(os.path.join(before_root, rel)) is not None:
            skipped += 1
            continue
        error = compiles(os.path.join(after_root, rel))
        if error is not None:
            print(f"{rel}: {error}")
print(f"# {skipped} changed files did not compile before the fix", file=sys.stderr)
PY
}

# Checks that a run of the binary neither panicked nor failed; prints its exit status.
status_ok() {
    local rc=$1 err=$2 what=$3
    # A panic inside one file's check is caught and reported as an internal error (exit 2);
    # one outside it still prints the standard panic message.
    if grep -q -e 'panicked' -e 'internal error' "$err"; then
        echo "PANIC in $what:" >&2; grep -A3 -e 'panicked' -e 'internal error' "$err" | head -8 >&2; return 1
    fi
    if [ "$rc" != 0 ] && [ "$rc" != 1 ]; then
        echo "EXIT $rc from $what:" >&2; head -5 "$err" >&2; return 1
    fi
}

now() { date +%s.%N; }

results=$work/results.tsv
: > "$results"
overall=0

run_corpus() {
    local name=$1 src dir tree failed=0 rc t0 t1
    src=$(prepare "$name") || return 1
    dir=$work/run/$name
    tree=$dir/tree
    rm -rf "$dir"
    mkdir -p "$dir"
    cp -r "$src" "$tree"
    rm -f "$tree/.origin"
    echo "== $name ($(cat "$src/.origin"))"

    local files
    files=$("$bin" check --show-files "$tree" 2> "$dir/show-files.err" | grep -c . || true)

    # 1. check, all rules: JSON (timed) and --statistics.
    t0=$(now)
    rc=0; nice "$bin" check --output-format json "$tree" > "$dir/check.json" 2> "$dir/check.err" || rc=$?
    t1=$(now)
    status_ok "$rc" "$dir/check.err" "check --output-format json" || failed=1
    rc=0; nice "$bin" check --statistics "$tree" > "$dir/statistics.txt" 2> "$dir/statistics.err" || rc=$?
    status_ok "$rc" "$dir/statistics.err" "check --statistics" || failed=1

    # 2. fix round trip.
    snapshot "$tree" > "$dir/before.md5"
    rc=0; nice "$bin" check --fix --unsafe-fixes --output-format concise "$tree" > "$dir/fix.txt" 2> "$dir/fix.err" || rc=$?
    status_ok "$rc" "$dir/fix.err" "check --fix --unsafe-fixes" || failed=1
    snapshot "$tree" > "$dir/after.md5"
    (diff "$dir/before.md5" "$dir/after.md5" || true) | awk '/^>/ {sub(/^> [0-9a-f]+  \.\//, ""); print}' | sort -u > "$dir/changed.txt"
    compile_changed "$src" "$tree" "$dir/changed.txt" > "$dir/compile-failures.txt" 2> "$dir/compile.log" || failed=1
    find "$tree" -name __pycache__ -type d -prune -exec rm -rf {} +

    rc=0; nice "$bin" check --fix --unsafe-fixes --output-format concise "$tree" > "$dir/fix2.txt" 2> "$dir/fix2.err" || rc=$?
    status_ok "$rc" "$dir/fix2.err" "second check --fix --unsafe-fixes" || failed=1
    snapshot "$tree" > "$dir/second.md5"
    (diff "$dir/after.md5" "$dir/second.md5" || true) | awk '/^>/ {sub(/^> [0-9a-f]+  \.\//, ""); print}' | sort -u > "$dir/second-changed.txt"

    rc=0; nice "$bin" check --output-format json "$tree" > "$dir/final.json" 2> "$dir/final.err" || rc=$?
    status_ok "$rc" "$dir/final.err" "final check" || failed=1
    (cd "$dir" && diff -ru "$src" tree -x .origin -x __pycache__ > fixes.diff 2> /dev/null) || true

    # Tallies, and the cross-checks between the reports.
    "$python" - "$dir" "$name" "$files" "$t0" "$t1" "$failed" >> "$results" <<'PY' || failed=1
import collections, json, re, sys
d, name, files, t0, t1, failed = sys.argv[1:7]
def load(p):
    try:
        with open(p) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        print(f"{p}: {e}", file=sys.stderr)
        return []
before = load(f"{d}/check.json")
final = load(f"{d}/final.json")
codes = collections.Counter(e["code"] for e in before)
fixable = collections.Counter(e["code"] for e in before if e.get("fix"))
problems = []
stats = {}
with open(f"{d}/statistics.txt") as f:
    for line in f:
        m = re.match(r"\s*(\d+)\s+(NG\d+)\s", line)
        if m:
            stats[m.group(2)] = int(m.group(1))
if stats != dict(codes):
    problems.append(f"--statistics {stats} differs from the JSON {dict(codes)}")
def fixed(path):
    with open(path) as f:
        m = re.search(r"\((\d+) fixed", f.read())
    return int(m.group(1)) if m else 0
fixes = fixed(f"{d}/fix.txt")
fixes2 = fixed(f"{d}/fix2.txt")
left = [e for e in final if e.get("fix")]
changed = sum(1 for l in open(f"{d}/changed.txt") if l.strip())
second = sum(1 for l in open(f"{d}/second-changed.txt") if l.strip())
broken = sum(1 for l in open(f"{d}/compile-failures.txt") if l.strip() and not l.startswith("#"))
if broken: problems.append(f"{broken} fixed files no longer compile")
if second or fixes2: problems.append(f"second --fix changed {second} files ({fixes2} fixes)")
if left: problems.append(f"{len(left)} fixable findings left after --fix")
for p in problems:
    print(f"FAIL {name}: {p}", file=sys.stderr)
status = "FAIL" if problems or failed != "0" else "ok"
row = dict(name=name, files=int(files), seconds=round(float(t1) - float(t0), 1),
           findings=len(before), codes=dict(sorted(codes.items())), fixable=sum(fixable.values()),
           fixes=fixes, changed=changed, broken=broken, second=second, left=len(left), status=status)
print(json.dumps(row))
sys.exit(1 if status != "ok" else 0)
PY
    if [ -s "$dir/compile-failures.txt" ]; then
        echo "fixed files that no longer compile:" >&2; head -20 "$dir/compile-failures.txt" >&2
    fi
    if [ -s "$dir/second-changed.txt" ]; then
        echo "files changed by the second --fix:" >&2; head -20 "$dir/second-changed.txt" >&2
    fi
    if [ "$failed" = 0 ] && [ "$keep" = 0 ]; then rm -rf "$tree"; fi
    echo "   logs: $dir"
    return "$failed"
}

for name in $all_names; do
    if [ -n "$only" ]; then
        case " $only " in *" $name "*) ;; *) continue ;; esac
    fi
    run_corpus "$name" || overall=1
done

"$python" - "$results" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
codes = sorted({c for r in rows for c in r["codes"]})
head = ["corpus", "files", "time s", "findings"] + codes + [
    "fixable", "fixes", "changed files", "compile failures", "2nd-run changes", "fixable left", "status"]
print()
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
for r in rows:
    cells = [r["name"], r["files"], r["seconds"], r["findings"]] + [r["codes"].get(c, 0) for c in codes] + [
        r["fixable"], r["fixes"], r["changed"], r["broken"], r["second"], r["left"], r["status"]]
    print("| " + " | ".join(map(str, cells)) + " |")
PY
if [ "$keep" = 1 ]; then echo "work directory kept: $work"; fi
exit "$overall"
