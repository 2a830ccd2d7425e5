#!/usr/bin/env python3
"""Draw a stratified sample of findings for a precision review.

Runs nogil-lint over each tree given, and picks at most PER_CODE findings per rule code
(seeded, so the same trees and seed give the same sample). The sample is written as Markdown
for a reviewer who reads the code but not the rule documentation: each item gives the file,
the line, the code, the severity and the message, and leaves room for a verdict
(real hazard / real but harmless / false).

This is a measuring tool, not a test: CI never runs it.

usage: scripts/precision-sample.py [--nogil-lint BIN] [--per-code N] [--seed S]
                                   [--min-severity LEVEL] [--json OUT.json] TREE...
"""

import argparse
import json
import os
import random
import subprocess
import sys
from collections import defaultdict


def findings(binary, tree, extra):
    command = [binary, "check", "--exit-zero", "--output-format", "json", *extra, tree]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode not in (0, 1):
        sys.exit(f"precision-sample: {' '.join(command)} failed:\n{result.stderr}")
    try:
        return json.loads(result.stdout or "[]")
    except json.JSONDecodeError as error:
        sys.exit(f"precision-sample: {tree}: not JSON ({error})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--nogil-lint", default=os.path.join(here, "target/release/nogil-lint"))
    parser.add_argument("--per-code", type=int, default=7)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--min-severity", default=None, help="passed to nogil-lint when set")
    parser.add_argument("--json", help="also write the sample as JSON")
    parser.add_argument("trees", nargs="+")
    args = parser.parse_args()

    extra = ["--min-severity", args.min_severity] if args.min_severity else []
    by_code = defaultdict(list)
    for tree in args.trees:
        for item in findings(args.nogil_lint, tree, extra):
            if item.get("code"):
                by_code[item["code"]].append(item)

    rng = random.Random(args.seed)
    sample = []
    for code in sorted(by_code):
        items = sorted(
            by_code[code],
            key=lambda i: (i["filename"], i["location"]["row"], i["location"]["column"]),
        )
        sample.extend(rng.sample(items, min(args.per_code, len(items))))

    print("# Findings to review\n")
    print("Totals by code: " + ", ".join(f"{c} {len(v)}" for c, v in sorted(by_code.items())))
    print()
    for number, item in enumerate(sample, 1):
        row, column = item["location"]["row"], item["location"]["column"]
        print(f"## {number}. {item['code']} ({item.get('severity', '?')}) "
              f"{item['filename']}:{row}:{column}\n")
        print(item["message"] + "\n")
        print("Verdict: \n")
    if args.json:
        with open(args.json, "w") as out:
            json.dump(sample, out, indent=1)


if __name__ == "__main__":
    main()
