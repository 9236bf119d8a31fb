"""The client side with the real MCP SDK (2.x) against a real stdio server subprocess: each
``tools/call`` is one tool call of the session, like any other (span, content, errors,
steps, detectors), in a facade session, a native session, or none."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from opentelemetry.trace import SpanKind, StatusCode

import sentrial
import sentrial_otel
from sentrial_otel import semconv as sc
from sentrial_otel.instrumentation.mcp import MCPInstrumentor
from tests.support.listeners import Heard
from tests.support.mcp_processes import stdio_server

pytestmark = pytest.mark.slow


async def call_tools(calls: list[tuple[str, dict[str, Any]]], *, session_api: bool = False) -> list[Any]:
    """Make the calls over one connection to a fresh stdio server (uninstrumented: this file
    is about the client). ``session_api``: through ``ClientSession`` (what
    langchain-mcp-adapters uses) instead of ``mcp.Client``."""
    from mcp import Client

    async with Client(stdio_server(otlp_endpoint=None, instrument=False)) as client:
        target = client.session if session_api else client
        return [await target.call_tool(name, arguments) for name, arguments in calls]


@pytest.fixture
def telemetry() -> sentrial_otel.Telemetry:
    return sentrial_otel.configure(fail_silently=False)


@pytest.mark.parametrize("session_api", [False, True], ids=["Client", "ClientSession"])
def test_a_tool_call_in_a_native_session_is_one_tool_span_and_one_step(
    telemetry, spans, mcp_instrumented, session_api
):
    with telemetry.session("calc-agent", user_id="u-1") as session:
        [result] = asyncio.run(call_tools([("add", {"a": 1, "b": 2})], session_api=session_api))
    assert result.structured_content == {"result": 3}

    root = spans.one("invoke_agent calc-agent")
    tool = spans.one("execute_tool add")
    assert tool.parent.span_id == root.context.span_id
    assert tool.kind is SpanKind.INTERNAL
    assert tool.status.status_code is StatusCode.UNSET
    assert {k: tool.attributes[k] for k in (
        sc.GEN_AI_OPERATION_NAME, sc.GEN_AI_TOOL_NAME, sc.GEN_AI_TOOL_TYPE, sc.GEN_AI_AGENT_NAME,
        sc.MCP_METHOD_NAME, sc.SENTRIAL_SESSION_ID, sc.USER_ID,
    )} == {
        sc.GEN_AI_OPERATION_NAME: "execute_tool", sc.GEN_AI_TOOL_NAME: "add",
        sc.GEN_AI_TOOL_TYPE: "extension", sc.GEN_AI_AGENT_NAME: "calc-agent",
        sc.MCP_METHOD_NAME: "tools/call", sc.SENTRIAL_SESSION_ID: session.session_id, sc.USER_ID: "u-1",
    }
    assert json.loads(tool.attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS]) == {"a": 1, "b": 2}
    assert json.loads(tool.attributes[sc.GEN_AI_TOOL_CALL_RESULT]) == {"result": 3}
    # The SDK's own client span nests under ours (it carries the trace context to the server).
    sdk_span = spans.one("MCP send tools/call add")
    assert sdk_span.parent.span_id == tool.context.span_id
    assert [(step.kind, step.name) for step in session.steps] == [("tool", "add")]


def test_a_tool_call_in_a_facade_session(spans, mcp_instrumented):
    client = sentrial.SentrialClient(fail_silently=False)
    interaction = client.begin(user_id="user_5", event="support", input="1 + 2?", convo_id="conv-5")
    [result] = asyncio.run(call_tools([("add", {"a": 1, "b": 2})]))
    interaction.finish(output=str(result.structured_content["result"]))
    root = spans.one("invoke_agent support")
    tool = spans.one("execute_tool add")
    assert tool.parent.span_id == root.context.span_id
    assert tool.attributes[sc.SENTRIAL_SESSION_ID] == interaction.session_id
    assert tool.attributes[sc.GEN_AI_CONVERSATION_ID] == "conv-5"
    assert tool.attributes[sc.GEN_AI_AGENT_NAME] == "support"


def test_an_iserror_result_is_a_tool_error(telemetry, spans, mcp_instrumented):
    with telemetry.session("calc-agent") as session:
        [result] = asyncio.run(call_tools([("divide", {"a": 1, "b": 0})]))
    assert result.is_error is True  # the caller still gets the server's answer
    tool = spans.one("execute_tool divide")
    assert tool.status.status_code is StatusCode.ERROR
    assert tool.attributes[sc.ERROR_TYPE] == "tool_error"
    assert json.loads(tool.attributes[sc.SENTRIAL_TOOL_ERROR]) == {
        "type": "tool_error", "message": result.content[0].text,
    }
    assert sc.GEN_AI_TOOL_CALL_RESULT not in tool.attributes
    assert [event.name for event in tool.events] == ["exception"]
    assert session.steps[0].error_type == "tool_error"


def test_an_error_response_fails_the_call_and_reaches_the_caller(telemetry, spans, mcp_instrumented):
    from mcp import Client
    from mcp.shared.exceptions import MCPError

    async def reject() -> MCPError:
        async with Client(stdio_server(otlp_endpoint=None, instrument=False)) as client:
            with pytest.raises(MCPError) as raised:  # the SDK's own exception, unchanged
                await client.call_tool("reject", {"reason": "no"})
            return raised.value

    with telemetry.session("calc-agent"):
        error = asyncio.run(reject())
    assert error.error.code == -32602
    tool = spans.one("execute_tool reject")
    assert tool.status.status_code is StatusCode.ERROR
    assert tool.attributes[sc.ERROR_TYPE] == "MCPError"
    assert tool.attributes[sc.RPC_RESPONSE_STATUS_CODE] == "-32602"


def test_the_sessions_step_listeners_hear_every_mcp_call(telemetry, spans, mcp_instrumented):
    """What detectors read: a step per call, equal arguments hashing equal, errors typed."""

    heard = Heard()
    with telemetry.session("calc-agent") as session:
        session.add_step_listener(heard)
        asyncio.run(call_tools([("add", {"a": 1, "b": 1})] * 2 + [("divide", {"a": 1, "b": 0})]))
    assert [(step.kind, step.name, step.error_type) for step in heard.steps[:-1]] == [
        ("tool", "add", None), ("tool", "add", None), ("tool", "divide", "tool_error"),
    ]
    assert heard.steps[0].arguments_hash == heard.steps[1].arguments_hash != heard.steps[2].arguments_hash


def test_outside_a_session_a_tool_span_under_the_current_span(spans, provider, mcp_instrumented):
    with provider.get_tracer("app").start_as_current_span("request") as request:
        asyncio.run(call_tools([("add", {"a": 1, "b": 2})]))
    tool = spans.one("execute_tool add")
    assert tool.parent.span_id == request.get_span_context().span_id
    assert sc.SENTRIAL_SESSION_ID not in tool.attributes


def test_content_capture_off_keeps_arguments_and_results_out(spans, provider):
    instrumentor = MCPInstrumentor()
    instrumentor.instrument(tracer_provider=provider, capture_content=False)
    try:
        asyncio.run(call_tools([("add", {"a": 1, "b": 2}), ("divide", {"a": 1, "b": 0})]))
    finally:
        instrumentor.uninstrument()
    add, divide = spans.one("execute_tool add"), spans.one("execute_tool divide")
    for key in (sc.GEN_AI_TOOL_CALL_ARGUMENTS, sc.GEN_AI_TOOL_CALL_RESULT, sc.SENTRIAL_TOOL_ERROR):
        assert key not in add.attributes and key not in divide.attributes
    assert divide.attributes[sc.ERROR_TYPE] == "tool_error"
    assert "division" not in (divide.status.description or "")


def test_no_span_of_ours_when_a_tool_span_of_the_same_tool_is_current(telemetry, spans, mcp_instrumented):
    """A LangChain tool (or ``session.tool``) that runs an MCP tool already is the tool call."""
    with telemetry.session("calc-agent") as session:
        with session.tool("add", {"a": 1, "b": 2}) as call:
            [result] = asyncio.run(call_tools([("add", {"a": 1, "b": 2})]))
            call.result = result.structured_content
    assert len(spans.named("execute_tool add")) == 1
    assert [step.kind for step in session.steps] == ["tool"]
