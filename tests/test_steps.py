"""Every step of a session reaches it as one record, whichever door it came through.

The facade (``SentrialClient.track_*``), the native API (``session.tool()/llm()`` and
``session.track_*``) and, in tests/langchain/test_steps.py, the LangChain handler all go
through one invocation lifecycle: the session hears each finished step, keeps it, counts it
into its totals, and at its end hands its listeners the root's own step while the root span
is still open.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from opentelemetry.trace import StatusCode

import sentrial
import sentrial_otel
from sentrial_otel import semconv as sc


class Heard:
    """A step listener that keeps what it hears (the detectors read the same steps at the
    session's end)."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.steps: list[Any] = []
        self.ending: list[tuple[Any, bool]] = []

    def step_ended(self, step: Any) -> None:
        self.steps.append(step)

    def session_ending(self, root: Any) -> None:
        # The root span is still open here, so a detector can still put findings on it.
        self.ending.append((root, self.session.span.is_recording()))


def _span_id(span) -> int:
    return span.context.span_id


def test_facade_steps_reach_the_session_with_their_outcome(spans):
    client = sentrial.SentrialClient()
    session_id = client.create_session(name="s", agent_name="support-agent", user_id="u1")
    session = client.telemetry.open_session(session_id)
    heard = Heard(session)
    session.add_step_listener(heard)

    client.track_tool_call(session_id, "search", {"q": "reset"}, {"hits": 2}, token_count=7,
                           estimated_cost=0.001)
    client.track_tool_call(session_id, "search", {"q": "reset"}, tool_error={"message": "down"})
    client.track_decision(session_id, "search first", confidence=0.3)
    client.track_llm_call(session_id, provider="openai", model="gpt-4o", output="  ",
                          prompt_tokens=100, completion_tokens=20, finish_reason="length")
    client.complete_session(session_id)

    tool_ok, tool_failed, decision, llm = heard.steps
    assert [s.kind for s in heard.steps] == ["tool", "tool", "decision", "llm"]
    first_tool, second_tool = spans.named("execute_tool search")
    assert tool_ok.span_id == _span_id(first_tool) and tool_failed.span_id == _span_id(second_tool)
    assert (tool_ok.name, tool_ok.error_type, tool_ok.total_tokens, tool_ok.cost) == ("search", None, 7, 0.001)
    assert tool_failed.error_type == sc.ERROR_TYPE_TOOL_ERROR
    # Same tool, same arguments: the same hash (what a tool-loop detector compares).
    assert tool_ok.arguments_hash == tool_failed.arguments_hash is not None
    assert decision.confidence == 0.3
    chat = spans.one("chat gpt-4o")
    assert llm.span_id == _span_id(chat)
    assert (llm.name, llm.input_tokens, llm.output_tokens) == ("gpt-4o", 100, 20)
    assert llm.empty_output is True and llm.finish_reasons == ("length",)
    assert llm.cost == pytest.approx(chat.attributes[sc.SENTRIAL_COST_USD])
    assert llm.start_ns <= llm.end_ns

    ((root, root_was_open),) = heard.ending
    assert root_was_open
    root_span = spans.one("invoke_agent support-agent")
    assert (root.kind, root.name, root.span_id) == ("agent", "support-agent", _span_id(root_span))
    assert root.cost == pytest.approx(root_span.attributes[sc.SENTRIAL_SESSION_COST_USD])
    assert root.input_tokens == 100 and root.total_tokens == 127
    assert session.steps == heard.steps


def test_native_timed_steps_reach_the_session(spans):
    telemetry = sentrial_otel.configure()
    with telemetry.session("research-agent") as session:
        heard = Heard(session)
        session.add_step_listener(heard)
        with session.tool("search", {"q": "otel"}) as call:
            call.result = ["paper"]
        with pytest.raises(ValueError):
            with session.tool("parse", {"doc": 1}):
                raise ValueError("bad doc")
        with session.llm("gpt-4o-mini", "openai") as llm:
            llm.finish("a summary", prompt_tokens=10, completion_tokens=4, finish_reason="stop")
    search, parse, chat = heard.steps
    assert (search.kind, search.error_type) == ("tool", None)
    assert (parse.kind, parse.error_type) == ("tool", "ValueError")
    assert search.arguments_hash != parse.arguments_hash
    assert search.duration_s == pytest.approx(
        (spans.one("execute_tool search").end_time - spans.one("execute_tool search").start_time) / 1e9
    )
    assert (chat.kind, chat.empty_output, chat.finish_reasons) == ("llm", False, ("stop",))
    assert heard.ending[0][0].error_type is None


def test_a_broken_listener_never_reaches_the_agent(spans, caplog):
    telemetry = sentrial_otel.configure()

    class Broken:
        def step_ended(self, step: Any) -> None:
            raise KeyError("detector bug")

        def session_ending(self, root: Any) -> None:
            raise KeyError("detector bug")

    with telemetry.session("agent") as session:
        session.add_step_listener(Broken())
        session.track_decision("go")
    assert spans.one("decision agent") and spans.one("invoke_agent agent")
    logged = [r for r in caplog.records if "step listener" in r.getMessage()]
    assert len(logged) == 2
    caplog.clear()  # expected here; the autouse guard checks the other tests


def test_update_state_reaches_every_kind_of_step(spans):
    client = sentrial.SentrialClient()
    session_id = client.create_session(name="s", agent_name="agent", user_id="u")
    client.update_state("step", 1)
    client.track_llm_call(session_id, model="gpt-4o", output="ok")
    client.update_state("step", 2)
    client.track_tool_call(session_id, "lookup", {"id": 1}, {"ok": True})
    client.update_state("step", 3)
    client.track_decision(session_id, "done")
    client.complete_session(session_id)

    chat, tool, decision = (spans.one(n) for n in ("chat gpt-4o", "execute_tool lookup", "decision agent"))
    state = [
        (json.loads(s.attributes["sentrial.state.before"]), json.loads(s.attributes["sentrial.state.after"]))
        for s in (chat, tool, decision)
    ]
    # Each step's "before" is the previous step's "after": no step skipped.
    assert state == [({}, {"step": 1}), ({"step": 1}, {"step": 2}), ({"step": 2}, {"step": 3})]


def test_cancellation_still_ends_the_step(spans):
    telemetry = sentrial_otel.configure()

    async def cancelled_tool() -> None:
        with telemetry.session("agent") as session:
            with session.tool("slow", {"n": 1}):
                raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(cancelled_tool())
    tool = spans.one("execute_tool slow")
    assert tool.end_time is not None and tool.status.status_code is StatusCode.ERROR
    assert tool.attributes[sc.ERROR_TYPE] == "CancelledError"
    assert spans.one("invoke_agent agent").status.status_code is StatusCode.ERROR
