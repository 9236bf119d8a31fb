"""SentrialClient: every method and argument, pinned to exact span names, keys, types, parents."""

from __future__ import annotations

import json

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

import sentrial
from tests.support import documented_ids
from sentrial_otel import semconv as sc


@pytest.fixture
def client() -> sentrial.SentrialClient:
    return sentrial.SentrialClient(api_key="sentrial_live_secret", fail_silently=False)


def _session(client: sentrial.SentrialClient, **kwargs: object) -> str:
    args = {"name": "Support", "agent_name": "support-agent", "user_id": "user_123"}
    args.update(kwargs)
    session_id = client.create_session(**args)  # type: ignore[arg-type]
    assert isinstance(session_id, str)
    return session_id


def test_session_root_span_attributes(client, spans):
    session_id = _session(
        client,
        convo_id="conv_456",
        metadata={"ticket_id": "TKT-789", "priority": 3, "vip": True, "tags": ["a", "b"]},
    )
    result = client.complete_session(session_id, success=True, estimated_cost=0.045,
                                     prompt_tokens=1500, completion_tokens=500,
                                     custom_metrics={"satisfaction": 4.5, "resolution_time": 120})
    root = spans.one("invoke_agent support-agent")
    assert root.parent is None
    assert root.kind is SpanKind.INTERNAL
    assert root.status.status_code is StatusCode.UNSET
    assert dict(root.attributes) == {
        sc.GEN_AI_OPERATION_NAME: "invoke_agent",
        sc.GEN_AI_AGENT_NAME: "support-agent",
        sc.SENTRIAL_SESSION_NAME: "Support",
        sc.SENTRIAL_SESSION_ID: session_id,
        sc.USER_ID: "user_123",
        sc.GEN_AI_CONVERSATION_ID: "conv_456",
        sc.SESSION_ID: "conv_456",
        "sentrial.metadata.ticket_id": "TKT-789",
        "sentrial.metadata.priority": 3,
        "sentrial.metadata.vip": True,
        "sentrial.metadata.tags": '["a","b"]',
        sc.SENTRIAL_SESSION_SUCCESS: True,
        sc.SENTRIAL_SESSION_COST_USD: 0.045,
        sc.SENTRIAL_SESSION_INPUT_TOKENS: 1500,
        sc.SENTRIAL_SESSION_OUTPUT_TOKENS: 500,
        sc.SENTRIAL_SESSION_TOTAL_TOKENS: 2000,
        # No child LLM span: the root may carry the usage itself.
        sc.GEN_AI_USAGE_INPUT_TOKENS: 1500,
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: 500,
        "sentrial.metric.satisfaction": 4.5,
        "sentrial.metric.resolution_time": 120,
    }
    assert result["success"] is True and result["total_tokens"] == 2000
    # The session id gives the trace: the root's ids derive from it, as documented.
    assert root.context.trace_id == documented_ids.trace_id(session_id)
    assert root.context.span_id == documented_ids.root_span_id(session_id)


def test_conversation_id_is_never_fabricated(client, spans):
    session_id = _session(client)
    client.complete_session(session_id)
    root = spans.one("invoke_agent support-agent")
    assert sc.GEN_AI_CONVERSATION_ID not in root.attributes
    assert sc.SESSION_ID not in root.attributes


def test_tool_call_span(client, spans):
    session_id = _session(client)
    result = client.track_tool_call(
        session_id=session_id,
        tool_name="search_knowledge_base",
        tool_input={"query": "password reset"},
        tool_output={"results": ["KB-001", "KB-002"]},
        reasoning="User asked about password reset",
        estimated_cost=0.001,
        token_count=42,
        metadata={"source": "kb"},
    )
    client.complete_session(session_id)
    tool = spans.one("execute_tool search_knowledge_base")
    root = spans.one("invoke_agent support-agent")
    assert tool.parent.span_id == root.context.span_id
    assert tool.context.trace_id == root.context.trace_id
    assert tool.kind is SpanKind.INTERNAL
    assert dict(tool.attributes) == {
        sc.GEN_AI_OPERATION_NAME: "execute_tool",
        sc.GEN_AI_TOOL_NAME: "search_knowledge_base",
        sc.GEN_AI_TOOL_TYPE: "function",
        sc.GEN_AI_AGENT_NAME: "support-agent",
        sc.GEN_AI_TOOL_CALL_ARGUMENTS: '{"query":"password reset"}',
        sc.GEN_AI_TOOL_CALL_RESULT: '{"results":["KB-001","KB-002"]}',
        sc.SENTRIAL_TOOL_REASONING: "User asked about password reset",
        sc.SENTRIAL_COST_USD: 0.001,
        sc.SENTRIAL_USAGE_TOTAL_TOKENS: 42,
        "sentrial.metadata.source": "kb",
        sc.SENTRIAL_SESSION_ID: session_id,
        sc.USER_ID: "user_123",
    }
    assert result["event_type"] == "tool_call"
    assert result["span_id"] == f"{tool.context.span_id:016x}"
    # Totals on the root come from the tracked events when not given.
    assert root.attributes[sc.SENTRIAL_SESSION_COST_USD] == pytest.approx(0.001)
    assert root.attributes[sc.SENTRIAL_SESSION_TOTAL_TOKENS] == 42


@pytest.mark.parametrize(
    ("tool_input", "tool_output", "arguments", "result"),
    [
        ('{"q": "x"}', "plain text", '{"q":"x"}', '{"result":"plain text"}'),
        (["a", 1], 7, '{"input":["a",1]}', '{"result":7}'),
        ("not json", None, '{"input":"not json"}', None),
    ],
)
def test_tool_input_and_output_become_json_objects(client, spans, tool_input, tool_output, arguments, result):
    session_id = _session(client)
    client.track_tool_call(session_id, "t", tool_input, tool_output)
    tool = spans.one("execute_tool t")
    assert tool.attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS] == arguments
    assert tool.attributes.get(sc.GEN_AI_TOOL_CALL_RESULT) == result


def test_tool_error(client, spans):
    session_id = _session(client)
    client.track_tool_call(
        session_id, "db", {"sql": "select"}, {"partial": 1},
        tool_error={"message": "connection reset", "type": "ConnectionError"},
    )
    tool = spans.one("execute_tool db")
    assert tool.status.status_code is StatusCode.ERROR
    assert tool.status.description == "connection reset"
    assert tool.attributes[sc.ERROR_TYPE] == "ConnectionError"
    assert sc.GEN_AI_TOOL_CALL_RESULT not in tool.attributes  # success only
    assert json.loads(tool.attributes[sc.SENTRIAL_TOOL_ERROR]) == {
        "message": "connection reset", "type": "ConnectionError",
    }
    (event,) = tool.events
    assert event.name == "exception"
    assert event.attributes[sc.EXCEPTION_TYPE] == "ConnectionError"
    assert event.attributes[sc.EXCEPTION_MESSAGE] == "connection reset"
    assert event.attributes[sc.GEN_AI_TOOL_NAME] == "db"


def test_decision_span(client, spans):
    session_id = _session(client)
    client.track_decision(
        session_id=session_id,
        reasoning="User needs password help, will search KB first",
        alternatives=["escalate_to_human", "ask_clarifying_question"],
        confidence=0.92,
        estimated_cost=0.0005,
        token_count=10,
    )
    decision = spans.one("decision support-agent")
    assert sc.GEN_AI_OPERATION_NAME not in decision.attributes
    assert dict(decision.attributes) == {
        sc.SENTRIAL_SPAN_KIND: "decision",
        sc.GEN_AI_AGENT_NAME: "support-agent",
        sc.SENTRIAL_DECISION_REASONING: "User needs password help, will search KB first",
        sc.SENTRIAL_DECISION_ALTERNATIVES: ("escalate_to_human", "ask_clarifying_question"),
        sc.SENTRIAL_DECISION_CONFIDENCE: 0.92,
        sc.SENTRIAL_COST_USD: 0.0005,
        sc.SENTRIAL_USAGE_TOTAL_TOKENS: 10,
        sc.SENTRIAL_SESSION_ID: session_id,
        sc.USER_ID: "user_123",
    }


def test_llm_call_span_with_price_table_cost(client, spans):
    session_id = _session(client)
    client.track_llm_call(
        session_id,
        provider="openai",
        model="gpt-4o-2024-08-06",
        input=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
        output="hello",
        prompt_tokens=1000,
        completion_tokens=100,
        finish_reason="stop",
        params={"temperature": 0.2, "max_tokens": 256},
    )
    client.complete_session(session_id)
    llm = spans.one("chat gpt-4o-2024-08-06")
    assert llm.kind is SpanKind.CLIENT
    expected_cost = (1000 * 2.50 + 100 * 10.0) / 1_000_000
    attributes = dict(llm.attributes)
    assert attributes[sc.SENTRIAL_COST_USD] == pytest.approx(expected_cost)
    assert json.loads(attributes.pop(sc.GEN_AI_INPUT_MESSAGES)) == [
        {"role": "system", "parts": [{"type": "text", "content": "be brief"}]},
        {"role": "user", "parts": [{"type": "text", "content": "hi"}]},
    ]
    assert json.loads(attributes.pop(sc.GEN_AI_OUTPUT_MESSAGES)) == [
        {"role": "assistant", "parts": [{"type": "text", "content": "hello"}], "finish_reason": "stop"}
    ]
    assert attributes == {
        sc.GEN_AI_OPERATION_NAME: "chat",
        sc.GEN_AI_PROVIDER_NAME: "openai",
        sc.GEN_AI_REQUEST_MODEL: "gpt-4o-2024-08-06",
        sc.GEN_AI_RESPONSE_MODEL: "gpt-4o-2024-08-06",
        sc.GEN_AI_AGENT_NAME: "support-agent",
        sc.GEN_AI_REQUEST_TEMPERATURE: 0.2,
        sc.GEN_AI_REQUEST_MAX_TOKENS: 256,
        sc.GEN_AI_USAGE_INPUT_TOKENS: 1000,
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: 100,
        sc.GEN_AI_RESPONSE_FINISH_REASONS: ("stop",),
        sc.SENTRIAL_COST_USD: pytest.approx(expected_cost),
        sc.SENTRIAL_SESSION_ID: session_id,
        sc.USER_ID: "user_123",
    }
    root = spans.one("invoke_agent support-agent")
    assert root.attributes[sc.SENTRIAL_SESSION_INPUT_TOKENS] == 1000
    assert root.attributes[sc.SENTRIAL_SESSION_OUTPUT_TOKENS] == 100
    assert root.attributes[sc.SENTRIAL_SESSION_COST_USD] == pytest.approx(expected_cost)
    # A child LLM span carries gen_ai.usage; the root must not, or backends count twice.
    assert sc.GEN_AI_USAGE_INPUT_TOKENS not in root.attributes


def test_streaming_llm_call(client, spans):
    session_id = _session(client)
    client.track_llm_call(session_id, provider="anthropic", model="claude-sonnet-4-5",
                          output="hi", prompt_tokens=10, completion_tokens=2, stream=True,
                          time_to_first_chunk=0.25)
    llm = spans.one("chat claude-sonnet-4-5")
    assert llm.attributes[sc.GEN_AI_REQUEST_STREAM] is True
    assert llm.attributes[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] == 0.25
    assert llm.attributes[sc.GEN_AI_PROVIDER_NAME] == "anthropic"


def test_track_error_marks_root(client, spans):
    session_id = _session(client)
    client.track_error(session_id, "rate limited", error_type="RateLimitError",
                       tool_name="search", stack_trace="Traceback ...")
    client.complete_session(session_id, success=False, failure_reason="gave up")
    root = spans.one("invoke_agent support-agent")
    error_events = [e for e in root.events if e.name == "exception"]
    assert len(error_events) == 1
    assert dict(error_events[0].attributes) == {
        sc.EXCEPTION_TYPE: "RateLimitError",
        sc.EXCEPTION_MESSAGE: "rate limited",
        sc.EXCEPTION_STACKTRACE: "Traceback ...",
        sc.GEN_AI_TOOL_NAME: "search",
    }
    assert root.status.status_code is StatusCode.ERROR
    assert root.attributes[sc.SENTRIAL_SESSION_SUCCESS] is False
    assert root.attributes[sc.SENTRIAL_SESSION_FAILURE_REASON] == "gave up"


def test_failed_session(client, spans):
    session_id = _session(client)
    result = client.complete_session(session_id, success=False, failure_reason="no answer found")
    root = spans.one("invoke_agent support-agent")
    assert root.status.status_code is StatusCode.ERROR
    assert root.status.description == "no answer found"
    assert root.attributes[sc.ERROR_TYPE] == "sentrial.session_failed"
    assert root.attributes[sc.SENTRIAL_SESSION_FAILURE_REASON] == "no answer found"
    assert result["status"] == "failed"


def test_close_session_is_complete_session(client, spans):
    session_id = _session(client)
    client.close_session(session_id, duration_ms=1500)
    root = spans.one("invoke_agent support-agent")
    assert root.attributes[sc.SENTRIAL_SESSION_SUCCESS] is True
    assert (root.end_time - root.start_time) == 1500 * 1_000_000


def test_user_input_and_assistant_output(client, spans):
    session_id = _session(client)
    client.complete_session(session_id, user_input="How do I reset?", assistant_output="Click here.")
    root = spans.one("invoke_agent support-agent")
    assert json.loads(root.attributes[sc.GEN_AI_INPUT_MESSAGES]) == [
        {"role": "user", "parts": [{"type": "text", "content": "How do I reset?"}]}
    ]
    assert json.loads(root.attributes[sc.GEN_AI_OUTPUT_MESSAGES]) == [
        {"role": "assistant", "parts": [{"type": "text", "content": "Click here."}], "finish_reason": "stop"}
    ]


def test_events_from_another_thread_land_in_the_session(client, spans):
    import threading

    session_id = _session(client)
    worker = threading.Thread(target=lambda: client.track_tool_call(session_id, "bg", {}, {}))
    worker.start()
    worker.join()
    client.complete_session(session_id)
    root = spans.one("invoke_agent support-agent")
    tool = spans.one("execute_tool bg")
    assert tool.parent.span_id == root.context.span_id
    assert tool.context.trace_id == root.context.trace_id


def test_event_parents_to_current_span_of_same_session(client, spans):
    session_id = _session(client)
    session = client.telemetry.open_session(session_id)
    with session.tool("outer") as call:
        client.track_decision(session_id, "inner decision")
        call.result = "ok"
    client.complete_session(session_id)
    outer = spans.one("execute_tool outer")
    decision = spans.one("decision support-agent")
    assert decision.parent.span_id == outer.context.span_id


def test_unrelated_current_span_is_not_a_parent(client, spans, provider):
    session_id = _session(client)
    with provider.get_tracer("app").start_as_current_span("unrelated request"):
        client.track_decision(session_id, "x")
    client.complete_session(session_id)
    decision = spans.one("decision support-agent")
    assert decision.parent.span_id == documented_ids.root_span_id(session_id)


def test_explicit_trace_and_span_ids(client, spans):
    session_id = _session(client)
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    span_id = "00f067aa0ba902b7"
    client.track_tool_call(session_id, "t", {}, {}, trace_id=trace_id, span_id=span_id)
    tool = spans.one("execute_tool t")
    assert f"{tool.context.trace_id:032x}" == trace_id
    assert f"{tool.parent.span_id:016x}" == span_id


def test_trace_id_alone_starts_that_trace(client, spans):
    session_id = _session(client)
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    client.track_decision(session_id, "x", trace_id=trace_id)
    decision = spans.one("decision support-agent")
    assert f"{decision.context.trace_id:032x}" == trace_id
    assert decision.parent is None


def test_remote_session_id_joins_the_trace(spans):
    """A second client that only knows the id parents events to the session's root."""
    first = sentrial.SentrialClient()
    second = sentrial.SentrialClient()
    session_id = first.create_session(name="n", agent_name="a", user_id="u")
    first.complete_session(session_id)
    second.track_tool_call(session_id, "later", {"x": 1}, {"y": 2})
    tool = spans.one("execute_tool later")
    root = spans.one("invoke_agent a")
    assert tool.context.trace_id == root.context.trace_id
    assert tool.parent.span_id == root.context.span_id
    assert tool.attributes[sc.SENTRIAL_SESSION_ID] == session_id


def test_a_session_known_only_by_its_id_lands_in_the_trace_the_docs_derive(client, spans):
    """docs/concepts.md's example: this id's trace and root span, by value."""
    client.track_tool_call("8b0f2c1e-5d3a-4c6e-9f10-2a4b6c8d0e1f", "later", {}, {})
    tool = spans.one("execute_tool later")
    assert f"{tool.context.trace_id:032x}" == "bbc197477468ced74531303578d04b56"
    assert f"{tool.parent.span_id:016x}" == "d53c0b31c18f7b9a"


def test_parent_session_link(client, spans):
    parent_id = _session(client, agent_name="planner")
    child_id = _session(client, agent_name="researcher", parent_session_id=parent_id)
    client.complete_session(child_id)
    client.complete_session(parent_id)
    child = spans.one("invoke_agent researcher")
    assert child.attributes[sc.SENTRIAL_SESSION_PARENT_ID] == parent_id
    (link,) = child.links
    assert link.context.trace_id == documented_ids.trace_id(parent_id)
    assert link.context.span_id == documented_ids.root_span_id(parent_id)
    assert child.context.trace_id != documented_ids.trace_id(parent_id)


def test_update_state_is_carried_by_events(client, spans):
    session_id = _session(client)
    client.update_state("step", 1)
    client.track_decision(session_id, "first")
    client.update_state("step", 2)
    client.track_decision(session_id, "second")
    first, second = spans.named("decision support-agent")
    assert json.loads(first.attributes["sentrial.state.after"]) == {"step": 1}
    assert json.loads(second.attributes["sentrial.state.before"]) == {"step": 1}
    assert json.loads(second.attributes["sentrial.state.after"]) == {"step": 2}


def test_complete_twice_returns_empty_dict(spans):
    client = sentrial.SentrialClient()
    session_id = client.create_session(name="n", agent_name="a", user_id="u")
    assert client.complete_session(session_id)["success"] is True
    assert client.complete_session(session_id) == {}
    assert len(spans.named("invoke_agent a")) == 1


def test_cost_calculators():
    assert sentrial.SentrialClient.calculate_openai_cost("gpt-4o", 1_000_000, 1_000_000) == pytest.approx(12.5)
    assert sentrial.SentrialClient.calculate_anthropic_cost("claude-3-5-haiku-20241022", 1_000_000, 0) == pytest.approx(0.8)
    assert sentrial.SentrialClient.calculate_google_cost("gemini-1.5-flash", 0, 1_000_000) == pytest.approx(0.30)
    assert sentrial.SentrialClient.calculate_openai_cost("no-such-model", 10, 10) == 0.0


def test_api_key_is_never_an_attribute(client, spans):
    session_id = _session(client)
    client.track_tool_call(session_id, "t", {"api_key": "sk-abcdefghijklmnopqrstu"}, {"ok": True})
    client.complete_session(session_id)
    for span in spans.all():
        for value in span.attributes.values():
            assert "sentrial_live_secret" not in str(value)
            assert "sk-abcdefghijklmnopqrstu" not in str(value)
    tool = spans.one("execute_tool t")
    assert json.loads(tool.attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS]) == {"api_key": "[REDACTED]"}


def test_context_manager_client(spans):
    with sentrial.SentrialClient() as client:
        session_id = client.create_session(name="n", agent_name="ctx", user_id="u")
    root = spans.one("invoke_agent ctx")
    # Closing the client ends sessions still open as abandoned.
    assert root.attributes[sc.SENTRIAL_SESSION_ABANDONED] is True
    assert root.attributes[sc.ERROR_TYPE] == "sentrial.abandoned"
    assert root.status.status_code is StatusCode.ERROR
    assert root.status.description == "session still open at exit"
    assert root.attributes[sc.SENTRIAL_SESSION_ID] == session_id


def test_the_root_is_current_while_begin_is_open(spans, provider):
    client = sentrial.SentrialClient()
    before = trace.get_current_span()
    interaction = client.begin(user_id="u", event="chat")
    with provider.get_tracer("app").start_as_current_span("user work"):
        pass
    interaction.finish(output="done")
    assert trace.get_current_span() is before
    user_span = spans.one("user work")
    assert user_span.parent.span_id == spans.one("invoke_agent chat").context.span_id
    # Other instrumentation's spans are stamped with the session's id too.
    assert user_span.attributes[sc.SENTRIAL_SESSION_ID] == interaction.session_id
    assert user_span.attributes[sc.USER_ID] == "u"


def test_session_links_to_the_span_current_when_it_began(client, spans, provider):
    with provider.get_tracer("app").start_as_current_span("POST /chat") as request:
        session_id = _session(client)
    client.complete_session(session_id)
    root = spans.one("invoke_agent support-agent")
    (link,) = root.links
    assert link.context.span_id == request.get_span_context().span_id
    assert root.context.trace_id != request.get_span_context().trace_id


def test_fail_silently_from_the_environment(monkeypatch, spans):
    monkeypatch.setenv("SENTRIAL_FAIL_SILENTLY", "false")
    client = sentrial.SentrialClient()
    assert client.strict
    with pytest.raises(ValueError, match="user_id"):
        client.create_session(name="n", agent_name="a", user_id=None)
    assert not sentrial.SentrialClient(fail_silently=True).strict


def test_open_sessions_are_bounded(spans, monkeypatch, caplog):
    from sentrial_otel._internal import engine as telemetry

    monkeypatch.setattr(telemetry, "MAX_OPEN_SESSIONS", 3)
    client = sentrial.SentrialClient()
    ids_ = [client.create_session(name="n", agent_name="leaky", user_id="u") for _ in range(5)]
    ended = spans.named("invoke_agent leaky")
    assert sorted(s.attributes[sc.SENTRIAL_SESSION_ID] for s in ended) == sorted(ids_[:2])
    assert all(s.attributes[sc.SENTRIAL_SESSION_ABANDONED] for s in ended)
    assert len(client.telemetry.open_sessions()) == 3
    assert caplog.text.count("sessions are open") == 1
