"""The OpenTelemetry-native API: sessions and timed tool / LLM calls as context managers."""

from __future__ import annotations

import json
import time

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

import sentrial_otel
from sentrial_otel import semconv as sc


@pytest.fixture
def telemetry() -> sentrial_otel.Telemetry:
    return sentrial_otel.configure(fail_silently=False)


def test_session_tool_and_llm_context_managers(telemetry, spans, provider):
    with telemetry.session("research-agent", user_id="u1", input="find papers", convo_id="c1") as session:
        assert sentrial_otel.current_session() is session
        with session.tool("search", {"q": "otel"}, tool_call_id="call_1") as call:
            with provider.get_tracer("http").start_as_current_span("GET /search"):
                time.sleep(0.01)
            call.result = ["paper-1"]
            call.cost = 0.002
        with session.llm("gpt-4o-mini", "openai", params={"temperature": 0}) as llm:
            llm.finish("summary", prompt_tokens=200, completion_tokens=40, finish_reason="stop")
    assert sentrial_otel.current_session() is None
    root = spans.one("invoke_agent research-agent")
    tool = spans.one("execute_tool search")
    http = spans.one("GET /search")
    chat = spans.one("chat gpt-4o-mini")
    assert tool.parent.span_id == root.context.span_id
    assert http.parent.span_id == tool.context.span_id  # user spans nest under the tool
    assert http.attributes[sc.SENTRIAL_SESSION_ID] == session.session_id
    assert http.attributes[sc.GEN_AI_CONVERSATION_ID] == "c1"
    assert tool.end_time - tool.start_time >= 10_000_000  # a real duration
    assert tool.attributes[sc.GEN_AI_TOOL_CALL_ID] == "call_1"
    assert json.loads(tool.attributes[sc.GEN_AI_TOOL_CALL_RESULT]) == {"result": ["paper-1"]}
    assert chat.kind is SpanKind.CLIENT
    assert chat.attributes[sc.GEN_AI_REQUEST_TEMPERATURE] == 0
    assert root.attributes[sc.SENTRIAL_SESSION_INPUT_TOKENS] == 200
    assert root.attributes[sc.SENTRIAL_SESSION_COST_USD] == pytest.approx(0.002 + (200 * 0.15 + 40 * 0.6) / 1e6)


def test_exceptions_fail_the_tool_and_the_session(telemetry, spans):
    with pytest.raises(ZeroDivisionError):
        with telemetry.session("calc") as session:
            with session.tool("divide", {"a": 1, "b": 0}):
                1 / 0  # noqa: B018
    tool = spans.one("execute_tool divide")
    root = spans.one("invoke_agent calc")
    assert tool.status.status_code is StatusCode.ERROR
    assert tool.attributes[sc.ERROR_TYPE] == "ZeroDivisionError"
    assert root.status.status_code is StatusCode.ERROR
    assert root.attributes[sc.SENTRIAL_SESSION_SUCCESS] is False
    assert root.attributes[sc.SENTRIAL_SESSION_FAILURE_REASON] == "ZeroDivisionError: division by zero"


def test_caller_context_is_restored(telemetry, spans):
    before = trace.get_current_span()
    with telemetry.session("a") as session:
        with session.tool("t"):
            pass
    assert trace.get_current_span() is before


def test_traceparent_points_at_the_root(telemetry, spans):
    with telemetry.session("a") as session:
        header = session.traceparent
    root = spans.one("invoke_agent a")
    flags = int(root.context.trace_flags)
    assert flags & 0x01  # sampled
    assert flags & 0x02  # W3C random trace id: a session's trace id is a hash of its id
    assert header == f"00-{root.context.trace_id:032x}-{root.context.span_id:016x}-{flags:02x}"
