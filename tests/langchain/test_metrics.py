"""LangChain LLM and tool runs record the GenAI metrics through the engine's instruments."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain.agents import create_agent
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider

from sentrial_otel import semconv as sc
from sentrial_otel.instrumentation.langchain import LangChainInstrumentor
from tests.langchain import fakes

QUESTION = {"messages": [{"role": "user", "content": "weather in Paris?"}]}


@pytest.fixture
def reader(lc_provider: TracerProvider) -> Iterator[InMemoryMetricReader]:
    reader = InMemoryMetricReader()
    meters = MeterProvider(metric_readers=[reader])
    instrumentor = LangChainInstrumentor()
    instrumentor.instrument(tracer_provider=lc_provider, meter_provider=meters)
    yield reader
    instrumentor.uninstrument()
    meters.shutdown()


def points(reader: InMemoryMetricReader, name: str) -> list[tuple[dict[str, Any], int, float]]:
    """(attributes, count, sum) of each data point of the histogram ``name``."""
    found = []
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == name:
                    for point in metric.data.data_points:
                        assert isinstance(point, HistogramDataPoint)
                        found.append((dict(point.attributes or {}), point.count, point.sum))
    return sorted(found, key=lambda p: sorted(p[0].items()))


LLM = {
    sc.GEN_AI_OPERATION_NAME: "chat",
    sc.GEN_AI_PROVIDER_NAME: "openai",
    sc.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
    sc.GEN_AI_AGENT_NAME: "weather_agent",
}


def test_llm_and_tool_metrics(reader: InMemoryMetricReader) -> None:
    model = fakes.ScriptedChatModel(
        [
            fakes.tool_call_message("get_weather", {"city": "Paris"}, "call_1", (10, 5)),
            fakes.answer_message("It is sunny", (20, 3)),
        ]
    )
    create_agent(model, [fakes.get_weather], name="weather_agent").invoke(QUESTION)

    assert points(reader, sc.METRIC_TOKEN_USAGE) == [
        ({**LLM, sc.GEN_AI_TOKEN_TYPE: "input"}, 2, 30),
        ({**LLM, sc.GEN_AI_TOKEN_TYPE: "output"}, 2, 8),
    ]
    [(attributes, count, seconds)] = points(reader, sc.METRIC_OPERATION_DURATION)
    assert (attributes, count) == (LLM, 2) and seconds >= 0
    [(attributes, count, _)] = points(reader, sc.METRIC_EXECUTE_TOOL_DURATION)
    assert (attributes, count) == (
        {
            sc.GEN_AI_TOOL_NAME: "get_weather",
            sc.GEN_AI_TOOL_TYPE: sc.TOOL_TYPE_FUNCTION,
            sc.GEN_AI_AGENT_NAME: "weather_agent",
        },
        1,
    )


def test_unknown_usage_records_no_tokens(reader: InMemoryMetricReader) -> None:
    fakes.ScriptedChatModel([fakes.answer_message("hi", None)]).invoke("hello")

    assert points(reader, sc.METRIC_TOKEN_USAGE) == []
    [(attributes, count, _)] = points(reader, sc.METRIC_OPERATION_DURATION)
    assert count == 1 and sc.GEN_AI_AGENT_NAME not in attributes


def test_failing_tool_records_its_error_type(reader: InMemoryMetricReader) -> None:
    model = fakes.ScriptedChatModel(
        [fakes.tool_call_message("explode", {"reason": "bad"}, "call_9", (4, 2))]
    )
    agent = create_agent(model, [fakes.explode], name="fragile_agent")
    with pytest.raises(RuntimeError):
        agent.invoke(QUESTION)

    [(attributes, count, _)] = points(reader, sc.METRIC_EXECUTE_TOOL_DURATION)
    assert count == 1 and attributes[sc.ERROR_TYPE] == "RuntimeError"


def test_failing_model_records_its_error_type(reader: InMemoryMetricReader) -> None:
    class Down(Exception):
        pass

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise Down("provider down")

    model = fakes.ScriptedChatModel([])
    object.__setattr__(model, "_generate", fail)
    with pytest.raises(Down):
        model.invoke("hello")

    assert points(reader, sc.METRIC_TOKEN_USAGE) == []
    [(attributes, count, _)] = points(reader, sc.METRIC_OPERATION_DURATION)
    assert count == 1 and attributes[sc.ERROR_TYPE].endswith("Down")


def test_sentrial_handler_records_through_the_clients_engine(lc_provider: TracerProvider) -> None:
    from sentrial import SentrialClient
    from sentrial.langchain import SentrialCallbackHandler

    client = SentrialClient(tracer_provider=lc_provider)
    try:
        handler = SentrialCallbackHandler(client, client.create_session(name="s", agent_name="a"))
        assert handler.metrics is client.telemetry.metrics
    finally:
        client.shutdown()
