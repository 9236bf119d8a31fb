"""The ``openinference`` dialect on LangChain's spans: a kind on every one we write (the
user's own spans are theirs), the agent's question and answer as text."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.trace import TracerProvider

from sentrial_otel import semconv as sc
from tests.langchain.conftest import Spans, instrumented
from tests.langchain.test_agent import QUESTION, weather_agent
from tests.langchain.test_langgraph import graph_with_subgraph

USER_SPANS = {"weather-api GET", "db.query"}


def kinds(lc_spans: Spans) -> dict[str, str]:
    return {
        span.name: span.attributes.get(sc.OI_SPAN_KIND)
        for span in lc_spans.all()
        if span.name not in USER_SPANS
    }


def test_an_agent_run(lc_provider: TracerProvider, lc_spans: Spans) -> None:
    with instrumented(lc_provider, dialects="openinference"):
        weather_agent().invoke(QUESTION)
    assert kinds(lc_spans) == {
        "invoke_agent weather_agent": "AGENT", "chat gpt-4o-mini": "LLM",
        "execute_tool get_weather": "TOOL",
    }
    agent = lc_spans.one("invoke_agent weather_agent")
    assert agent.attributes[sc.OI_INPUT_VALUE] == "weather in Paris?"
    assert agent.attributes[sc.OI_OUTPUT_VALUE] == "It is sunny"
    tool = lc_spans.one("execute_tool get_weather")
    assert tool.attributes[sc.OI_INPUT_VALUE] == tool.attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS]
    assert sc.OI_SPAN_KIND not in lc_spans.one("weather-api GET").attributes


def test_a_workflow_and_its_nodes_are_chains(lc_provider: TracerProvider, lc_spans: Spans) -> None:
    with instrumented(lc_provider, dialects=["openinference"]):
        graph_with_subgraph(lc_provider).invoke({"x": 1})
    assert kinds(lc_spans) == {
        "invoke_workflow pricing_flow": "CHAIN", "double": "CHAIN", "sub": "CHAIN", "inner": "CHAIN",
    }


def test_off_unless_asked(lc_provider: TracerProvider, lc_spans: Spans, monkeypatch: Any) -> None:
    monkeypatch.delenv("SENTRIAL_DIALECTS", raising=False)
    with instrumented(lc_provider):
        weather_agent().invoke(QUESTION)
    assert set(kinds(lc_spans).values()) == {None}
