"""MCP servers for tests, as real child processes (``tests/support/mcp_server.py``).

* :func:`stdio_server` gives the ``StdioServerParameters`` with which an MCP client launches
  the server itself, over its stdin/stdout (the client owns that process and ends it).
* :func:`http_server` starts it on streamable HTTP at ``127.0.0.1:<free port>/mcp`` and
  stops it (SIGINT, the way uvicorn stops gracefully, then SIGKILL after a bound).

Either way the server's spans go over OTLP/HTTP to ``otlp_endpoint`` (a test's
``OtlpReceiver.endpoint``), and ``instrument`` says whether it runs our ``MCPInstrumentor``.
``python`` picks the interpreter, hence the SDK line: the main venv has mcp 2.x,
.venv-mcp1 has mcp 1.x (``tests.support.extra_venvs``).
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

from tests.support.server_process import ServerProcess, free_port

SERVER_SCRIPT = Path(__file__).with_name("mcp_server.py")
SERVER_SERVICE_NAME = "mcp-test-server"


def _arguments(instrument: bool) -> list[str]:
    return [str(SERVER_SCRIPT), *(["--instrument"] if instrument else [])]


def _environment(otlp_endpoint: str | None) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONUNBUFFERED": "1"}
    if otlp_endpoint:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp_endpoint
    return env


def stdio_server(
    *, otlp_endpoint: str | None, instrument: bool, python: str = sys.executable
) -> Any:
    """``StdioServerParameters`` for the test server (import deferred: mcp may be absent)."""
    from mcp import StdioServerParameters

    return StdioServerParameters(
        command=python, args=_arguments(instrument), env=_environment(otlp_endpoint)
    )


def http_server(
    workdir: Path, *, otlp_endpoint: str | None, instrument: bool, python: str = sys.executable
) -> ServerProcess:
    """The test server on streamable HTTP (not started: use it as a context manager);
    its client URL is ``server.url + "/mcp"``."""
    port = free_port()
    return ServerProcess(
        [python, *_arguments(instrument), "--http", str(port)],
        port=port,
        workdir=workdir,
        env=_environment(otlp_endpoint),
        stop_signal=signal.SIGINT,
        name="mcp-server",
    )
