#!/usr/bin/env python3
"""Re-check a sample of rules/extensions.toml on a free-threaded interpreter, independently of
scripts/refresh-extensions.py (which it shares no code with).

Usage:
    scripts/recheck-extensions-sample.py PYTHON3.14t NAME... [--json OUT]

For each distribution: a fresh venv of PYTHON (no --target directory, no shared venv), then
`pip install --only-binary :all: NAME` as a user would (pip picks the release and the wheel);
the installed wheel's tags come from its WHEEL file, the compiled modules from
importlib.metadata's file list, and each compiled module is imported in its own fresh
interpreter, reading sys._is_gil_enabled() afterwards (so no module hides another).  The
observations are compared with the table's 3.14t facts:

  * installs / wheel tag: a cp314t wheel when the table says the newest release has one; a
    pure-Python wheel when it says only that is installable; no install when it says neither;
  * GIL: the modules that turned the GIL on, against gil / gil_enabled_by;
  * import names: the top-level names of the installed files, against `imports`.

Each entry is printed as OK or WRONG with the differences.  Needs network access to the package
index; run by hand only.  Python 3.11+, standard library only.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

TABLE = Path(__file__).resolve().parent.parent / "rules" / "extensions.toml"

INSPECT = r"""
# mypyc compiles a package's __init__ too: `black/__init__.cpython-314t-….so` is `black`.
import importlib.metadata as md, json, sys
dist = md.distribution(sys.argv[1])
files = [str(f) for f in (dist.files or [])]
wheel = dist.read_text("WHEEL") or ""
tags = [line.split(":", 1)[1].strip() for line in wheel.splitlines() if line.startswith("Tag:")]
compiled = sorted({
    f[: -len(".so")].split(".")[0].replace("/", ".").removesuffix(".__init__")
    for f in files if f.endswith(".so") and ".libs/" not in f
})
tops = sorted({f.split("/")[0].removesuffix(".py") for f in files
               if not f.split("/")[0].endswith((".dist-info", ".data")) and not f.startswith("..")
               and (("/" in f) or f.endswith(".py") or f.endswith(".so"))})
tops = sorted({t.split(".")[0] for t in tops if t.split(".")[0].isidentifier()})
print(json.dumps({"version": dist.version, "tags": tags, "compiled": compiled, "tops": tops}))
"""

ONE_IMPORT = "import importlib, sys; importlib.import_module(sys.argv[1]); print(sys._is_gil_enabled())"


def observe(python: str, name: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="recheck-") as root:
        venv = Path(root) / "venv"
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        py = str(venv / "bin" / "python")
        install = subprocess.run(
            [py, "-m", "pip", "install", "-q", "--only-binary", ":all:", name],
            capture_output=True, text=True, timeout=1200,
        )
        if install.returncode != 0:
            return {"installed": False}
        info = json.loads(subprocess.run([py, "-c", INSPECT, name], capture_output=True, text=True,
                                         check=True).stdout)
        enabled, failed = [], []
        # The top-level packages too: `import h3` loads its compiled modules itself.
        for module in info["tops"] + [m for m in info["compiled"] if m not in info["tops"]]:
            run = subprocess.run([py, "-c", ONE_IMPORT, module], capture_output=True, text=True,
                                 timeout=300, cwd=root)
            if run.returncode != 0:
                failed.append(module)
            elif run.stdout.strip().endswith("True"):
                enabled.append(module)
        info.update(installed=True, enabled=enabled, failed=failed)
        return info


def compare(entry: dict, seen: dict) -> list[str]:
    facts = entry.get("py314t") or {}
    wrong = []
    wheels = bool(facts.get("first")) and facts.get("latest_has_wheels")
    pure = facts.get("pure_python", False)
    if not seen["installed"]:
        if wheels or pure:
            wrong.append("table says installable as a binary wheel, pip could not install one")
        return wrong
    abi_t = any("cp314t" in tag for tag in seen["tags"])
    is_pure = all("-none-" in tag for tag in seen["tags"])
    if wheels and not abi_t:
        wrong.append(f"table says cp314t wheels, pip installed {seen['tags']}")
    if not facts.get("first") and not pure and (abi_t or is_pure):
        wrong.append(f"table says no free-threaded or pure wheel, pip installed {seen['tags']}")
    if not wheels and abi_t and seen["version"] == facts.get("latest"):
        wrong.append("table says the newest release lacks cp314t wheels, pip installed one")
    if abi_t and seen["version"] not in facts.get("releases", []):
        wrong.append(f"pip installed cp314t wheels of {seen['version']}, not in the table's releases")
    gil = facts.get("gil")
    tried = set(seen["tops"]) | set(seen["compiled"])
    expected = set(facts.get("gil_enabled_by", [])) & tried
    checked_version = (facts.get("import_check") or "").split(", ")[-2:-1]
    same_release = checked_version == [f"{entry['name']} {seen['version']}"]
    if gil in ("disabled", "enabled") and same_release:
        if set(seen["enabled"]) != expected:
            wrong.append(f"GIL re-enabled by {sorted(seen['enabled'])}, table says {sorted(expected)}")
    missing = [i for i in entry.get("imports", []) if i not in seen["tops"]]
    if missing:
        wrong.append(f"import names {missing} not installed (installed: {seen['tops']})")
    return wrong


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("python")
    parser.add_argument("names", nargs="+")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    table = {p["name"]: p for p in tomllib.loads(TABLE.read_text())["package"]}
    results, wrong_count = {}, 0
    for name in args.names:
        entry = table[name]
        seen = observe(args.python, name)
        wrong = compare(entry, seen)
        wrong_count += bool(wrong)
        results[name] = {"seen": seen, "wrong": wrong}
        facts = entry.get("py314t") or {}
        summary = (f"{seen.get('version', '-')} tags={','.join(seen.get('tags', [])) or '-'} "
                   f"compiled={len(seen.get('compiled', []))} gil_on_by={seen.get('enabled', [])} "
                   f"import_failed={seen.get('failed', [])}")
        print(f"{'WRONG' if wrong else 'OK   '} {name}: table first={facts.get('first')} "
              f"gil={facts.get('gil')} | pip: {summary}", flush=True)
        for line in wrong:
            print(f"      {line}")
    print(f"{len(args.names)} entries re-checked, {wrong_count} wrong")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 1 if wrong_count else 0


if __name__ == "__main__":
    sys.exit(main())
