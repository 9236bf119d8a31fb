"""A client process on the mcp 1.x line, run by the tests with .venv-mcp1's interpreter.

    .venv-mcp1/bin/python tests/support/mcp1_client.py SCENARIO

sentrial-otel is configured from the environment (``OTEL_EXPORTER_OTLP_ENDPOINT``: the
test's receiver), ``MCPInstrumentor`` and ``LangChainInstrumentor`` are on, and the
scenario's session talks to ``tests/support/mcp_server.py`` launched over stdio with this
same interpreter (so the server is on mcp 1.x too, instrumented). One JSON line on stdout
tells the test what happened: ``{"session_id": ..., "result": ...}``.

Scenarios:
  native-session   a native session calls ``add`` through ``ClientSession.call_tool``
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import sentrial_otel
from sentrial_otel.instrumentation.mcp import MCPInstrumentor

SERVER_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mcp_server.py")


def _server_parameters() -> Any:
    from mcp import StdioServerParameters

    env = {"PATH": os.environ.get("PATH", ""), "PYTHONUNBUFFERED": "1"}
    if "OTEL_EXPORTER_OTLP_ENDPOINT" in os.environ:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"]
    return StdioServerParameters(command=sys.executable, args=[SERVER_SCRIPT, "--instrument"], env=env)


async def _call(name: str, arguments: dict[str, Any]) -> Any:
    from mcp import ClientSession
    from mcp.client.stdio import stdio_client

    async with stdio_client(_server_parameters()) as (read, write):
        async with ClientSession(read, write) as client:
            await client.initialize()
            return await client.call_tool(name, arguments)


def native_session(telemetry: sentrial_otel.Telemetry) -> dict[str, Any]:
    with telemetry.session("calc-agent", user_id="u-1x", convo_id="conv-1x") as session:
        with session.tool("add", {"a": 3, "b": 4}):
            result = asyncio.run(_call("add", {"a": 3, "b": 4}))
    return {"session_id": session.session_id, "result": result.structuredContent}


SCENARIOS = {"native-session": native_session}


def main() -> None:
    scenario = SCENARIOS[sys.argv[1]]
    telemetry = sentrial_otel.configure(fail_silently=False)
    MCPInstrumentor().instrument()
    outcome = scenario(telemetry)
    telemetry.shutdown()
    print(json.dumps(outcome))


if __name__ == "__main__":
    main()
