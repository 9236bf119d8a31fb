"""GenAI and session metrics: names, units, low-cardinality attributes, values."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

import sentrial_otel
from sentrial_otel import semconv as sc


def _points(reader: InMemoryMetricReader) -> dict[str, list]:
    found: dict[str, list] = {}
    data = reader.get_metrics_data()
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                found.setdefault(metric.name, []).extend(metric.data.data_points)
    return found


@pytest.fixture
def reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


def test_session_tool_and_llm_metrics(spans, reader):
    telemetry = sentrial_otel.configure(meter_provider=MeterProvider(metric_readers=[reader]))
    with telemetry.session("billing", user_id="user-1") as session:
        with session.tool("refund"):
            pass
        session.track_llm_call(provider="openai", model="gpt-4o", prompt_tokens=120, completion_tokens=30,
                               duration_ms=250)
        session.track_llm_call(provider="openai", model="gpt-4o")  # usage unknown: no token points
    with pytest.raises(RuntimeError):
        with telemetry.session("billing", user_id="user-2"):
            raise RuntimeError("down")
    points = _points(reader)

    sessions = {p.attributes["sentrial.session.outcome"]: p.value for p in points[sc.METRIC_SESSIONS]}
    assert sessions == {"success": 1, "failed": 1}
    for point in points[sc.METRIC_SESSIONS]:
        assert point.attributes[sc.GEN_AI_AGENT_NAME] == "billing"
        assert sc.USER_ID not in point.attributes  # never a user or session id on metrics

    tokens = {p.attributes[sc.GEN_AI_TOKEN_TYPE]: p for p in points[sc.METRIC_TOKEN_USAGE]}
    assert (tokens["input"].sum, tokens["output"].sum) == (120, 30)
    assert tokens["input"].count == 1
    assert tokens["input"].attributes[sc.GEN_AI_PROVIDER_NAME] == "openai"
    assert list(tokens["input"].explicit_bounds) == list(sc.TOKEN_USAGE_BUCKETS)

    (duration,) = points[sc.METRIC_OPERATION_DURATION]
    assert duration.sum == pytest.approx(0.25)
    (tool,) = points[sc.METRIC_EXECUTE_TOOL_DURATION]
    assert tool.attributes[sc.GEN_AI_TOOL_NAME] == "refund"
    agent = {p.attributes.get(sc.ERROR_TYPE): p.count for p in points[sc.METRIC_INVOKE_AGENT_DURATION]}
    assert agent == {None: 1, "RuntimeError": 1}
    cost = points[sc.METRIC_COST]
    assert cost[0].value == pytest.approx((120 * 2.5 + 30 * 10) / 1e6)
