"""Agents in subprocesses, configured by environment only, as a user's program would be."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")


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
