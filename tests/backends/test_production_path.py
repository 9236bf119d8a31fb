"""The production path for real: agents configured only by OTEL_* variables and the API
key -> otelcol.yaml (API keys, tail sampling, batch) -> Jaeger, read back through Jaeger's
HTTP query API, as Jaeger decoded them; the score a session gets -> the collector's logs
pipeline -> its scores file.

One session through each front door: the Sentrial facade, the native API, and a LangChain
``create_agent`` loop traced by the instrumentor inside a native session.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.backends.agents import FRONT_DOORS_SPANS, agent_env, run_program
from tests.support import documented_ids
from tests.support.backends import Jaeger, Otelcol

pytestmark = pytest.mark.slow

KEY = "prod-key-" + uuid.uuid4().hex


def tags(span: dict[str, Any]) -> dict[str, Any]:
    return {tag["key"]: tag["value"] for tag in span["tags"]}


def parent_of(span: dict[str, Any]) -> str | None:
    refs = [r["spanID"] for r in span.get("references") or () if r["refType"] == "CHILD_OF"]
    return refs[0] if refs else None


def by_name(trace: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    spans: dict[str, list[dict[str, Any]]] = {}
    for span in trace["spans"]:
        spans.setdefault(span["operationName"], []).append(span)
    return spans


def root_of(trace: dict[str, Any]) -> dict[str, Any]:
    (root,) = [s for s in trace["spans"] if parent_of(s) is None]
    return root


@pytest.fixture(scope="module")
def delivered(jaeger: Jaeger, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Run the three front doors once through a real collector; their traces in Jaeger."""
    workdir = tmp_path_factory.mktemp("production")
    service = f"prod-{uuid.uuid4().hex[:8]}"
    run = uuid.uuid4().hex
    with Otelcol(["otelcol.yaml"], jaeger=jaeger, keys=[KEY], workdir=workdir / "otelcol",
                 env={"DECISION_WAIT": "2s", "BASELINE_SAMPLING_PERCENTAGE": "100"}) as otelcol:
        env = agent_env(otelcol.http_endpoint, service, workdir / "home",
                        SENTRIAL_API_KEY=KEY)
        ids, stderr = run_program(env, "front-doors", run)
        traces = jaeger.wait_for_traces(service, {"sentrial.metadata.run": run}, count=3,
                                        spans=FRONT_DOORS_SPANS, settle=1.0)
        scores = otelcol.wait_for_scores(1)
    # No warning: spans and the score (a log record, which needs the logs pipeline) went in.
    assert "sentrial:" not in stderr, stderr
    found = {}
    for door, sid in ids.items():
        matching = jaeger.traces(service, {"sentrial.session.id": sid})
        assert len(matching) == 1, (door, [t["traceID"] for t in matching])
        found[door] = matching[0]
    return {"ids": ids, "service": service, "traces": found, "all": traces, "scores": scores}


def test_each_session_is_one_trace_with_a_root_and_its_children(delivered: dict[str, Any]) -> None:
    assert len(delivered["all"]) == 3
    names = {door: sorted(s["operationName"] for s in trace["spans"])
             for door, trace in delivered["traces"].items()}
    assert names == {
        "facade": ["chat gpt-4o-mini", "decision support-agent", "execute_tool search_orders",
                   "invoke_agent support-agent"],
        "native": ["chat claude-sonnet-4", "execute_tool lookup", "invoke_agent native-agent"],
        "langchain": ["chat gpt-4o-mini", "chat gpt-4o-mini", "execute_tool get_weather",
                      "invoke_agent langchain-agent", "invoke_agent weather_agent"],
    }
    for door, trace in delivered["traces"].items():
        root = root_of(trace)
        assert root["operationName"] == f"invoke_agent {door}-agent" or door == "facade"
        for span in trace["spans"]:
            assert span["traceID"] == root["traceID"]
            assert tags(span)["sentrial.session.id"] == delivered["ids"][door]
        # The process the spans came from: the service the agent named.
        (process,) = trace["processes"].values()
        assert process["serviceName"] == delivered["service"]


def test_children_are_parented_to_the_root(delivered: dict[str, Any]) -> None:
    for door in ("facade", "native"):
        trace = delivered["traces"][door]
        root = root_of(trace)
        for span in trace["spans"]:
            if span is not root:
                assert parent_of(span) == root["spanID"], (door, span["operationName"])
    trace = delivered["traces"]["langchain"]
    spans = by_name(trace)
    session_root = spans["invoke_agent langchain-agent"][0]
    agent = spans["invoke_agent weather_agent"][0]
    assert parent_of(agent) == session_root["spanID"]
    for name in ("chat gpt-4o-mini", "execute_tool get_weather"):
        for span in spans[name]:
            assert parent_of(span) == agent["spanID"], name


def test_genai_attributes_as_jaeger_decoded_them(delivered: dict[str, Any]) -> None:
    facade = by_name(delivered["traces"]["facade"])
    root = tags(facade["invoke_agent support-agent"][0])
    assert root["gen_ai.operation.name"] == "invoke_agent"
    assert root["gen_ai.agent.name"] == "support-agent"
    assert root["user.id"] == "user-facade"
    assert root["gen_ai.conversation.id"] == "convo-1"
    assert root["sentrial.session.success"] is True
    assert json.loads(root["gen_ai.input.messages"])[0]["parts"][0]["content"] == (
        "Where is my order?")
    chat = tags(facade["chat gpt-4o-mini"][0])
    assert chat["span.kind"] == "client"
    assert chat["gen_ai.operation.name"] == "chat"
    assert chat["gen_ai.provider.name"] == "openai"
    assert chat["gen_ai.request.model"] == "gpt-4o-mini"
    assert (chat["gen_ai.usage.input_tokens"], chat["gen_ai.usage.output_tokens"]) == (85, 12)
    tool = tags(facade["execute_tool search_orders"][0])
    assert tool["gen_ai.tool.name"] == "search_orders"
    assert json.loads(tool["gen_ai.tool.call.arguments"]) == {"customer": "user-facade"}
    assert json.loads(tool["gen_ai.tool.call.result"]) == {"orders": ["A1001"]}
    decision = tags(facade["decision support-agent"][0])
    assert decision["sentrial.span.kind"] == "decision"
    assert decision["sentrial.decision.confidence"] == pytest.approx(0.9)


def test_session_totals_add_up_as_jaeger_shows_them(delivered: dict[str, Any]) -> None:
    for door, trace in delivered["traces"].items():
        root = tags(root_of(trace))
        chats = [tags(s) for s in trace["spans"] if s["operationName"].startswith("chat ")]
        assert root["sentrial.session.usage.input_tokens"] == sum(
            c["gen_ai.usage.input_tokens"] for c in chats), door
        assert root["sentrial.session.usage.output_tokens"] == sum(
            c["gen_ai.usage.output_tokens"] for c in chats), door
        leaf_costs = sum(tags(s).get("sentrial.cost.usd", 0.0) for s in trace["spans"]
                         if s is not root_of(trace))
        assert root["sentrial.session.cost.usd"] == pytest.approx(leaf_costs), door
        assert root["sentrial.session.cost.usd"] > 0, door


def test_the_score_reaches_the_collectors_logs_pipeline(delivered: dict[str, Any]) -> None:
    """Jaeger keeps no logs: otelcol.yaml writes scores to SCORES_FILE, on the session's
    root span's ids, so they join the trace wherever they are read."""
    (score,) = delivered["scores"]
    facade = delivered["ids"]["facade"]
    assert score.event_name == "gen_ai.evaluation.result"
    assert score.trace_id.hex() == f"{documented_ids.trace_id(facade):032x}"
    assert score.span_id.hex() == f"{documented_ids.root_span_id(facade):016x}"
    root = root_of(delivered["traces"]["facade"])
    assert root["spanID"].zfill(16) == score.span_id.hex()
    attributes = {kv.key: kv.value for kv in score.attributes}
    assert attributes["gen_ai.evaluation.name"].string_value == "helpfulness"
    assert attributes["gen_ai.evaluation.score.value"].double_value == pytest.approx(0.9)
    assert attributes["gen_ai.evaluation.score.label"].string_value == "good"
    assert attributes["gen_ai.evaluation.explanation"].string_value == "Answered at once."
    assert attributes["sentrial.session.id"].string_value == facade


def test_the_collector_requires_the_key(jaeger: Jaeger, tmp_path: Path) -> None:
    """Same path, no key: nothing reaches Jaeger (the API-key tests cover the messages)."""
    service = f"nokey-{uuid.uuid4().hex[:8]}"
    with Otelcol(["otelcol.yaml"], jaeger=jaeger, keys=[KEY], workdir=tmp_path / "otelcol",
                 env={"DECISION_WAIT": "1s", "BASELINE_SAMPLING_PERCENTAGE": "100"}) as otelcol:
        env = agent_env(otelcol.http_endpoint, service, tmp_path / "home",
                        SENTRIAL_SHUTDOWN_TIMEOUT="2")
        run_program(env, "mix", "3", uuid.uuid4().hex)
        assert jaeger.wait_for_traces(service, count=1, timeout=4) == []
