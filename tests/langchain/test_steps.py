"""LangChain runs are steps of the engine's one lifecycle: records, totals, tool errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.tools import StructuredTool, ToolException
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import StatusCode

from sentrial import SentrialClient
from sentrial.langchain import SentrialCallbackHandler
from sentrial_otel import semconv as sc
from tests.langchain.conftest import Spans, attrs
from tests.langchain.test_agent import weather_agent
from tests.support.listeners import Heard


@pytest.fixture
def client(lc_provider: TracerProvider) -> Iterator[SentrialClient]:
    client = SentrialClient(tracer_provider=lc_provider)
    yield client
    client.shutdown()


def test_a_langchain_run_hands_the_session_one_step_per_call(client: SentrialClient, lc_spans: Spans) -> None:
    session_id = client.create_session(name="s", agent_name="support-agent", user_id="u")
    heard = Heard()
    client.telemetry.open_session(session_id).add_step_listener(heard)
    handler = SentrialCallbackHandler(client, session_id)
    weather_agent().invoke({"messages": [("user", "weather in Paris?")]}, {"callbacks": [handler]})
    handler.finish()

    kinds = [(s.kind, s.name) for s in heard.steps]
    assert kinds == [
        ("llm", "gpt-4o-mini"), ("tool", "get_weather"), ("llm", "gpt-4o-mini"),
        ("agent", "weather_agent"), ("agent", "support-agent"),
    ]
    first_llm, tool, second_llm = heard.steps[:3]
    chat_spans = sorted(lc_spans.named("chat gpt-4o-mini"), key=lambda s: s.start_time)
    assert [first_llm.span_id, second_llm.span_id] == [s.context.span_id for s in chat_spans]
    assert (first_llm.input_tokens, first_llm.output_tokens, first_llm.finish_reasons) == (10, 5, ("tool_calls",))
    assert first_llm.empty_output is False  # a tool call is an output
    assert first_llm.cost == pytest.approx(attrs(chat_spans[0])[sc.SENTRIAL_COST_USD])
    assert tool.span_id == lc_spans.one("execute_tool get_weather").context.span_id
    assert tool.arguments_hash is not None and tool.error_type is None
    # The handler's totals and the session's are the same sums over the same steps.
    assert handler.total_cost == pytest.approx(first_llm.cost + second_llm.cost)
    root = heard.steps[-1]
    assert root.input_tokens == 30 and root.cost == pytest.approx(handler.total_cost)


def test_a_handled_tool_error_is_a_tool_error(instrumentor: Any, lc_spans: Spans) -> None:
    def lookup(order_id: str) -> str:
        raise ToolException(f"order {order_id} not found")

    tool = StructuredTool.from_function(lookup, name="lookup", description="Find an order.",
                                        handle_tool_error=True)
    result = tool.invoke({"type": "tool_call", "name": "lookup", "args": {"order_id": "A1"}, "id": "call_7"})

    assert result.status == "error"  # LangChain handled it: the agent sees a message
    span = lc_spans.one("execute_tool lookup")
    # SEMCONV "tool_error": status ERROR, error.type, an exception event, sentrial.tool.error.
    assert span.status.status_code is StatusCode.ERROR
    assert attrs(span)[sc.ERROR_TYPE] == sc.ERROR_TYPE_TOOL_ERROR
    (event,) = [e for e in span.events if e.name == "exception"]
    assert event.attributes[sc.EXCEPTION_MESSAGE] == "order A1 not found"
    assert "order A1 not found" in attrs(span)[sc.SENTRIAL_TOOL_ERROR]
    assert sc.GEN_AI_TOOL_CALL_RESULT not in attrs(span)
