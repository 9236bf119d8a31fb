"""Agents in subprocesses, configured by environment only, as a user's program would be."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")

# Completes argv[1] sessions (their spans are queued), leaves argv[2] open, prints the time
# and returns: what happens next is the exit (tests/test_exit_budget.py, bench_lifecycle).
EXIT_AGENT = """
import json, sys, time
import sentrial
completed, still_open = int(sys.argv[1]), int(sys.argv[2])
client = sentrial.SentrialClient()
for i in range(completed):
    sid = client.create_session(name="done", agent_name="agent", user_id="u")
    client.track_tool_call(sid, "tool", {"i": i}, {"ok": True})
    client.complete_session(sid)
for i in range(still_open):
    client.create_session(name="open", agent_name="agent", user_id="u")
print(json.dumps({"leaving_at": time.time()}), flush=True)
"""


def agent_env(endpoint: str | None, home: Path, **extra: str) -> dict[str, str]:
    """This process's environment without OTEL_*/SENTRIAL_*, sending to ``endpoint``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SENTRIAL_"))}
    env.update(PYTHONPATH=SRC, SENTRIAL_HOME=str(home), **extra)
    if endpoint is not None:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint
    return env


def write_script(directory: Path, code: str, name: str = "agent.py") -> Path:
    """A script file (spawn and forkserver children import their parent's main module)."""
    path = directory / name
    path.write_text(textwrap.dedent(code))
    return path


def start_agent(script: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(script), *args], env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
