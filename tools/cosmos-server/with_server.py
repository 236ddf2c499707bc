"""Run a command with the local Cosmos DB protocol server up: `with_server.py -- CMD ...`.

Starts `node serve.js 0` (a free loopback port), hands the command its endpoint as
COSMOS_TEST_ENDPOINT with REQUIRE_COSMOS=1 (so Cosmos tests fail rather than skip if it is
unreachable), stops the server whatever the command's outcome, and exits with its status.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
START_TIMEOUT_SECONDS = 30.0


def start_server() -> tuple[subprocess.Popen[str], int]:
    # node from PATH, as npm is: the Makefile installs the package with it.
    server = subprocess.Popen(  # noqa: S603
        ["node", str(HERE / "serve.js"), "0"],  # noqa: S607
        cwd=HERE,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = server.stdout
    assert output is not None
    first_line: list[str] = []
    reader = threading.Thread(target=lambda: first_line.append(output.readline()))
    reader.start()
    reader.join(START_TIMEOUT_SECONDS)
    ready = re.fullmatch(r"listening on (\d+)\n", first_line[0]) if first_line else None
    if ready is None:
        server.kill()
        rest = server.communicate(timeout=5)[0]
        raise SystemExit(f"the Cosmos server did not start: {first_line} {rest}")
    # Keep draining its output so it never blocks on a full pipe.
    threading.Thread(target=output.read, daemon=True).start()
    return server, int(ready.group(1))


def main(argv: list[str]) -> int:
    command = argv[1:] if argv[:1] == ["--"] else argv
    if not command:
        raise SystemExit("usage: with_server.py -- COMMAND [ARGS...]")
    server, port = start_server()
    print(f"Cosmos DB protocol server on https://127.0.0.1:{port}", flush=True)
    try:
        env = {
            **os.environ,
            "COSMOS_TEST_ENDPOINT": f"https://127.0.0.1:{port}",
            "REQUIRE_COSMOS": "1",
        }
        return subprocess.run(command, env=env, check=False).returncode  # noqa: S603 (ours)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
