"""A tool served by another process shows up under the calling session: the server's spans
join the session's trace and carry its attributes, over stdio and streamable HTTP, with the
real MCP SDK (2.x here) on both sides; and a peer without our instrumentation keeps working.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

import sentrial_otel
from sentrial_otel import semconv as sc
from sentrial_otel._internal.spans.ids import trace_id_for
from sentrial_otel.instrumentation.mcp._carrier import SESSION_META_KEY
from tests.support.extra_venvs import venv_python
from tests.support.mcp_processes import SERVER_SERVICE_NAME, http_server, stdio_server
from tests.support.otlp_receiver import OtlpReceiver, SpanRecord

pytestmark = pytest.mark.slow

MCP1_CLIENT = Path(__file__).parents[1] / "support" / "mcp1_client.py"


def server_spans(rx: OtlpReceiver, *names: str, timeout: float = 30.0) -> dict[str, SpanRecord]:
    """The test server's spans with these names, waiting until each has arrived."""
    deadline = time.monotonic() + timeout
    while True:
        found = {
            span.name: span
            for span in rx.spans()
            if span.resource.get("service.name") == SERVER_SERVICE_NAME and span.name in names
        }
        if len(found) == len(names) or time.monotonic() > deadline:
            missing = set(names) - set(found)
            assert not missing, f"server spans {missing} never arrived; got {[s.name for s in rx.spans()]}"
            return found
        time.sleep(0.05)


async def call_tool(server: Any, name: str, arguments: dict[str, Any]) -> Any:
    from mcp import Client

    async with Client(server) as client:
        return await client.call_tool(name, arguments)


@pytest.fixture
def telemetry() -> sentrial_otel.Telemetry:
    return sentrial_otel.configure(fail_silently=False)


def test_stdio_server_spans_join_the_session_and_carry_its_attributes(
    telemetry, spans, otlp_receiver, mcp_instrumented
):
    server = stdio_server(otlp_endpoint=otlp_receiver.endpoint, instrument=True)
    with telemetry.session("calc-agent", user_id="u-7", convo_id="conv-7") as session:
        result = asyncio.run(call_tool(server, "add", {"a": 1, "b": 2}))
    assert result.is_error is False
    assert result.structured_content == {"result": 3}

    served = server_spans(otlp_receiver, "tools/call add", "add.compute")
    handling, inner = served["tools/call add"], served["add.compute"]
    session_trace = f"{trace_id_for(session.session_id):032x}"
    assert handling.trace_id == inner.trace_id == session_trace
    assert handling.kind == "SERVER"
    assert inner.parent_span_id == handling.span_id
    # The server span's parent is the SDK's client span, a child of our tool span.
    sdk_client = spans.one("MCP send tools/call add")
    tool = spans.one("execute_tool add")
    assert sdk_client.parent.span_id == tool.context.span_id
    assert handling.parent_span_id == f"{sdk_client.context.span_id:016x}"
    for span in (handling, inner):
        assert span.attributes[sc.SENTRIAL_SESSION_ID] == session.session_id
        assert span.attributes[sc.USER_ID] == "u-7"
        assert span.attributes[sc.GEN_AI_CONVERSATION_ID] == "conv-7"
        assert span.attributes[sc.SESSION_ID] == "conv-7"


def test_streamable_http_server_joins_the_session(
    telemetry, spans, otlp_receiver, mcp_instrumented, tmp_path
):
    with http_server(tmp_path, otlp_endpoint=otlp_receiver.endpoint, instrument=True) as server:
        with telemetry.session("calc-agent", user_id="u-8") as session:
            result = asyncio.run(call_tool(server.url + "/mcp", "add", {"a": 2, "b": 5}))
        served = server_spans(otlp_receiver, "tools/call add", "add.compute")
    assert result.structured_content == {"result": 7}
    session_trace = f"{trace_id_for(session.session_id):032x}"
    for span in served.values():
        assert span.trace_id == session_trace
        assert span.attributes[sc.SENTRIAL_SESSION_ID] == session.session_id
        assert span.attributes[sc.USER_ID] == "u-8"
        assert sc.GEN_AI_CONVERSATION_ID not in span.attributes  # none given, none made up


def test_streamable_http_requests_carry_the_trace_context_as_headers_too(
    telemetry, spans, mcp_instrumented, tmp_path
):
    """For what traces the HTTP hop (a gateway, the server's ASGI instrumentation)."""
    with http_server(tmp_path, otlp_endpoint=None, instrument=False) as server:
        with telemetry.session("calc-agent") as session:
            result = asyncio.run(call_tool(server.url + "/mcp", "request_traceparent", {}))
    header = result.structured_content["result"]
    _, trace_hex, parent_hex, _ = header.split("-")
    assert trace_hex == f"{trace_id_for(session.session_id):032x}"
    assert parent_hex == f"{spans.one('execute_tool request_traceparent').context.span_id:016x}"


def test_server_without_our_instrumentation_serves_an_instrumented_client(
    telemetry, spans, otlp_receiver, mcp_instrumented
):
    server = stdio_server(otlp_endpoint=otlp_receiver.endpoint, instrument=False)
    with telemetry.session("calc-agent", user_id="u-9") as session:
        result = asyncio.run(call_tool(server, "divide", {"a": 1, "b": 4}))
    assert result.structured_content == {"result": 0.25}
    # mcp 2.x still joins the trace by itself; the session's attributes are ours to add.
    handling = server_spans(otlp_receiver, "tools/call divide")["tools/call divide"]
    assert handling.trace_id == f"{trace_id_for(session.session_id):032x}"
    assert sc.SENTRIAL_SESSION_ID not in handling.attributes


def test_uninstrumented_client_is_served_as_before(telemetry, spans, otlp_receiver):
    server = stdio_server(otlp_endpoint=otlp_receiver.endpoint, instrument=True)
    with telemetry.session("calc-agent", user_id="u-10"):
        result = asyncio.run(call_tool(server, "add", {"a": 20, "b": 22}))
    assert result.structured_content == {"result": 42}
    handling = server_spans(otlp_receiver, "tools/call add")["tools/call add"]
    assert sc.SENTRIAL_SESSION_ID not in handling.attributes


def test_a_failing_tool_is_an_error_on_the_server_span(
    telemetry, spans, otlp_receiver, mcp_instrumented
):
    server = stdio_server(otlp_endpoint=otlp_receiver.endpoint, instrument=True)
    with telemetry.session("calc-agent") as session:
        result = asyncio.run(call_tool(server, "divide", {"a": 1, "b": 0}))
    assert result.is_error is True
    handling = server_spans(otlp_receiver, "tools/call divide")["tools/call divide"]
    assert handling.status_code == "ERROR"
    assert handling.attributes[sc.ERROR_TYPE] == sc.ERROR_TYPE_MCP_TOOL_ERROR
    assert handling.attributes[sc.SENTRIAL_SESSION_ID] == session.session_id


def test_the_session_key_is_namespaced_and_leaves_callers_meta_alone(telemetry, mcp_instrumented):
    from sentrial_otel.instrumentation.mcp._carrier import outgoing_meta

    with telemetry.session("calc-agent", user_id="u-1") as session:
        with session.tool("add", {}):
            meta = outgoing_meta({"progressToken": 5, SESSION_META_KEY: "theirs"}, trace_context=True)
    assert meta["progressToken"] == 5
    assert meta[SESSION_META_KEY] == "theirs"  # the caller's keys win
    assert meta["traceparent"].split("-")[1] == f"{trace_id_for(session.session_id):032x}"


def run_mcp1_scenario(scenario: str, otlp_receiver: OtlpReceiver) -> dict[str, Any]:
    """Run a scenario of tests/support/mcp1_client.py in .venv-mcp1; its JSON outcome."""
    python = venv_python("mcp1")
    done = subprocess.run(
        [python, str(MCP1_CLIENT), scenario],
        env={**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_receiver.endpoint},
        capture_output=True, text=True, timeout=180, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_mcp_1x_client_and_server_join_the_session(otlp_receiver, tmp_path):
    """The 1.x line (langchain-mcp-adapters' line) has no OpenTelemetry of its own: our
    client carries the trace context and our server gives ``tools/call`` its span."""
    outcome = run_mcp1_scenario("native-session", otlp_receiver)
    assert outcome["result"] == {"result": 7}
    served = server_spans(otlp_receiver, "tools/call add", "add.compute")
    handling = served["tools/call add"]
    tool = next(s for s in otlp_receiver.spans() if s.name == "execute_tool add")
    assert handling.kind == "SERVER"
    assert tool.attributes[sc.GEN_AI_TOOL_TYPE] == "extension"
    assert handling.trace_id == tool.trace_id == f"{trace_id_for(outcome['session_id']):032x}"
    assert handling.parent_span_id == tool.span_id
    assert handling.attributes[sc.MCP_METHOD_NAME] == "tools/call"
    assert handling.attributes[sc.GEN_AI_OPERATION_NAME] == "execute_tool"
    assert handling.attributes[sc.GEN_AI_TOOL_NAME] == "add"
    for span in served.values():
        assert span.attributes[sc.SENTRIAL_SESSION_ID] == outcome["session_id"]
        assert span.attributes[sc.USER_ID] == "u-1x"
        assert span.attributes[sc.GEN_AI_CONVERSATION_ID] == "conv-1x"


def test_mcp_1x_server_without_our_instrumentation_serves_an_instrumented_client(otlp_receiver):
    """Our ``_meta`` keys (trace context, session) are extra keys a 1.x server ignores."""
    outcome = run_mcp1_scenario("plain-server", otlp_receiver)
    assert outcome["result"] == {"result": 7}
    names = [s.name for s in otlp_receiver.wait_for_spans(2)]
    assert "execute_tool add" in names
    assert "tools/call add" not in names  # mcp 1.x traces nothing by itself


def test_langchain_mcp_adapters_tools_in_an_agent_join_the_session(otlp_receiver):
    """langchain-mcp-adapters (mcp 1.x) tools in a ``create_agent`` agent: one tool span per
    call (LangChain's), and the server's span under it, in the session's trace."""
    outcome = run_mcp1_scenario("langchain-agent", otlp_receiver)
    assert outcome["result"] == "5"
    served = server_spans(otlp_receiver, "tools/call add", "add.compute")
    ours = [s for s in otlp_receiver.spans() if s.resource.get("service.name") != SERVER_SERVICE_NAME]
    tools = [s for s in ours if s.name == "execute_tool add"]
    assert len(tools) == 1
    session_trace = f"{trace_id_for(outcome['session_id']):032x}"
    assert served["tools/call add"].parent_span_id == tools[0].span_id
    for span in served.values():
        assert span.trace_id == session_trace
        assert span.attributes[sc.SENTRIAL_SESSION_ID] == outcome["session_id"]
        assert span.attributes[sc.USER_ID] == "u-lc"
        assert span.attributes[sc.GEN_AI_CONVERSATION_ID] == "conv-lc"
