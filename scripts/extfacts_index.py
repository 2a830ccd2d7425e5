"""Per-target facts from the package index's file lists (used by refresh-extensions.py).

For each ABI (cp313t, cp314t): the first release with a wheel for it on Linux x86_64, the
releases after that lack one, the newest final release and whether it has one; whether a
pure-Python wheel is published; and, from one wheel's zip directory (read with HTTP range
requests, so a 100 MB wheel costs a few kilobytes), the real top-level import names
(`top_level.txt`, else the RECORD paths) and the compiled modules it ships.

Standard library only; run by hand, never by the tests.
"""

from __future__ import annotations

import io
import re
import urllib.request
import zipfile
from dataclasses import dataclass, field

ABIS = ("cp313t", "cp314t")
# Directories some wheels put at the top level by mistake: never an import name users mean.
NOT_IMPORT_NAMES = {"tests", "test", "testing", "docs", "doc", "benchmarks", "examples", "scripts", "bin"}


def wheel_tags(filename: str) -> tuple[set[str], set[str], set[str]] | None:
    """(python tags, ABI tags, platform tags) of a wheel filename."""
    if not filename.endswith(".whl"):
        return None
    parts = filename[:-4].split("-")
    if len(parts) < 5:
        return None
    return set(parts[-3].split(".")), set(parts[-2].split(".")), set(parts[-1].split("."))


def is_linux_x86_64(platforms: set[str]) -> bool:
    # The target platform of the checks: manylinux (glibc) x86_64, the common CI and server one.
    return any(p.endswith("x86_64") and ("manylinux" in p or p == "linux_x86_64") for p in platforms)


def is_pure(filename: str) -> bool:
    """A wheel without compiled code that installs on Linux x86_64 (any platform, or Linux)."""
    tags = wheel_tags(filename)
    return bool(tags) and tags[1] == {"none"} and any(p == "any" for p in tags[2]) or bool(
        tags and tags[1] == {"none"} and is_linux_x86_64(tags[2])
    )


@dataclass
class TargetFacts:
    first: str | None = None  # first release (final if any) with a Linux x86_64 wheel
    first_any_platform: str | None = None  # set when some platform had one earlier
    latest: str | None = None  # newest final release with files
    latest_has_wheels: bool = False
    last_with: str | None = None  # newest release with such a wheel
    last_final_with: str | None = None  # the same among final releases (else last_with)
    releases: list[str] = field(default_factory=list)  # releases >= first with such a wheel
    missing: list[str] = field(default_factory=list)  # final releases after first without
    pure_python: bool = False  # the newest release publishes a pure-Python wheel


def target_facts(by_version: dict[str, list[dict]], parse_version) -> dict[str, TargetFacts]:
    """Facts per ABI; `by_version` maps version text to its non-yanked file entries."""
    versions = [v for v in (parse_version(text) for text in by_version) if v is not None]
    versions.sort(key=lambda v: v.key)
    finals = [v for v in versions if not v.is_pre and by_version[v.text]]
    latest = finals[-1] if finals else None
    pure = bool(latest) and any(is_pure(f["filename"]) for f in by_version[latest.text])
    out = {}
    for abi in ABIS:
        def has(version, linux_only=True):
            for entry in by_version[version.text]:
                tags = wheel_tags(entry["filename"])
                if tags and abi in tags[1] and (not linux_only or is_linux_x86_64(tags[2])):
                    return True
            return False

        having = [v for v in versions if has(v)]
        having_any = [v for v in versions if has(v, linux_only=False)]
        final_having = [v for v in having if not v.is_pre]
        chosen = final_having[0] if final_having else (having[0] if having else None)
        facts = TargetFacts(latest=latest.text if latest else None, pure_python=pure)
        if chosen:
            facts.first = chosen.text
            facts.last_with = having[-1].text
            facts.last_final_with = (final_having or having)[-1].text
            facts.latest_has_wheels = bool(latest) and latest in having
            facts.releases = [v.text for v in having if v.key >= chosen.key]
            facts.missing = [v.text for v in finals if v.key > chosen.key and v not in having]
        if having_any and (not chosen or having_any[0].key < chosen.key):
            facts.first_any_platform = having_any[0].text
        out[abi] = facts
    return out


def listing_wheel(by_version: dict[str, list[dict]], version: str | None) -> dict | None:
    """The wheel of `version` whose directory is read: cp314t, else CPython, else pure, Linux x86_64."""
    if not version:
        return None
    entries = [e for e in by_version.get(version, []) if e["filename"].endswith(".whl")]

    def rank(entry):
        tags = wheel_tags(entry["filename"])
        if not tags:
            return 9
        _, abis, platforms = tags
        if is_pure(entry["filename"]):
            return 3
        if not is_linux_x86_64(platforms):
            return 8
        if "cp314t" in abis:
            return 0
        if "cp314" in abis:
            return 1
        return 2

    ranked = sorted(entries, key=lambda e: (rank(e), e.get("size") or 0))
    return ranked[0] if ranked and rank(ranked[0]) < 8 else None


class RangeFile(io.RawIOBase):
    """A read-only, seekable view of a remote file through HTTP range requests."""

    BLOCK = 1 << 16

    def __init__(self, url: str, size: int, user_agent: str, timeout: float):
        self.url, self.size, self.position = url, size, 0
        self.user_agent, self.timeout = user_agent, timeout
        self.blocks: dict[int, bytes] = {}

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self.position, 2: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def _block(self, number: int) -> bytes:
        if number not in self.blocks:
            start = number * self.BLOCK
            end = min(self.size, start + self.BLOCK) - 1
            request = urllib.request.Request(
                self.url, headers={"Range": f"bytes={start}-{end}", "User-Agent": self.user_agent}
            )
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                self.blocks[number] = response.read()
        return self.blocks[number]

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = self.size - self.position
        out = bytearray()
        while n > 0 and self.position < self.size:
            number, offset = divmod(self.position, self.BLOCK)
            chunk = self._block(number)[offset : offset + n]
            if not chunk:
                break
            out += chunk
            self.position += len(chunk)
            n -= len(chunk)
        return bytes(out)

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


SO_SUFFIX = re.compile(r"(\.cpython-[^.]+|\.abi3|\.cp\d+[^.]*)?\.(so|pyd)$")


def importable_tops(names: list[str]) -> set[str]:
    """Top-level names a wheel's files make importable: a package (a directory with
    `__init__.py`), a module at the root (`.py` or an extension), or a namespace directory
    holding a package (`google/protobuf/__init__.py`)."""
    tops = set()
    for name in names:
        parts = name.split("/")
        if parts[0].endswith((".dist-info", ".data")):
            continue
        if len(parts) == 1:
            if name.endswith(".py"):
                tops.add(name[:-3])
            elif SO_SUFFIX.search(name) and (".cpython-" in name or ".abi3." in name):
                tops.add(SO_SUFFIX.sub("", name))
        elif parts[-1] == "__init__.py" and len(parts) in (2, 3):
            tops.add(parts[0])
    return tops


@dataclass
class WheelContents:
    imports: list[str]
    compiled_modules: list[str]


def wheel_contents(entry: dict, user_agent: str, timeout: float) -> WheelContents:
    """Top-level import names and compiled modules of a wheel, from its zip directory."""
    remote = RangeFile(entry["url"], int(entry["size"]), user_agent, timeout)
    with zipfile.ZipFile(io.BufferedReader(remote, buffer_size=1 << 16)) as archive:
        names = archive.namelist()
        top_level = [n for n in names if n.count("/") == 1 and n.endswith(".dist-info/top_level.txt")]
        listed: set[str] = set()
        if top_level:
            text = archive.read(top_level[0]).decode("utf-8", "replace")
            listed = {line.strip().split("/")[0] for line in text.splitlines() if line.strip()}
        importable = importable_tops(names)
        # top_level.txt can name directories that are no packages (`include`, a plugin
        # directory of another project, an extension's build name): keep what is importable.
        imports = (listed & importable) or importable or listed
        compiled = set()
        for name in names:
            if name.split("/")[0].endswith((".dist-info", ".data")) or not SO_SUFFIX.search(name):
                continue
            if ".libs/" in name or name.split("/")[0].endswith(".libs"):
                continue  # vendored shared libraries (auditwheel), not Python modules
            # mypyc compiles `__init__` too: `black/__init__.cpython-….so` is the module `black`.
            module = SO_SUFFIX.sub("", name).replace("/", ".").removesuffix(".__init__")
            if all(part.isidentifier() for part in module.split(".")):
                compiled.add(module)
    imports = {i for i in imports if i.isidentifier() and i not in NOT_IMPORT_NAMES and i != "__pycache__"}
    return WheelContents(sorted(imports), sorted(compiled))
