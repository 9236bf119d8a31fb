"""Cancelled, stopped and interrupted LangChain / LangGraph runs, each in a process of its
own exporting over real OTLP/HTTP to a receiver that decodes with ``opentelemetry-proto``
(``apps/lifecycle_app.py``): every span the process started ends and is exported, with the
status, ``error.type`` and markers a user would filter on, and no parent is missing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from sentrial_otel import semconv as sc
from tests.langchain import fakes
from tests.support.otlp_receiver import OtlpReceiver, SpanRecord

APP = Path(__file__).parent / "apps" / "lifecycle_app.py"
CHAT = f"chat {fakes.MODEL}"
AGENT = "invoke_agent weather_agent"
STOPPED = sc.SENTRIAL_STREAM_CONSUMER_STOPPED
INTERRUPTED = sc.SENTRIAL_LANGCHAIN_INTERRUPTED

pytestmark = pytest.mark.slow


def run(scenario: str) -> tuple[dict[str, Any], list[SpanRecord]]:
    """Run the scenario in a fresh process; (its facts, the spans the receiver got)."""
    with OtlpReceiver() as receiver:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SENTRIAL_"))}
        env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = receiver.traces_endpoint
        env.pop("PYTHONPATH", None)
        done = subprocess.run(
            [sys.executable, str(APP), scenario],
            env=env, capture_output=True, text=True, timeout=180,
        )
        assert done.returncode == 0, done.stderr
        facts = json.loads(done.stdout.strip().splitlines()[-1])
        spans = receiver.wait_for_spans(facts["ended"], timeout=10) if facts["ended"] else []
    assert "Traceback" not in done.stderr, done.stderr
    # Every span the process started ended, was exported, and has its parent exported.
    assert facts["started"] == facts["ended"] == len(spans), facts
    assert facts["open_runs"] == 0
    ids = {s.span_id for s in spans}
    assert [s.name for s in spans if s.parent_span_id and s.parent_span_id not in ids] == []
    return facts, spans


def named(spans: list[SpanRecord], name: str) -> list[SpanRecord]:
    return [s for s in spans if s.name == name]


def outcome(span: SpanRecord) -> tuple[str, Any, Any]:
    """(status, error.type, consumer stopped) as a backend shows them."""
    return span.status_code, span.attributes.get(sc.ERROR_TYPE), span.attributes.get(STOPPED)


def assert_cancelled(span: SpanRecord) -> None:
    assert outcome(span) == ("ERROR", "CancelledError", None), span.name
    assert [e.attributes[sc.EXCEPTION_TYPE] for e in span.events] == ["CancelledError"]


def test_a_cancelled_chat_model_call_ends_its_span_with_the_http_span_inside() -> None:
    facts, spans = run("model_cancelled")
    assert facts["timed_out"] == 1 and facts["entered"] == ["model"]
    assert sorted(s.name for s in spans) == sorted([CHAT, fakes.HTTP_SPAN])
    (chat,) = named(spans, CHAT)
    assert_cancelled(chat)
    (http,) = named(spans, fakes.HTTP_SPAN)
    assert http.parent_span_id == chat.span_id


@pytest.mark.parametrize("scenario", ["agent_cancelled", "events_cancelled"])
def test_a_cancelled_agent_ends_every_span_as_cancelled(scenario: str) -> None:
    facts, spans = run(scenario)
    assert facts["timed_out"] == 1 and facts["entered"] == ["model"]
    assert Counter(s.name for s in spans) == {AGENT: 1, CHAT: 1, fakes.HTTP_SPAN: 1}
    (agent,) = named(spans, AGENT)
    (chat,) = named(spans, CHAT)
    (http,) = named(spans, fakes.HTTP_SPAN)
    assert_cancelled(agent)
    assert_cancelled(chat)
    assert (chat.parent_span_id, http.parent_span_id) == (agent.span_id, chat.span_id)
    assert chat.end_time_unix_nano <= agent.end_time_unix_nano


def test_a_cancelled_tool_ends_its_span_as_cancelled() -> None:
    facts, spans = run("tool_cancelled")
    assert facts["timed_out"] == 1 and facts["entered"] == ["tool"]
    assert Counter(s.name for s in spans) == {AGENT: 1, CHAT: 1, "execute_tool slow_lookup": 1}
    (agent,) = named(spans, AGENT)
    (tool,) = named(spans, "execute_tool slow_lookup")
    (chat,) = named(spans, CHAT)
    assert_cancelled(agent)
    assert_cancelled(tool)
    assert outcome(chat) == ("UNSET", None, None)  # it answered before the tool ran
    assert tool.parent_span_id == agent.span_id
    assert tool.attributes[sc.GEN_AI_TOOL_CALL_ID] == "call_1"


def test_a_cancelled_lone_retriever_ends_its_span_as_cancelled() -> None:
    facts, spans = run("retriever_cancelled")
    assert facts["timed_out"] == 1 and facts["entered"] == ["retriever"]
    (retrieval,) = spans
    assert retrieval.name == "retrieval SlowRetriever"
    assert_cancelled(retrieval)


def test_a_model_stream_its_consumer_stops_ends_without_error() -> None:
    facts, spans = run("model_stream_stopped")
    assert facts["chunks"] == 2
    chats = named(spans, CHAT)
    assert len(spans) == len(chats) == 2  # stream and astream, one span each
    assert [outcome(s) for s in chats] == [("UNSET", None, True)] * 2
    assert all(s.events == [] and s.attributes[sc.GEN_AI_REQUEST_STREAM] is True for s in chats)


def test_an_agent_stream_its_consumer_stops_ends_without_error() -> None:
    facts, spans = run("agent_stream_stopped")
    assert facts["chunks"] == 3
    agents = {s.attributes[sc.GEN_AI_AGENT_NAME]: s for s in spans if s.name.startswith("invoke_agent")}
    assert sorted(agents) == ["async_agent", "events_agent", "sync_agent"]
    assert {name: outcome(s) for name, s in agents.items()} == {
        name: ("UNSET", None, True) for name in agents
    }
    chats = {s.attributes[sc.GEN_AI_AGENT_NAME]: s for s in named(spans, CHAT)}
    # The sync agent's model had answered; the async ones were cut mid-call by LangGraph
    # when the consumer stopped, which is no failure either.
    assert {name: outcome(s) for name, s in chats.items()} == {
        "sync_agent": ("UNSET", None, None),
        "async_agent": ("UNSET", None, True),
        "events_agent": ("UNSET", None, True),
    }
    assert all(chats[name].parent_span_id == agents[name].span_id for name in agents)
    assert [s.name for s in spans if s.status_code == "ERROR"] == []


def test_an_interrupted_graph_and_its_resume_share_the_thread_and_are_linked() -> None:
    facts, spans = run("interrupt_resume")
    assert facts["paused"] is True and facts["answer"] == "yes!" and facts["gated_answer"] == "draft!"
    assert facts["threads_remembered"] == 0  # both resumes finished: nothing pending
    roots = [s for s in spans if s.is_root]
    assert [s.name for s in roots] == ["invoke_workflow review"] * 2 + ["invoke_workflow gated"] * 2
    assert len({s.trace_id for s in roots}) == 4  # four runs, four traces
    by_trace: dict[str, list[SpanRecord]] = {}
    for span in spans:
        by_trace.setdefault(span.trace_id, []).append(span)

    for (paused, resumed), thread in ((roots[0:2], "thread-42"), (roots[2:4], "thread-43")):
        # Every span of both runs carries the thread as the conversation id, from the start.
        for root in (paused, resumed):
            assert {s.attributes.get(sc.GEN_AI_CONVERSATION_ID) for s in by_trace[root.trace_id]} == {thread}
        assert paused.attributes.get(INTERRUPTED) is True
        assert INTERRUPTED not in resumed.attributes
        assert paused.links == []
        assert [(link.trace_id, link.span_id) for link in resumed.links] == [
            (paused.trace_id, paused.span_id)
        ]
        assert all(s.status_code == "UNSET" for s in by_trace[paused.trace_id] + by_trace[resumed.trace_id])

    # interrupt(): the node that paused says so; the static breakpoint paused between nodes.
    review = by_trace[roots[0].trace_id]
    assert sorted((s.name, s.attributes.get(INTERRUPTED)) for s in review) == [
        ("approve", True), (CHAT, None), ("invoke_workflow review", True), ("write", None),
    ]
    assert sorted(s.name for s in by_trace[roots[1].trace_id]) == [
        "approve", "invoke_workflow review", "publish",
    ]
    assert sorted(s.name for s in by_trace[roots[2].trace_id]) == [CHAT, "invoke_workflow gated", "write"]
    assert sorted(s.name for s in by_trace[roots[3].trace_id]) == ["invoke_workflow gated", "publish"]


@pytest.mark.parametrize(
    ("scenario", "reason"),
    [
        ("open_at_exit", "LangChain run still open at shutdown"),
        ("open_at_uninstrument", "LangChain run still open when uninstrumented"),
    ],
)
def test_a_run_still_open_is_ended_at_shutdown_or_uninstrument(scenario: str, reason: str) -> None:
    facts, spans = run(scenario)
    assert facts["open_before_exit"] == 1
    assert facts.get("open_after_uninstrument", 0) == 0
    (chat,) = spans
    assert chat.name == CHAT
    assert (chat.status_code, chat.status_message) == ("ERROR", reason)
    assert chat.attributes[sc.ERROR_TYPE] == sc.ERROR_TYPE_ABANDONED
