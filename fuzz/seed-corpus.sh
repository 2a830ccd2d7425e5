#!/usr/bin/env bash
# Builds the fuzzers' starting corpora from the repository's fixtures (run from anywhere).
# The corpora are generated, not kept in git: the fixtures are the source of truth, and the
# fuzzer adds its own finds to the same directories.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
fixtures="$here/../fixtures"
corpus="$here/corpus"

mkdir -p "$corpus/pipeline" "$corpus/extension_source" "$corpus/requirements" "$corpus/project"

# pipeline: every Python fixture as it is (named by content, so rerunning adds nothing twice).
find "$fixtures" -type f \( -name '*.py' -o -name '*.pyi' \) -print0 |
    while IFS= read -r -d '' file; do
        cp "$file" "$corpus/pipeline/$(sha1sum "$file" | cut -c1-40)"
    done

# extension_source and requirements: the first byte picks the file name (see the targets).
seed() { # target selector file
    local out
    out="$(mktemp)"
    printf "\\x$(printf %02x "$2")" >"$out"
    cat "$3" >>"$out"
    mv "$out" "$corpus/$1/$(sha1sum "$out" | cut -c1-40)"
}
for file in "$fixtures"/extensions/*.c "$fixtures"/extensions/**/*.c; do [ -f "$file" ] && seed extension_source 0 "$file"; done
for file in "$fixtures"/extensions/*.cpp; do seed extension_source 1 "$file"; done
for file in "$fixtures"/extensions/*.pyx "$fixtures"/extensions/*/*.pyx; do seed extension_source 2 "$file"; done
for file in "$fixtures"/extensions/rust/src/*.rs; do seed extension_source 3 "$file"; done
seed extension_source 4 "$fixtures/extensions/CMakeLists.txt"
for file in "$fixtures"/requirements/requirements*.txt; do seed requirements 0 "$file"; done
seed requirements 1 "$fixtures/requirements/pyproject.toml"

# project: the fixture project's modules, joined at `#%%` lines in the target's file order.
{
    for module in __init__ jobs main sync compute; do
        sed "s/\bapp\b/pkg/g" "$fixtures/project/src/app/$module.py"
        printf '\n#%%%%\n'
    done
    cat "$fixtures/requirements/pyproject.toml"
} >"$corpus/project/fixture-project"

for target in pipeline extension_source requirements project; do
    echo "$target: $(find "$corpus/$target" -type f | wc -l) seeds"
done
