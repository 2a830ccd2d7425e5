#!/usr/bin/env python3
"""Generate rules/extensions.toml (the NG201/NG202 extension table) from the gathered data.

Usage:
    scripts/build-extensions-table.py [DATA_DIR] [--output PATH] [--cp314t-from-pre-314-releases]

DATA_DIR holds extensions.csv and import_map.csv (default: ../shared/data relative to the
repository root).  Python 3.11+, standard library only.  No network access.

Which rows are included
    every row whose free_threaded_status is not "unknown", plus the "unknown" rows among the
    150 most-downloaded binary packages (download_rank_among_binary <= 150).

How fields are filled (see the header written into the TOML for their meaning)
    imports         names from import_map.csv that are verified, or equal to the obvious guess
                    (distribution name with '-' turned into '_').  A name claimed by two
                    packages goes to the verified one, else the most downloaded; reported.
    cp313t/cp314t   the CSV's per-ABI columns when filled ("none ..." -> "none"; a trailing
                    remark in parentheses is dropped).  Otherwise from
                    first_version_with_ft_wheels:
                      cp313t  when the tracker first saw ft wheels before 2025-05-07 (3.14.0b1);
                      cp314t  when the status is "supported", except (a) when the tracker first
                              saw ft wheels before 3.14.0b1 -- that release predates the 3.14t
                              ABI, so it cannot be the first one with cp314t wheels (the brief's
                              literal rule is available with --cp314t-from-pre-314-releases),
                              and (b) when the tracker never saw ft wheels and says the latest
                              release has none (the data conflicts; left for
                              refresh-extensions.py to settle from PyPI).
                    Neither is derived from first_version_with_ft_wheels when the notes say the
                    ft wheels reached PyPI with a later release than that version (torch).
    gil_free_since  first_version_declared_gil_free (leading version only).
    alternative     a distribution of the data named in the notes as "the <name> fork".
Versions are never invented: a value that does not start with a version is left out and
reported.

After writing, the file is parsed back with tomllib and checked (unique names, unique import
names, valid statuses and versions).  A summary goes to stdout.
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import re
import sys
import tomllib
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = REPO_ROOT / ".." / "shared" / "data"
DEFAULT_OUTPUT = REPO_ROOT / "rules" / "extensions.toml"

# CPython 3.14.0b1: the first release with the 3.14 (and 3.14t) ABI fixed.
PY314_BETA1 = "2025-05-07"
TOP_N = 150

STATUS_MAP = {
    "supported": "supported",
    "supported-but-gil-enabled": "gil-enabled",
    "unsupported": "unsupported",
    "unknown": "unknown",
}
STATUSES = ("supported", "gil-enabled", "unsupported", "unknown")

# Field order of a [[package]] table.  scripts/refresh-extensions.py relies on it.
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
    "compiled_modules",
    "source",
)

# A PEP 440 version at the start of a cell ("7.0.0a1 (pre-release)" -> "7.0.0a1").
VERSION_RE = re.compile(
    r"""
    (?:\d+!)?\d+(?:\.\d+)*
    (?:(?:a|b|rc)\d+)?
    (?:\.post\d+)?
    (?:\.dev\d+)?
    """,
    re.VERBOSE,
)
LEADING_VERSION_RE = re.compile(r"^\s*(" + VERSION_RE.pattern + r")(?=$|[\s(;,])", re.VERBOSE)
FULL_VERSION_RE = re.compile(r"^" + VERSION_RE.pattern + r"$", re.VERBOSE)

HEADER = """\
# Free-threading facts about compiled (extension) packages on the package index, used by NG201
# (extension-without-free-threading) and NG202 (pinned-below-free-threading).
#
# GENERATED FILE.  Written by scripts/build-extensions-table.py from the gathered data
# (shared/data/extensions.csv and import_map.csv; sources and snapshot dates in that
# directory's README.md: hugovk/free-threaded-wheels tracker 2026-06-14, Quansight-Labs
# free-threaded-compatibility tracking table 2026-06-28, per-project repositories and
# changelogs), then refreshed by scripts/refresh-extensions.py from the package index's file
# lists and an import check on a free-threaded interpreter.  Re-running the build script
# discards the refreshed facts, so run the refresh script after it.  Do not edit by hand.
#
# One [[package]] table per distribution, sorted by name.  Fields:
#   name            distribution name, normalized (PEP 503: lower-case, '-' separators)
#   imports         top-level import names: from the newest wheel's top_level.txt (else its
#                   RECORD's top-level entries) when refreshed; may be empty.  Each import name
#                   belongs to one package only.
#   has_extension   false only when no compiled code is published
#   pure_python_fallback
#                   optional: true when the gathered data says a pure-Python wheel is published
#                   too, so a free-threaded interpreter installs that one
#   status          "supported":   free-threaded builds whose modules keep the GIL disabled
#                   "gil-enabled": free-threaded wheels are published, but importing some of
#                                  their modules re-enables the GIL
#                   "unsupported": no free-threaded wheels, or the maintainer says free-threading
#                                  is not supported
#                   "unknown":     no source says either way
#                   (the refresh sets it from the 3.14t import check when one ran)
#   cp313t          optional: first release with free-threaded wheels for CPython 3.13t (ABI tag
#                   cp313t), or "none" when the source says 3.13t is not supported
#   cp314t          optional: the same for 3.14t (ABI tag cp314t)
#   gil_free_since  optional: first release whose modules declare GIL-free operation (can be a
#                   pre-release, or earlier than the first free-threaded wheels)
#   alternative     optional: a drop-in alternative distribution (e.g. a -ft fork) named by the data
#   compiled_modules optional: some compiled modules of the newest wheel (at most six)
#   source          short provenance: "tracker" = hugovk/free-threaded-wheels results.json (date),
#                   "tracking table" = Quansight-Labs/free-threaded-compatibility docs/tracking.md,
#                   "ft guide" = other pages of that guide, owner/repo@commit = repository snapshot
#                   (declaration markers, changelog), owner/repo#N = GitHub issue or pull request,
#                   "index files" / "import check" = read by scripts/refresh-extensions.py (date)
# [package.py313t] / [package.py314t]: the facts per target, as the refresh read them:
#   first           first release (a final one when any has it) with a wheel of that ABI for
#                   Linux x86_64; absent when no release has one
#   first_any_platform  an earlier release with such a wheel for another platform only
#   releases        every release since `first` with such a wheel
#   missing         final releases since `first` without one
#   latest, latest_has_wheels   the newest final release, and whether it has such a wheel
#   pure_python     the newest release publishes a wheel without compiled code
#   files           provenance and date of the facts above ("index YYYY-MM-DD")
#   gil             3.14t: "disabled" / "enabled" after importing each compiled module of the
#                   newest release with cp314t wheels (or of the pure-Python wheel) on a
#                   free-threaded CPython, or "not-checked"
#   gil_enabled_by  the modules whose import turned the GIL on
#   import_check    interpreter, release and date of that check
# A missing optional field means no source gave a value; versions are never guessed.
"""


def normalize(name: str) -> str:
    """PEP 503 normalization."""
    return re.sub(r"[-_.]+", "-", name).lower()


def toml_str(value: str) -> str:
    # JSON string escapes (\" \\ \n \t \uXXXX ...) are valid TOML basic-string escapes.
    return json.dumps(value, ensure_ascii=False)


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return toml_str(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_str(v) for v in value) + "]"
    raise TypeError(value)


class Report:
    """Collects the notes printed in the summary."""

    def __init__(self) -> None:
        self.sections: dict[str, list[str]] = collections.defaultdict(list)

    def add(self, section: str, line: str) -> None:
        self.sections[section].append(line)


def parse_version_cell(cell: str, column: str, dist: str, report: Report) -> str | None:
    """A version column's value: a version, "none", or None (empty / no version given)."""
    cell = cell.strip()
    if not cell:
        return None
    if re.match(r"^none\b", cell, re.IGNORECASE):
        if cell.lower() != "none":
            report.add("version cells with remarks (remark dropped)", f"{dist}.{column}: {cell!r} -> 'none'")
        return "none"
    match = LEADING_VERSION_RE.match(cell)
    if not match:
        report.add("version cells without a version (left out)", f"{dist}.{column}: {cell!r}")
        return None
    version = match.group(1)
    if version != cell:
        report.add("version cells with remarks (remark dropped)", f"{dist}.{column}: {cell!r} -> {version!r}")
    return version


def short_source(source: str) -> str:
    """Compress the CSV's provenance list into a short one."""
    out: list[str] = []

    def add(item: str) -> None:
        if item not in out:
            out.append(item)

    for raw in source.split(" ; "):
        item = raw.strip()
        if not item:
            continue
        if item.startswith("hugovk/free-threaded-wheels"):
            m = re.search(r"results\.json \((\d{4}-\d\d-\d\d)\)", item)
            if m:
                add(f"tracker {m.group(1)}")
            elif "history" in item:
                add("tracker history")
            else:
                add("tracker")
            continue
        if item.startswith("Quansight-Labs/free-threaded-compatibility"):
            if "tracking.md git history" in item:
                add("tracking table history")
            elif "tracking.md" in item:
                add("tracking table 2026-06-28")
            else:
                m = re.search(r"docs/([\w.-]+)\.md", item)
                add(f"ft guide {m.group(1)}" if m else "ft guide")
            continue
        m = re.match(r"^github\.com/([\w.-]+/[\w.-]+)/(?:issues|pull)/(\d+)$", item)
        if m:
            add(f"{m.group(1)}#{m.group(2)}")
            continue
        m = re.match(r"^github\.com/([\w.-]+/[\w.-]+)/releases/tag/(\S+)$", item)
        if m:
            add(f"{m.group(1)} release {m.group(2)}")
            continue
        m = re.match(r"^([\w.-]+/[\w.-]+)@([0-9a-f]{7,40}) \(declaration markers via git grep/log; changelog\)$", item)
        if m:
            add(f"{m.group(1)}@{m.group(2)[:12]} (source, changelog)")
            continue
        m = re.match(r"^([\w.-]+/[\w.-]+)@([0-9a-f]{7,40}) (.+)$", item)
        if m:
            add(f"{m.group(1)}@{m.group(2)[:12]} {m.group(3)}")
            continue
        m = re.match(r"^([\w.-]+/[\w.-]+) \(code index: .*\)$", item)
        if m:
            add(f"{m.group(1)} (repository layout)")
            continue
        add(item)
    # "tracker history" adds nothing once the dated tracker entry is there.
    if any(s.startswith("tracker 2") for s in out) and "tracker history" in out:
        out.remove("tracker history")
    return "; ".join(out)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def rank_of(row: dict[str, str]) -> float:
    rank = row["download_rank_among_binary"].strip()
    return int(rank) if rank.isdigit() else float("inf")


def build(data_dir: Path, cp314t_from_pre_314: bool) -> tuple[list[dict], Report]:
    report = Report()
    rows = read_csv(data_dir / "extensions.csv")
    import_rows = read_csv(data_dir / "import_map.csv")

    # --- distributions -------------------------------------------------------------------
    by_name: dict[str, dict[str, str]] = {}
    order: dict[str, int] = {}
    for index, row in enumerate(rows):
        name = normalize(row["distribution"])
        if name != row["distribution"]:
            report.add("names normalized", f"{row['distribution']!r} -> {name!r}")
        if name in by_name:
            report.add("duplicate distributions (first row kept)", name)
            continue
        by_name[name] = row
        order[name] = index
        if row["free_threaded_status"] not in STATUS_MAP:
            raise SystemExit(f"{name}: unexpected status {row['free_threaded_status']!r}")

    def download_key(name: str) -> tuple[float, int]:
        return (rank_of(by_name[name]), order[name])

    included = [
        name
        for name, row in by_name.items()
        if row["free_threaded_status"] != "unknown" or rank_of(row) <= TOP_N
    ]
    included_set = set(included)

    # --- import names --------------------------------------------------------------------
    verified: dict[tuple[str, str], bool] = {}
    for row in import_rows:
        key = (row["import_name"].strip(), normalize(row["distribution"]))
        verified[key] = verified.get(key, False) or row["verified"].strip() == "yes"

    candidates: dict[str, list[str]] = {}
    for name in included:
        row = by_name[name]
        guess = name.replace("-", "_")
        kept = []
        for imp in row["import_names"].split():
            if (imp, name) not in verified:
                report.add(
                    "import names missing from import_map.csv",
                    f"{name}: {imp} (treated as unverified)",
                )
            if verified.get((imp, name), False) or imp == guess:
                kept.append(imp)
            else:
                report.add(
                    "unverified import names left out (not the obvious guess)",
                    f"{name}: {imp} (guess would be {guess})",
                )
        candidates[name] = kept
    for (imp, dist), _ in verified.items():
        if dist not in by_name:
            report.add("import_map.csv rows for unknown distributions", f"{imp} -> {dist}")
        elif imp not in by_name[dist]["import_names"].split():
            report.add(
                "import_map.csv names missing from extensions.csv",
                f"{dist}: {imp} (not used)",
            )

    claims: dict[str, list[str]] = collections.defaultdict(list)
    for name in included:
        for imp in candidates[name]:
            claims[imp].append(name)
    for imp, owners in sorted(claims.items()):
        if len(owners) < 2:
            continue
        ranked = sorted(owners, key=lambda n: (not verified.get((imp, n), False), download_key(n)))
        winner = ranked[0]
        for loser in ranked[1:]:
            candidates[loser].remove(imp)
        desc = ", ".join(
            f"{n} ({'verified' if verified.get((imp, n)) else 'unverified'}, rank "
            f"{by_name[n]['download_rank_among_binary'] or '-'})"
            for n in ranked
        )
        report.add("import names claimed by several packages", f"{imp}: kept for {winner}; claimed by {desc}")

    # --- alternatives named in the notes ----------------------------------------------------
    alternatives: dict[str, str] = {}
    for name in included:
        for m in re.finditer(r"\bthe ([A-Za-z0-9][\w.-]*) fork\b", by_name[name]["notes"]):
            alt = normalize(m.group(1))
            if alt == name:
                continue
            if alt not in by_name:
                report.add("alternatives named but not in the data (left out)", f"{name}: {m.group(1)}")
                continue
            alternatives[name] = alt
            if alt not in included_set:
                report.add("alternatives not in the table", f"{name}: {alt}")

    # --- packages ----------------------------------------------------------------------
    packages = []
    for name in sorted(included):
        row = by_name[name]
        status = STATUS_MAP[row["free_threaded_status"]]
        has_ext_cell = row["has_extension"].strip().lower()
        has_extension = not has_ext_cell.startswith("no")
        # "yes (optional; pure-Python wheel also published)": installers on a free-threaded
        # interpreter fall back to the pure-Python wheel (slower, but it works).
        pure_python_fallback = "optional" in has_ext_cell

        cp313t = parse_version_cell(row["first_version_cp313t"], "first_version_cp313t", name, report)
        cp314t = parse_version_cell(row["first_version_cp314t"], "first_version_cp314t", name, report)
        gil_free = parse_version_cell(
            row["first_version_declared_gil_free"], "first_version_declared_gil_free", name, report
        )
        if gil_free == "none":
            report.add("version cells without a version (left out)", f"{name}.first_version_declared_gil_free: 'none'")
            gil_free = None
        ft_wheels = parse_version_cell(
            row["first_version_with_ft_wheels"], "first_version_with_ft_wheels", name, report
        )
        if ft_wheels == "none":
            ft_wheels = None

        first_seen = row["tracker_first_seen_ft_wheels"].strip()
        latest = row["ft_wheels_latest_release"].strip().lower()
        # "no" / "no (last tracked ...)": the tracker looked and found no ft wheels
        # ("not tracked" means it never looked).
        tracker_says_none = re.match(r"^no(?:$|\s*\()", latest) is not None
        later_on_pypi = bool(re.search(r"later release than", row["notes"]))
        if ft_wheels and later_on_pypi:
            report.add(
                "first_version_with_ft_wheels not used for cp313t/cp314t",
                f"{name}: notes say PyPI ft wheels came with a later release than {ft_wheels}",
            )
        if ft_wheels and not later_on_pypi:
            if cp313t is None and first_seen and first_seen < PY314_BETA1:
                cp313t = ft_wheels
                report.add("derived", f"{name}: cp313t = {ft_wheels} (ft wheels, tracker first saw {first_seen})")
            if cp314t is None and status == "supported":
                if first_seen and first_seen < PY314_BETA1 and not cp314t_from_pre_314:
                    report.add(
                        "cp314t not derived: first ft release predates 3.14.0b1",
                        f"{name}: {ft_wheels} (tracker first saw ft wheels {first_seen})",
                    )
                elif not first_seen and tracker_says_none:
                    report.add(
                        "cp314t not derived: tracker never saw ft wheels (conflict)",
                        f"{name}: first_version_with_ft_wheels {ft_wheels}, ft_wheels_latest_release {row['ft_wheels_latest_release']!r}",
                    )
                else:
                    cp314t = ft_wheels
                    report.add(
                        "derived",
                        f"{name}: cp314t = {ft_wheels} (supported; tracker first saw {first_seen or 'never (' + row['ft_wheels_latest_release'] + ')'})",
                    )

        package = {
            "name": name,
            "imports": candidates[name],
            "has_extension": has_extension,
            "status": status,
        }
        if pure_python_fallback:
            package["pure_python_fallback"] = True
        if cp313t is not None:
            package["cp313t"] = cp313t
        if cp314t is not None:
            package["cp314t"] = cp314t
        if gil_free is not None:
            package["gil_free_since"] = gil_free
        if name in alternatives:
            package["alternative"] = alternatives[name]
        package["source"] = short_source(row["source"])
        package["_rank"] = rank_of(row)
        packages.append(package)

        # Consistency notes worth a look (not changed).
        if status != "supported" and (cp313t not in (None, "none") or cp314t not in (None, "none")):
            report.add(
                "versions on packages that are not 'supported' (kept)",
                f"{name} ({status}): cp313t={cp313t} cp314t={cp314t} gil_free_since={gil_free}",
            )
        if status == "supported" and not first_seen:
            report.add(
                "'supported' but the tracker never saw ft wheels",
                f"{name}: ft_wheels_latest_release {row['ft_wheels_latest_release']!r}",
            )
        if status == "supported" and not any(v not in (None, "none") for v in (cp313t, cp314t, gil_free)):
            report.add("'supported' without any version", name)
    return packages, report


def render(packages: list[dict]) -> str:
    parts = [HEADER]
    for package in packages:
        lines = ["", "[[package]]"]
        for field in FIELD_ORDER:
            if field in package:
                lines.append(f"{field} = {toml_value(package[field])}")
        parts.append("\n".join(lines) + "\n")
    return "".join(parts)


def validate(text: str, packages: list[dict]) -> list[str]:
    errors = []
    data = tomllib.loads(text)
    parsed = data.get("package", [])
    if len(parsed) != len(packages):
        errors.append(f"{len(parsed)} packages parsed, {len(packages)} written")
    names = collections.Counter(p["name"] for p in parsed)
    errors += [f"duplicate name {n}" for n, c in names.items() if c > 1]
    imports = collections.Counter(i for p in parsed for i in p.get("imports", []))
    errors += [f"import {i} claimed {c} times" for i, c in imports.items() if c > 1]
    if [p["name"] for p in parsed] != sorted(names):
        errors.append("packages not sorted by name")
    for p in parsed:
        unknown = set(p) - set(FIELD_ORDER)
        if unknown:
            errors.append(f"{p['name']}: unknown fields {sorted(unknown)}")
        if p["name"] != normalize(p["name"]):
            errors.append(f"{p['name']}: name not normalized")
        if p.get("status") not in STATUSES:
            errors.append(f"{p['name']}: bad status {p.get('status')!r}")
        if not isinstance(p.get("has_extension"), bool):
            errors.append(f"{p['name']}: has_extension not a bool")
        for field in ("cp313t", "cp314t", "gil_free_since"):
            value = p.get(field)
            if value is None:
                continue
            if not (FULL_VERSION_RE.match(value) or (value == "none" and field != "gil_free_since")):
                errors.append(f"{p['name']}: bad {field} {value!r}")
        if "alternative" in p and p["alternative"] not in names:
            errors.append(f"{p['name']}: alternative {p['alternative']} not in the table")
        if not p.get("source"):
            errors.append(f"{p['name']}: empty source")
    return errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "data_dir",
        nargs="?",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help="directory with extensions.csv and import_map.csv (default: ../shared/data from the repository root)",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="default: rules/extensions.toml")
    parser.add_argument(
        "--cp314t-from-pre-314-releases",
        action="store_true",
        help="also copy first_version_with_ft_wheels into cp314t when that release's ft wheels predate 3.14.0b1",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="also list every derived version")
    args = parser.parse_args(argv)

    data_dir = args.data_dir.resolve()
    for file in ("extensions.csv", "import_map.csv"):
        if not (data_dir / file).is_file():
            print(f"build-extensions-table: {data_dir / file} not found", file=sys.stderr)
            return 2

    packages, report = build(data_dir, args.cp314t_from_pre_314_releases)
    text = render([{k: v for k, v in p.items() if not k.startswith("_")} for p in packages])
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")

    errors = validate(args.output.read_text(encoding="utf-8"), packages)
    if errors:
        for error in errors:
            print(f"build-extensions-table: invalid output: {error}", file=sys.stderr)
        return 1

    # --- summary -----------------------------------------------------------------------------
    def show_path(path: Path) -> str:
        try:
            return str(path.resolve().relative_to(REPO_ROOT))
        except ValueError:
            return str(path)

    print(f"wrote {show_path(args.output)}: {len(packages)} packages (from {data_dir})")
    statuses = collections.Counter(p["status"] for p in packages)
    print("status:", ", ".join(f"{s} {statuses[s]}" for s in STATUSES))
    top = [p for p in packages if p["_rank"] <= TOP_N]
    top_status = collections.Counter(p["status"] for p in top)
    print(f"top {TOP_N} binary packages: {len(top)} (" + ", ".join(f"{s} {top_status[s]}" for s in STATUSES) + ")")
    print(f"has_extension: true {sum(p['has_extension'] for p in packages)}, false {sum(not p['has_extension'] for p in packages)}")

    def count(field: str) -> str:
        values = [p[field] for p in packages if field in p]
        nones = sum(v == "none" for v in values)
        return f"{field} {len(values) - nones}" + (f" (+{nones} \"none\")" if nones else "")

    with_versions = sum(
        any(p.get(f) not in (None, "none") for f in ("cp313t", "cp314t", "gil_free_since")) for p in packages
    )
    print(f"with a version: {with_versions} packages; " + ", ".join(count(f) for f in ("cp313t", "cp314t", "gil_free_since")))
    alts = [f"{p['name']} -> {p['alternative']}" for p in packages if "alternative" in p]
    print(f"with an alternative: {len(alts)}" + (f" ({', '.join(alts)})" if alts else ""))
    print(f"without import names: {sum(not p['imports'] for p in packages)}")
    for section, lines in report.sections.items():
        if section == "derived" and not args.verbose:
            print(f"\n{section}: {len(lines)} values (-v lists them)")
            continue
        print(f"\n{section} ({len(lines)}):")
        for line in lines:
            print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
