#!/usr/bin/env python3
"""Latency of `nogil-lint server`: from a `didChange` to the `publishDiagnostics` for it.

A benchmark, not a test: never run by CI or `cargo test`. Standard library only.

Usage: scripts/server-latency.py [ROOT] [MODULE] [EDITS]
  ROOT    workspace folder     (default: /work/corpora/sympy-src)
  MODULE  file under ROOT      (default: sympy/sets/fancysets.py)
  EDITS   measured edits       (default: 40)

Environment: NOGIL_LINT, the executable (default: <repo>/target/release/nogil-lint).

The server loads the workspace (every module checked once), the module is opened, then each
edit types one character into a comment at the end of the module as an incremental change,
as an editor sends a keystroke, and waits for the diagnostics of that version. The time
includes the server's 25 ms debounce, the re-check of the module, the link of the whole
project and the conversion of the diagnostics.
"""

import json
import os
import pathlib
import statistics
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parent.parent


def main() -> None:
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "/work/corpora/sympy-src").resolve()
    module = root / (sys.argv[2] if len(sys.argv) > 2 else "sympy/sets/fancysets.py")
    edits = int(sys.argv[3]) if len(sys.argv) > 3 else 40
    binary = os.environ.get("NOGIL_LINT", str(REPO / "target/release/nogil-lint"))
    server = subprocess.Popen(
        [binary, "server"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )

    def send(message: dict) -> None:
        body = json.dumps(message).encode()
        server.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        server.stdin.flush()

    def receive() -> dict:
        length = 0
        while (line := server.stdout.readline().strip()) != b"":
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return json.loads(server.stdout.read(length))

    def wait_for(accept) -> dict:
        while True:
            message = receive()
            if message.get("method") == "window/logMessage" and os.environ.get("VERBOSE", "1") != "0":
                print("server:", message["params"]["message"], file=sys.stderr)
            if accept(message):
                return message

    started = time.perf_counter()
    send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "processId": None, "rootUri": root.as_uri(), "capabilities": {}}})
    wait_for(lambda m: m.get("id") == 1)
    send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    wait_for(lambda m: m.get("method") == "window/logMessage")
    print(f"workspace loaded in {time.perf_counter() - started:.2f} s", file=sys.stderr)

    uri = module.as_uri()
    text = module.read_text() + "# typing:"
    lines = text.split("\n")
    last_line, column = len(lines) - 1, len(lines[-1])
    send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": uri, "languageId": "python", "version": 1, "text": text}}})
    opened = wait_for(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                      and m["params"]["uri"] == uri)
    print(f"{module.relative_to(root)}: {len(lines)} lines, "
          f"{len(opened['params']['diagnostics'])} diagnostics", file=sys.stderr)

    timings = []
    for edit in range(edits):
        version = edit + 2
        position = {"line": last_line, "character": column + edit}
        sent = time.perf_counter()
        send({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
            "textDocument": {"uri": uri, "version": version},
            "contentChanges": [{"range": {"start": position, "end": position}, "text": "x"}]}})
        wait_for(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                 and m["params"]["uri"] == uri and m["params"].get("version") == version)
        timings.append((time.perf_counter() - sent) * 1000)
        # An editor's keystrokes are apart; so are these, past the debounce.
        time.sleep(0.05)

    send({"jsonrpc": "2.0", "id": 2, "method": "shutdown", "params": None})
    wait_for(lambda m: m.get("id") == 2)
    send({"jsonrpc": "2.0", "method": "exit", "params": None})
    server.wait(timeout=30)
    timings.sort()
    print(f"change -> diagnostics over {edits} edits: median {statistics.median(timings):.1f} ms, "
          f"p90 {timings[int(len(timings) * 0.9)]:.1f} ms, max {timings[-1]:.1f} ms "
          f"(debounce 25 ms included)")


if __name__ == "__main__":
    main()
