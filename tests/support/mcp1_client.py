"""A client process on the mcp 1.x line, run by the tests with .venv-mcp1's interpreter.

    .venv-mcp1/bin/python tests/support/mcp1_client.py SCENARIO

sentrial-otel is configured from the environment (``OTEL_EXPORTER_OTLP_ENDPOINT``: the
test's receiver), ``MCPInstrumentor`` and ``LangChainInstrumentor`` are on, and the
scenario's session talks to ``tests/support/mcp_server.py`` launched over stdio with this
same interpreter (so the server is on mcp 1.x too, instrumented). One JSON line on stdout
tells the test what happened: ``{"session_id": ..., "result": ...}``.

Scenarios:
  native-session   a native session calls ``add`` through ``ClientSession.call_tool``
  plain-server     the same against the server without our instrumentation
  langchain-agent  a LangChain ``create_agent`` agent in a native session, its tools from
                   langchain-mcp-adapters' ``MultiServerMCPClient``, driven by a scripted
                   chat model that calls ``add`` once, then answers
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import sentrial_otel
from sentrial_otel.instrumentation.mcp import MCPInstrumentor

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER_SCRIPT = os.path.join(HERE, "mcp_server.py")
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))  # the checkout: tests.langchain.fakes


def _server_environment() -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONUNBUFFERED": "1"}
    if "OTEL_EXPORTER_OTLP_ENDPOINT" in os.environ:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"]
    return env


def _server_parameters(instrument: bool = True) -> Any:
    from mcp import StdioServerParameters

    arguments = [SERVER_SCRIPT, "--instrument"] if instrument else [SERVER_SCRIPT]
    return StdioServerParameters(command=sys.executable, args=arguments, env=_server_environment())


async def _call(name: str, arguments: dict[str, Any], instrumented_server: bool = True) -> Any:
    from mcp import ClientSession
    from mcp.client.stdio import stdio_client

    async with stdio_client(_server_parameters(instrumented_server)) as (read, write):
        async with ClientSession(read, write) as client:
            await client.initialize()
            return await client.call_tool(name, arguments)


def native_session(telemetry: sentrial_otel.Telemetry, instrumented_server: bool = True) -> dict[str, Any]:
    with telemetry.session("calc-agent", user_id="u-1x", convo_id="conv-1x") as session:
        result = asyncio.run(_call("add", {"a": 3, "b": 4}, instrumented_server))
    return {"session_id": session.session_id, "result": result.structuredContent}


def plain_server(telemetry: sentrial_otel.Telemetry) -> dict[str, Any]:
    return native_session(telemetry, instrumented_server=False)


async def _run_agent() -> Any:
    from langchain.agents import create_agent
    from langchain_mcp_adapters.client import MultiServerMCPClient

    from tests.langchain.fakes import ScriptedChatModel, answer_message, tool_call_message

    client = MultiServerMCPClient(
        {
            "calculator": {
                "transport": "stdio",
                "command": sys.executable,
                "args": [SERVER_SCRIPT, "--instrument"],
                "env": _server_environment(),
            }
        }
    )
    tools = await client.get_tools()
    model = ScriptedChatModel(
        [tool_call_message("add", {"a": 2, "b": 3}, "call_1", (50, 10)), answer_message("5", (60, 5))]
    )
    agent = create_agent(model, tools, name="calculator")
    return await agent.ainvoke({"messages": [{"role": "user", "content": "what is 2 + 3?"}]})


def langchain_agent(telemetry: sentrial_otel.Telemetry) -> dict[str, Any]:
    from sentrial_otel.instrumentation.langchain import LangChainInstrumentor

    LangChainInstrumentor().instrument()
    with telemetry.session("calc-agent", user_id="u-lc", convo_id="conv-lc") as session:
        state = asyncio.run(_run_agent())
    return {"session_id": session.session_id, "result": state["messages"][-1].content}


SCENARIOS = {
    "native-session": native_session,
    "plain-server": plain_server,
    "langchain-agent": langchain_agent,
}


def main() -> None:
    scenario = SCENARIOS[sys.argv[1]]
    telemetry = sentrial_otel.configure(fail_silently=False)
    MCPInstrumentor().instrument()
    outcome = scenario(telemetry)
    telemetry.shutdown()
    print(json.dumps(outcome))


if __name__ == "__main__":
    main()
