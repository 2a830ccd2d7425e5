#!/usr/bin/env python3
"""Refresh the cp313t/cp314t fields of rules/extensions.toml from PyPI's release files.

Usage:
    scripts/refresh-extensions.py [--dry-run] [--pre] [--drop-unconfirmed] NAME...
    scripts/refresh-extensions.py [--dry-run] --all

For each package, the release file lists come from the package index's JSON API
(<index>/pypi/<name>/json; the Simple API's JSON form, PEP 691, is used when that response has
no "releases").  The index is the one pip uses: --index-url, else PIP_INDEX_URL, else pip's
own default.  The first release -- in PEP 440 version order -- with a wheel whose ABI tag
is cp313t (resp. cp314t) becomes the package's cp313t (cp314t) value.  Yanked files are
ignored.  Pre-releases count only when no final release has such a wheel (then the first
pre-release is used), unless --pre is given, in which case they count like any release.

Rules for writing:
  * a wheel found          -> the field is set to that release (added, corrected, or replacing
                              a "none" from the gathered data; each case is reported);
  * no such wheel on PyPI  -> "none" and absent fields stay as they are; a version from the
                              gathered data is kept and reported as unconfirmed (with
                              --drop-unconfirmed it is removed).  "none" is never written: it
                              means "the project says this ABI is unsupported", which missing
                              wheels alone do not show.
  * when a package's fields change, "PyPI files <date>" is added to (or updated in) its
    `source`, so the provenance stays true.
The file is edited in place line by line: the header, the order of the fields, the other
fields and any comments are kept.  The result is parsed back with tomllib and compared with
the original before it is written.  --dry-run prints the changes and writes nothing.

Network errors are reported per package and the run continues; the exit status is 1 when
any package failed, 2 for usage errors, else 0.  This script talks to the network and is
meant to be run by hand; tests never run it.  Python 3.11+, standard library only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

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
ABIS = ("cp313t", "cp314t")

# Field order of a [[package]] table; the same as scripts/build-extensions-table.py writes.
FIELD_ORDER = (
    "name",
    "imports",
    "has_extension",
    "pure_python_fallback",
    "status",
    "cp313t",
    "cp314t",
    "gil_free_since",
    "alternative",
    "source",
)


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


def wheel_abi_tags(filename: str) -> set[str]:
    """ABI tags of a wheel filename ({dist}-{ver}(-{build})?-{py}-{abi}-{plat}.whl)."""
    if not filename.endswith(".whl"):
        return set()
    parts = filename[:-4].split("-")
    if len(parts) < 5:
        return set()
    return set(parts[-2].split("."))


@dataclass
class Files:
    """Non-yanked wheel filenames per release version, as published on PyPI."""

    by_version: dict[str, list[str]] = field(default_factory=dict)
    yanked_files: int = 0
    skipped_versions: list[str] = field(default_factory=list)  # not PEP 440
    via: str = "JSON API"


def fetch_files(name: str, timeout: float) -> Files:
    data = http_get_json(JSON_API.format(root=INDEX_ROOT, name=name), timeout)
    files = Files()
    releases = data.get("releases")
    if releases:
        for version, entries in releases.items():
            wheels = []
            for entry in entries or []:
                if entry.get("yanked"):
                    files.yanked_files += 1
                    continue
                if entry.get("filename", "").endswith(".whl"):
                    wheels.append(entry["filename"])
            files.by_version[version] = wheels
        return files
    # The JSON API's "releases" is deprecated; fall back to the Simple API (PEP 691).
    data = http_get_json(
        SIMPLE_API.format(root=INDEX_ROOT, name=name),
        timeout,
        accept="application/vnd.pypi.simple.v1+json",
    )
    files.via = "Simple API"
    for version in data.get("versions", []):
        files.by_version.setdefault(version, [])
    for entry in data.get("files", []):
        filename = entry.get("filename", "")
        if not filename.endswith(".whl"):
            continue
        if entry.get("yanked"):
            files.yanked_files += 1
            continue
        parts = filename[:-4].split("-")
        if len(parts) >= 5:
            files.by_version.setdefault(parts[1], []).append(filename)
    return files


@dataclass
class AbiResult:
    first: str | None  # the value to write
    first_is_pre: bool = False
    first_any: str | None = None  # first release including pre-releases
    latest_final: str | None = None  # the newest final release
    latest_has: bool = False  # whether that release has such a wheel
    last_with: str | None = None  # newest release with such a wheel


def analyse(files: Files, include_pre: bool) -> dict[str, AbiResult]:
    versions = []
    for text in files.by_version:
        version = parse_version(text)
        if version is None:
            files.skipped_versions.append(text)
        else:
            versions.append(version)
    versions.sort(key=lambda v: v.key)
    finals_with_files = [v for v in versions if not v.is_pre and files.by_version[v.text]]
    latest_final = finals_with_files[-1] if finals_with_files else None
    results = {}
    for abi in ABIS:
        having = [v for v in versions if any(abi in wheel_abi_tags(f) for f in files.by_version[v.text])]
        finals = [v for v in having if not v.is_pre]
        if include_pre or not finals:
            chosen = having[0] if having else None
        else:
            chosen = finals[0]
        results[abi] = AbiResult(
            first=chosen.text if chosen else None,
            first_is_pre=bool(chosen and chosen.is_pre),
            first_any=having[0].text if having else None,
            latest_final=latest_final.text if latest_final else None,
            latest_has=bool(latest_final and latest_final in having),
            last_with=having[-1].text if having else None,
        )
    return results


# --- the table ------------------------------------------------------------------------------

KEY_LINE = re.compile(r"^(?P<key>[A-Za-z0-9_-]+)\s*=")


@dataclass
class Block:
    lines: list[str]

    @property
    def values(self) -> dict:
        return tomllib.loads("".join(self.lines))["package"][0]

    def find(self, key: str) -> int | None:
        for index, line in enumerate(self.lines):
            m = KEY_LINE.match(line)
            if m and m.group("key") == key:
                return index
        return None

    def set(self, key: str, value: str | None) -> None:
        index = self.find(key)
        if value is None:
            if index is not None:
                del self.lines[index]
            return
        line = f"{key} = {json.dumps(value, ensure_ascii=False)}\n"
        if index is not None:
            self.lines[index] = line
            return
        # Insert after the last present field that comes before `key` in FIELD_ORDER.
        position = 1  # after "[[package]]"
        for earlier in FIELD_ORDER[: FIELD_ORDER.index(key)]:
            found = self.find(earlier)
            if found is not None:
                position = max(position, found + 1)
        self.lines.insert(position, line)


def split_table(text: str) -> tuple[list[str], list[Block]]:
    header: list[str] = []
    blocks: list[Block] = []
    for line in text.splitlines(keepends=True):
        if line.strip() == "[[package]]":
            blocks.append(Block([line]))
        elif blocks:
            blocks[-1].lines.append(line)
        else:
            header.append(line)
    if blocks and not blocks[-1].lines[-1].endswith("\n"):
        blocks[-1].lines[-1] += "\n"
    return header, blocks


def with_pypi_source(source: str, today: str) -> str:
    parts = [p.strip() for p in source.split(";") if p.strip() and not p.strip().startswith("PyPI files")]
    parts.append(f"PyPI files {today}")
    return "; ".join(parts)


def show(value: str | None) -> str:
    return "(absent)" if value is None else value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Refresh cp313t/cp314t in rules/extensions.toml from the package index's release files.",
        epilog="Needs network access to the package index; run by hand only, never in tests.",
    )
    parser.add_argument("--index-url", help="the package index (default: PIP_INDEX_URL, else pip's default)")
    parser.add_argument("names", nargs="*", help="distribution names (any spelling; normalized)")
    parser.add_argument("--all", action="store_true", help="every package in the table")
    parser.add_argument("--dry-run", action="store_true", help="print the changes, write nothing")
    parser.add_argument("--table", type=Path, default=DEFAULT_TABLE, help="default: rules/extensions.toml")
    parser.add_argument("--pre", action="store_true", help="let pre-releases count like final releases")
    parser.add_argument(
        "--drop-unconfirmed",
        action="store_true",
        help="remove a version that PyPI shows no matching wheel for (default: keep and report)",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default 30)")
    parser.add_argument("--delay", type=float, default=0.2, help="pause between packages (default 0.2 s)")
    args = parser.parse_args(argv)
    global INDEX_ROOT
    INDEX_ROOT = index_root(args.index_url)
    if args.all == bool(args.names):
        parser.error("give package names or --all (not both)")

    try:
        original = args.table.read_text(encoding="utf-8")
        before = {p["name"]: p for p in tomllib.loads(original).get("package", [])}
    except (OSError, tomllib.TOMLDecodeError) as error:
        print(f"refresh-extensions: cannot read {args.table}: {error}", file=sys.stderr)
        return 2
    header, blocks = split_table(original)
    by_name = {}
    for block in blocks:
        by_name[block.values["name"]] = block

    names = list(by_name) if args.all else [normalize(n) for n in args.names]
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    failures: list[str] = []
    changed_packages = 0
    changes = 0

    for position, name in enumerate(names):
        block = by_name.get(name)
        if block is None:
            print(f"{name}: not in {args.table.name} (add it to the data and rebuild first); skipped")
            failures.append(name)
            continue
        if position and args.delay:
            time.sleep(args.delay)
        try:
            files = fetch_files(name, args.timeout)
        except FetchError as error:
            print(f"{name}: error: {error}; skipped")
            failures.append(name)
            continue
        results = analyse(files, args.pre)
        current = block.values
        wheel_count = sum(len(w) for w in files.by_version.values())
        lines = []
        block_changed = False
        for abi in ABIS:
            result = results[abi]
            old = current.get(abi)
            new = old
            if result.first is not None:
                new = result.first
                note = ""
                if result.first_is_pre:
                    note = " (pre-release; no final release has such a wheel)"
                elif result.first_any != result.first:
                    note = f" (pre-release {result.first_any} had one first)"
                if old == new:
                    lines.append(f"  {abi}: {old} (confirmed){note}")
                elif old == "none":
                    lines.append(f"  {abi}: none -> {new}{note}  [PyPI has {abi} wheels although the data says unsupported]")
                else:
                    lines.append(f"  {abi}: {show(old)} -> {new}{note}")
                if not result.latest_has and result.latest_final:
                    lines.append(
                        f"    note: latest release {result.latest_final} has no {abi} wheel "
                        f"(newest with one: {result.last_with})"
                    )
            else:
                if old is None:
                    lines.append(f"  {abi}: no {abi} wheels on PyPI (field stays absent)")
                elif old == "none":
                    lines.append(f"  {abi}: none (consistent: no {abi} wheels on PyPI)")
                elif args.drop_unconfirmed:
                    new = None
                    lines.append(f"  {abi}: {old} -> (absent)  [no {abi} wheels on PyPI]")
                else:
                    lines.append(f"  {abi}: {old} kept, UNCONFIRMED: no {abi} wheels on PyPI")
            if new != old:
                block.set(abi, new)
                block_changed = True
                changes += 1
        found = [abi for abi in ABIS if results[abi].first is not None]
        if found and current.get("status") in ("unsupported", "unknown"):
            lines.append(
                f"  hint: status is {current.get('status')!r} but PyPI has {'/'.join(found)} wheels; "
                "the gathered data may be out of date (status is not changed here)"
            )
        if block_changed:
            block.set("source", with_pypi_source(current.get("source", ""), today))
            changed_packages += 1
        summary = f"{len(files.by_version)} releases, {wheel_count} wheels via {files.via}"
        if files.yanked_files:
            summary += f", {files.yanked_files} yanked files ignored"
        if files.skipped_versions:
            summary += f", {len(files.skipped_versions)} non-PEP 440 versions skipped"
        print(f"{name}: {'changed' if block_changed else 'unchanged'} ({summary})")
        for line in lines:
            print(line)

    new_text = "".join(header) + "".join("".join(block.lines) for block in blocks)
    # Parse back and check that nothing but cp313t/cp314t/source moved.
    after = {p["name"]: p for p in tomllib.loads(new_text).get("package", [])}
    if list(after) != list(before):
        print("refresh-extensions: internal error: package list changed", file=sys.stderr)
        return 2
    for name, package in after.items():
        for key in set(package) | set(before[name]):
            if key not in ("cp313t", "cp314t", "source") and package.get(key) != before[name].get(key):
                print(f"refresh-extensions: internal error: {name}.{key} changed", file=sys.stderr)
                return 2

    verdict = f"{changes} field change(s) in {changed_packages} package(s)"
    if failures:
        verdict += f"; {len(failures)} package(s) failed: {', '.join(failures)}"
    if args.dry_run:
        print(f"dry run: {verdict}; {args.table} not written")
    elif new_text != original:
        fd, tmp = tempfile.mkstemp(prefix=".extensions.", suffix=".toml", dir=args.table.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(new_text)
        os.replace(tmp, args.table)
        print(f"wrote {args.table}: {verdict}")
    else:
        print(f"{verdict}; {args.table} unchanged")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
