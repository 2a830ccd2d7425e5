"""Import check on a free-threaded interpreter (used by refresh-extensions.py).

One venv of the free-threaded interpreter (the one ../shared/toolchains/build-python-ft.sh
builds) provides pip; each distribution is installed, binary wheels only, into its own
directory with `pip install --target`, then every compiled module its RECORD lists is imported
in a fresh interpreter and `sys._is_gil_enabled()` is read after each import.  Turning the GIL
on is sticky, so the module after which it turned on is recorded and a new interpreter goes
on with the remaining modules: each module that re-enables the GIL is named.

Standard library only; run by hand, never by the tests.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

# Runs inside the free-threaded interpreter: imports the given modules in order and prints,
# as JSON, the first module after whose import the GIL was on (or None) and the failures.
PROBE = r"""
import importlib, json, sys, warnings
warnings.simplefilter("ignore")
modules = json.loads(sys.argv[1])
done, failed, culprit = [], {}, None
for name in modules:
    try:
        importlib.import_module(name)
    except BaseException as error:
        failed[name] = f"{type(error).__name__}: {error}"[:200]
        continue
    done.append(name)
    if sys._is_gil_enabled():
        culprit = name
        break
print(json.dumps({"done": done, "failed": failed, "culprit": culprit}))
"""


@dataclass
class ImportResult:
    version: str
    gil: str  # "disabled", "enabled", "install-failed", "import-failed"
    enabled_by: list[str] = field(default_factory=list)
    modules: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    detail: str = ""


def make_venv(python: str, root: Path) -> Path:
    venv = root / "venv"
    if not (venv / "bin" / "python").exists():
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
    return venv


def interpreter_name(venv: Path) -> str:
    out = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import sys; print(sys.version.split()[0])"],
        capture_output=True, text=True, check=True,
    )
    return f"CPython {out.stdout.strip()} free-threading"


def record_modules(target: Path, dist: str) -> list[str]:
    """The compiled modules the installed distribution's RECORD lists."""
    wanted = dist.replace("-", "_").lower()
    modules, tops = [], set()
    for info in target.glob("*.dist-info"):
        if info.name.split("-")[0].lower().replace(".", "_") != wanted:
            continue
        for line in (info / "RECORD").read_text(errors="replace").splitlines():
            path = line.split(",")[0]
            top = path.split("/")[0]
            if "/" in path and not top.endswith((".dist-info", ".data")) and top.isidentifier():
                tops.add(top)
            if not path.endswith(".so") or ".libs/" in path:
                continue
            stem = path[: -len(".so")]
            base, _, rest = stem.rpartition("/")
            name = rest.split(".")[0]
            module = (base.replace("/", ".") + "." if base else "") + name
            if name == "__init__":  # mypyc compiles a package's __init__: the package itself
                module = base.replace("/", ".")
            if all(part.isidentifier() for part in module.split(".")):
                modules.append(module)
    # The top-level packages first: `import h3` imports its compiled modules, `import lxml`
    # does not import `lxml.etree`; a user's import is judged by what it loads.
    tops -= {"tests", "test", "docs"}
    return sorted(tops) + sorted(set(modules) - tops)


def check(venv: Path, dist: str, version: str, scratch: Path, timeout: float = 900) -> ImportResult:
    target = Path(tempfile.mkdtemp(prefix=f"{dist}-", dir=scratch))
    try:
        install = subprocess.run(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
             "--no-compile", "--only-binary", ":all:", "--target", str(target), f"{dist}=={version}"],
            capture_output=True, text=True, timeout=timeout,
        )
        if install.returncode != 0:
            tail = (install.stderr.strip().splitlines() or ["?"])[-1]
            return ImportResult(version, "install-failed", detail=tail[:200])
        modules = record_modules(target, dist)
        result = ImportResult(version, "disabled", modules=len(modules))
        remaining = list(modules)
        environment = dict(os.environ, PYTHONPATH=str(target))
        environment.pop("PYTHON_GIL", None)
        while remaining:
            probe = subprocess.run(
                [str(venv / "bin" / "python"), "-c", PROBE, json.dumps(remaining)],
                capture_output=True, text=True, timeout=timeout, env=environment, cwd=str(target.parent),
            )
            if probe.returncode != 0 or not probe.stdout.strip():
                result.failed[remaining[0]] = (probe.stderr.strip().splitlines() or ["crash"])[-1][:200]
                remaining = remaining[1:]
                continue
            report = json.loads(probe.stdout.strip().splitlines()[-1])
            result.failed.update(report["failed"])
            if report["culprit"] is None:
                break
            result.enabled_by.append(report["culprit"])
            seen = set(report["done"]) | set(report["failed"])
            remaining = [m for m in remaining if m not in seen]
        if result.enabled_by:
            result.gil = "enabled"
        elif modules and len(result.failed) == len(modules):
            result.gil = "import-failed"
        return result
    except subprocess.TimeoutExpired:
        return ImportResult(version, "install-failed", detail="timed out")
    finally:
        shutil.rmtree(target, ignore_errors=True)


if __name__ == "__main__":
    # Manual use: extfacts_import.py PYTHON DIST VERSION
    root = Path(tempfile.mkdtemp())
    venv = make_venv(sys.argv[1], root)
    print(check(venv, sys.argv[2], sys.argv[3], root))
