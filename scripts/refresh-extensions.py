#!/usr/bin/env python3
"""Refresh rules/extensions.toml from the package index and a free-threaded interpreter.

Usage:
    scripts/refresh-extensions.py [--dry-run] [--import-check PYTHON] (--all | NAME...)

For each package of the table, the release file lists come from the package index's JSON API
(<index>/pypi/<name>/json).  The index is the one pip uses: --index-url, else PIP_INDEX_URL,
else pip's own default.  Yanked files are ignored.  Facts written per target ([package.py313t]
and [package.py314t], see the table's header):

  * first     the first release (in PEP 440 order; a final one when any has such a wheel) with
              a wheel of that ABI (cp313t / cp314t) for Linux x86_64; first_any_platform when
              another platform had one earlier;
  * releases  every release since `first` with such a wheel; missing: final releases since
              `first` without one; latest / latest_has_wheels: the newest final release;
  * pure_python   the newest release publishes a wheel without compiled code;
  * gil, gil_enabled_by (3.14t, with --import-check): the newest release with cp314t wheels (or
              the pure-Python wheel) is installed into a venv of the given free-threaded
              interpreter and each compiled module its RECORD lists is imported; `gil` says
              whether the GIL stayed disabled, `gil_enabled_by` names the modules that turned it
              on (scripts/extfacts_import.py);
  * files / import_check   provenance and date of each.
Package-level: `imports` become the names of the wheel's top_level.txt (else its RECORD's top
directories), `compiled_modules` its compiled modules (at most a few), `cp313t`/`cp314t` the
per-target `first` (a version the index does not confirm is removed), and `status` follows the
import check (supported / gil-enabled) or the file lists (unsupported when no release has any
free-threaded or pure-Python wheel).  Every change is printed, and counted by kind at the end.

Network errors are reported per package and the run continues (the package keeps its old
values); the exit status is 1 when any package failed, 2 for usage errors, else 0.  This script
talks to the network and is meant to be run by hand; tests never run it.  Python 3.11+,
standard library only.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import csv
import datetime as dt
import json
import os
import re
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import extfacts_import  # noqa: E402
import extfacts_index  # noqa: E402
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TABLE = REPO_ROOT / "rules" / "extensions.toml"


def index_root(explicit: str | None) -> str:
    """The root of the package index: --index-url, PIP_INDEX_URL, or pip's default index."""
    url = explicit or os.environ.get("PIP_INDEX_URL")
    if not url:
        try:
            from pip._internal.models.index import PyPI  # pip's own default index

            url = PyPI.url
        except ImportError:
            raise SystemExit("no package index: pass --index-url or set PIP_INDEX_URL")
    url = url.rstrip("/")
    # An index URL usually names the Simple API; the JSON API lives beside it.
    return url[: -len("/simple")] if url.endswith("/simple") else url


JSON_API = "{root}/pypi/{name}/json"
SIMPLE_API = "{root}/simple/{name}/"
INDEX_ROOT = ""
USER_AGENT = "nogil-lint-refresh-extensions/1 (scripts/refresh-extensions.py; run by hand)"
# --- PEP 440-ish versions --------------------------------------------------------------------

_VERSION_RE = re.compile(
    r"""
    ^\s*v?
    (?:(?P<epoch>\d+)!)?
    (?P<release>\d+(?:\.\d+)*)
    (?:[-_.]?(?P<pre_l>alpha|beta|preview|pre|rc|a|b|c)[-_.]?(?P<pre_n>\d+)?)?
    (?:-(?P<post_n1>\d+)|[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>\d+)?)?
    (?:[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>\d+)?)?
    (?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?
    \s*$
    """,
    re.VERBOSE | re.IGNORECASE,
)
_PRE_RANK = {"a": 0, "alpha": 0, "b": 1, "beta": 1, "c": 2, "rc": 2, "pre": 2, "preview": 2}


@dataclass(frozen=True)
class Version:
    text: str
    key: tuple
    is_pre: bool  # a pre-release or a development release


def parse_version(text: str) -> Version | None:
    """Parse a version; None when it is not PEP 440 (legacy versions are skipped)."""
    m = _VERSION_RE.match(text)
    if not m:
        return None
    epoch = int(m.group("epoch") or 0)
    release = [int(part) for part in m.group("release").split(".")]
    while len(release) > 1 and release[-1] == 0:  # 1.0 == 1.0.0
        release.pop()
    has_pre = m.group("pre_l") is not None
    has_post = m.group("post_n1") is not None or m.group("post_l") is not None
    has_dev = m.group("dev_l") is not None
    if has_pre:
        pre = (0, _PRE_RANK[m.group("pre_l").lower()], int(m.group("pre_n") or 0))
    elif has_dev and not has_post:
        pre = (-1,)  # 1.0.dev1 sorts before 1.0a1
    else:
        pre = (1,)  # a final (or post) release sorts after its pre-releases
    if has_post:
        post = (0, int(m.group("post_n1") or m.group("post_n2") or 0))
    else:
        post = (-1,)
    dev = (0, int(m.group("dev_n") or 0)) if has_dev else (1,)
    local: tuple = ()
    if m.group("local"):
        local = tuple(
            (1, int(part), "") if part.isdigit() else (0, 0, part.lower())
            for part in re.split(r"[-_.]", m.group("local"))
        )
    key = (epoch, tuple(release), pre, post, dev, local)
    return Version(text, key, has_pre or has_dev)


# --- PyPI ----------------------------------------------------------------------------------


class FetchError(Exception):
    pass


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def http_get_json(url: str, timeout: float, accept: str = "application/json", retries: int = 2) -> dict:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": accept})
    last: Exception | None = None
    for attempt in range(retries + 1):
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.load(response)
        except urllib.error.HTTPError as error:
            if error.code == 404:
                raise FetchError("not found on PyPI (HTTP 404)") from None
            last = error
            if error.code < 500 and error.code != 429:
                break
        except (urllib.error.URLError, TimeoutError, OSError, json.JSONDecodeError, ValueError) as error:
            last = error
        if attempt < retries:
            time.sleep(1.5 * (attempt + 1))
    reason = getattr(last, "reason", None) or last
    raise FetchError(f"{type(last).__name__}: {reason}")




def fetch_files(name: str, timeout: float) -> dict[str, list[dict]]:
    """Non-yanked files per release version (filename, url, size)."""
    url = JSON_API.format(root=INDEX_ROOT, name=name)
    data = http_get_json(url, timeout)
    releases = data.get("releases") or {}
    # Some indexes (mirrors) give file URLs relative to the JSON document.
    return {
        version: [
            {"filename": e["filename"], "url": urllib.parse.urljoin(url, e["url"]), "size": e.get("size") or 0}
            for e in entries or []
            if not e.get("yanked") and e.get("filename") and e.get("url")
        ]
        for version, entries in releases.items()
    }


@dataclass
class Gathered:
    name: str
    facts: dict  # ABI -> extfacts_index.TargetFacts
    contents: extfacts_index.WheelContents | None
    wheel: str | None
    error: str | None = None


def gather(name: str, timeout: float) -> Gathered:
    try:
        files = fetch_files(name, timeout)
    except FetchError as error:
        return Gathered(name, {}, None, None, str(error))
    facts = extfacts_index.target_facts(files, parse_version)
    t = facts["cp314t"]
    version = t.last_final_with if t.first else t.latest
    wheel = extfacts_index.listing_wheel(files, version)
    contents = None
    if wheel:
        try:
            contents = extfacts_index.wheel_contents(wheel, USER_AGENT, timeout)
        except Exception as error:  # a broken zip or a network error: keep the old names
            print(f"{name}: cannot read {wheel['filename']}: {error}", file=sys.stderr)
    return Gathered(name, facts, contents, wheel["filename"] if wheel else None)


# --- the table ------------------------------------------------------------------------------

FIELD_ORDER = (
    "name", "imports", "has_extension", "pure_python_fallback", "status", "cp313t", "cp314t",
    "gil_free_since", "alternative", "compiled_modules", "source",
)
TARGET_ORDER = (
    "first", "first_any_platform", "releases", "missing", "latest", "latest_has_wheels",
    "pure_python", "files", "gil", "gil_enabled_by", "import_check",
)
TARGETS = {"cp313t": "py313t", "cp314t": "py314t"}
MAX_COMPILED_SHOWN = 6


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def render(header: str, packages: list[dict]) -> str:
    parts = [header]
    for package in packages:
        lines = ["", "[[package]]"]
        lines += [f"{k} = {toml_value(package[k])}" for k in FIELD_ORDER if k in package]
        for table in TARGETS.values():
            if table in package:
                lines.append(f"[package.{table}]")
                lines += [f"{k} = {toml_value(package[table][k])}" for k in TARGET_ORDER if k in package[table]]
        parts.append("\n".join(lines) + "\n")
    return "".join(parts)


def apply(package: dict, got: Gathered, checked: dict | None, today: str) -> list[tuple[str, str]]:
    """Write the gathered facts into `package`; the changes as (kind, text)."""
    changes = []

    def change(kind: str, key: str, new) -> None:
        old = package.get(key)
        if old != new:
            changes.append((kind, f"{key}: {old!r} -> {new!r}"))
            if new is None:
                package.pop(key, None)
            else:
                package[key] = new

    for abi, table in TARGETS.items():
        f = got.facts[abi]
        facts = {k: v for k, v in asdict(f).items() if k in TARGET_ORDER and v not in (None, [])}
        facts.pop("last_with", None)
        facts.pop("last_final_with", None)
        facts["files"] = f"index {today}"
        if abi == "cp314t" and checked:
            facts["gil"] = checked["gil"]
            if checked["enabled_by"]:
                facts["gil_enabled_by"] = checked["enabled_by"]
            facts["import_check"] = f"{checked['interpreter']}, {got.name} {checked['version']}, {checked.get('date', today)}"
        elif abi == "cp314t":
            facts["gil"] = "not-checked"
        package[table] = facts
        old = package.get(abi)
        new = f.first if f.first else ("none" if old == "none" else None)
        change("first release", abi, new)
    if got.contents and got.contents.imports:
        change("import names", "imports", got.contents.imports)
    if got.contents is not None:
        compiled = got.contents.compiled_modules
        change("compiled modules", "compiled_modules", compiled[:MAX_COMPILED_SHOWN] or None)
        change("has extension", "has_extension", bool(compiled) or package.get("has_extension", True))
    status = package["status"]
    any_ft = any(got.facts[abi].first for abi in TARGETS)
    if checked and checked["gil"] == "enabled":
        status = "gil-enabled"
    elif checked and checked["gil"] == "disabled" and (got.facts["cp314t"].first or got.facts["cp314t"].pure_python):
        status = "supported"
    elif not any_ft and not got.facts["cp314t"].pure_python and not any(
        got.facts[abi].first_any_platform for abi in TARGETS
    ):
        status = "unsupported"
    change("status", "status", status)
    parts = [p.strip() for p in package.get("source", "").split(";") if p.strip()]
    parts = [p for p in parts if not p.startswith(("PyPI files", "index files", "import check"))]
    parts.append(f"index files {today}")
    if checked:
        parts.append(f"import check {today}")
    package["source"] = "; ".join(parts)
    return changes


def earlier_verdict(package: dict, got: Gathered) -> dict | None:
    """An earlier verdict for the release that would be checked now, if any."""
    facts = package.get("py314t") or {}
    f = got.facts["cp314t"]
    version = f.last_final_with if f.first else f.latest
    m = re.match(r"^(?P<interpreter>.+), (?P<name>\S+) (?P<version>\S+), \d{4}-\d\d-\d\d$", facts.get("import_check", ""))
    if facts.get("gil") not in ("disabled", "enabled") or not m or m.group("version") != version:
        return None
    date = facts["import_check"].rsplit(", ", 1)[1]
    return {"gil": facts["gil"], "enabled_by": facts.get("gil_enabled_by", []), "version": version,
            "interpreter": m.group("interpreter"), "date": date}


def load_ranks(path: Path | None) -> dict[str, float]:
    """Download rank per distribution (the gathered data's CSV), to check well-known ones first."""
    if not path or not path.is_file():
        return {}
    with path.open(newline="", encoding="utf-8") as handle:
        return {
            normalize(row["distribution"] if "distribution" in row else row[next(iter(row))]):
            float(row["download_rank_among_binary"]) if row.get("download_rank_among_binary", "").isdigit() else 1e9
            for row in csv.DictReader(handle)
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index-url", help="the package index (default: PIP_INDEX_URL, else pip's default)")
    parser.add_argument("names", nargs="*", help="distribution names (any spelling; normalized)")
    parser.add_argument("--all", action="store_true", help="every package in the table")
    parser.add_argument("--dry-run", action="store_true", help="print the changes, write nothing")
    parser.add_argument("--table", type=Path, default=DEFAULT_TABLE, help="default: rules/extensions.toml")
    parser.add_argument("--import-check", metavar="PYTHON", help="a free-threaded interpreter (python3.14t)")
    parser.add_argument(
        "--reuse-import-check",
        nargs="?",
        const="",
        metavar="TABLE",
        help="keep the import-check verdicts of TABLE (default: the table itself) for the releases they checked",
    )
    parser.add_argument("--import-limit", type=int, default=10**6, help="import-check at most N packages")
    parser.add_argument("--max-download-mb", type=float, default=400, help="skip import checks of larger wheels")
    parser.add_argument("--ranks", type=Path, default=REPO_ROOT / ".." / "shared" / "data" / "extensions.csv")
    parser.add_argument("--jobs", type=int, default=8, help="parallel index requests (default 8)")
    parser.add_argument("--import-jobs", type=int, default=2, help="parallel import checks (default 2)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default 30)")
    args = parser.parse_args(argv)
    global INDEX_ROOT
    INDEX_ROOT = index_root(args.index_url)
    if args.all == bool(args.names):
        parser.error("give package names or --all (not both)")
    try:
        original = args.table.read_text(encoding="utf-8")
        packages = tomllib.loads(original).get("package", [])
    except (OSError, tomllib.TOMLDecodeError) as error:
        print(f"refresh-extensions: cannot read {args.table}: {error}", file=sys.stderr)
        return 2
    header = original[: original.index("[[package]]")].rstrip("\n") + "\n"
    by_name = {p["name"]: p for p in packages}
    names = list(by_name) if args.all else [normalize(n) for n in args.names]
    unknown = [n for n in names if n not in by_name]
    if unknown:
        print(f"refresh-extensions: not in the table: {', '.join(unknown)}", file=sys.stderr)
        return 2
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()

    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        gathered = {g.name: g for g in pool.map(lambda n: gather(n, args.timeout), names)}
    failures = [n for n, g in gathered.items() if g.error]
    for name in failures:
        print(f"{name}: error: {gathered[name].error}; kept as it was")

    checked: dict[str, dict] = {}
    if args.import_check:
        ranks = load_ranks(args.ranks)
        candidates = [n for n in names if not gathered[n].error and (gathered[n].facts["cp314t"].first or gathered[n].facts["cp314t"].pure_python)]
        candidates.sort(key=lambda n: ranks.get(n, 1e9))
        if args.reuse_import_check is not None:
            source = Path(args.reuse_import_check) if args.reuse_import_check else args.table
            earlier = {p["name"]: p for p in tomllib.loads(source.read_text(encoding="utf-8"))["package"]}
            kept = [n for n in candidates if n in earlier and earlier_verdict(earlier[n], gathered[n])]
            for name in kept:
                checked[name] = earlier_verdict(earlier[name], gathered[name])
            candidates = [n for n in candidates if n not in kept]
            print(f"{len(kept)} earlier verdicts reused, {len(candidates)} to check")
        scratch = Path(tempfile.mkdtemp(prefix="nogil-lint-import-check-"))
        venv = extfacts_import.make_venv(args.import_check, scratch)
        interpreter = extfacts_import.interpreter_name(venv)

        def run(name: str):
            f = gathered[name].facts["cp314t"]
            version = f.last_final_with if f.first else f.latest
            started = time.monotonic()
            result = extfacts_import.check(venv, name, version, scratch)
            print(f"import check {name} {version}: {result.gil} {result.enabled_by or ''} "
                  f"({result.modules} modules, {time.monotonic() - started:.0f} s) {result.detail}", flush=True)
            return name, result

        with concurrent.futures.ThreadPoolExecutor(args.import_jobs) as pool:
            for name, result in pool.map(run, candidates[: args.import_limit]):
                if result.gil in ("disabled", "enabled"):
                    checked[name] = {"gil": result.gil, "enabled_by": result.enabled_by,
                                     "version": result.version, "interpreter": interpreter}

    counts: collections.Counter = collections.Counter()
    changed = 0
    for name in names:
        if gathered[name].error:
            continue
        changes = apply(by_name[name], gathered[name], checked.get(name), today)
        if changes:
            changed += 1
            print(f"{name}: changed")
            for kind, text in changes:
                counts[kind] += 1
                print(f"  {text}")
    # An import name several packages ship (opencv-python and its -headless and -contrib
    # variants all ship cv2; cupy, cupy-cuda12x and cupy-cuda13x all ship cupy) stays on each:
    # the linter answers for the import with the one that has a free-threaded build.
    claims = collections.defaultdict(list)
    for p in packages:
        for i in p.get("imports", []):
            claims[i].append(p["name"])
    for name_, owners in claims.items():
        if len(owners) > 1:
            print(f"import name {name_} shipped by {owners}")
    new_text = render(header, packages)
    if [p["name"] for p in tomllib.loads(new_text)["package"]] != [p["name"] for p in packages]:
        print("refresh-extensions: internal error: package list changed", file=sys.stderr)
        return 2
    verdict = (f"{len(names) - len(failures)} packages read, {len(checked)} import-checked, "
               f"{changed} changed (" + ", ".join(f"{k} {v}" for k, v in counts.most_common()) + ")")
    if failures:
        verdict += f"; {len(failures)} failed: {', '.join(failures)}"
    if args.dry_run:
        print(f"dry run: {verdict}")
    else:
        fd, tmp = tempfile.mkstemp(prefix=".extensions.", suffix=".toml", dir=args.table.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(new_text)
        os.replace(tmp, args.table)
        print(f"wrote {args.table}: {verdict}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
