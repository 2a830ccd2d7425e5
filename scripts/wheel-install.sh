#!/usr/bin/env bash
# Shows that nogil-lint installs as a Python package (pyproject.toml, built by maturin):
#   1. `maturin build --release` makes a wheel, in a throwaway virtual environment;
#   2. the wheel installs into a second, fresh environment, whose `nogil-lint` reports the
#      Cargo.toml version and finds the races in fixtures/example (exit status 1);
#   3. `pip install <this repository>` (PEP 517, maturin fetched by pip as the build backend)
#      works too, as `pipx install` and `uv tool install` do it.
# Exits non-zero if any step does not behave so.
#
# Needs python3 with venv and pip, a Rust toolchain, and the package index. The release build
# takes minutes; set CARGO_TARGET_DIR to reuse a build directory between runs.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() {
    echo "wheel-install: FAIL: $*" >&2
    exit 1
}

expected_version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$repo/Cargo.toml" | head -n 1)
[ -n "$expected_version" ] || fail "no version in Cargo.toml"

echo "== building the wheel"
"$python" -m venv "$work/build"
"$work/build/bin/python" -m pip install --quiet --disable-pip-version-check 'maturin>=1,<2'
"$work/build/bin/maturin" build --release --manifest-path "$repo/Cargo.toml" --out "$work/dist"
wheels=("$work"/dist/nogil_lint-*.whl)
[ -f "${wheels[0]}" ] || fail "maturin made no wheel"
echo "built ${wheels[0]##*/}"

check_installed() {
    local venv=$1
    local binary="$venv/bin/nogil-lint"
    [ -x "$binary" ] || fail "$binary was not installed"
    local version
    version=$("$binary" --version) || fail "$binary --version failed"
    echo "$version"
    [[ $version == *"$expected_version"* ]] || fail "version '$version' is not $expected_version"

    local status=0
    (cd "$repo" && "$binary" check --output-format concise fixtures/example) >"$work/check.out" 2>&1 ||
        status=$?
    cat "$work/check.out"
    [ "$status" -eq 1 ] || fail "check fixtures/example exited $status, expected 1 (findings)"
    grep -q 'app.py:[0-9]*:[0-9]*: NG1' "$work/check.out" || fail "no NG1xx finding in the output"
}

echo "== installing the wheel into a fresh environment"
"$python" -m venv "$work/wheel-env"
"$work/wheel-env/bin/python" -m pip install --quiet --disable-pip-version-check "${wheels[0]}"
check_installed "$work/wheel-env"

echo "== pip install of the source tree (PEP 517 through maturin)"
"$python" -m venv "$work/source-env"
"$work/source-env/bin/python" -m pip install --quiet --disable-pip-version-check "$repo"
check_installed "$work/source-env"

echo "wheel-install: OK"
