"""Detected issues (SEMCONV.md "Detected issues"): what the detectors put on a session's root
span when it ends, read back as a backend receives it, over real OTLP/HTTP (decoded with
opentelemetry-proto by tests/support/otlp_receiver.py).

Each kind comes from a real session of the facade or the native API (LangChain runs are in
tests/langchain/test_detectors.py); thresholds from arguments and from the environment;
detectors of the application's own, one that raises, and a healthy session with nothing.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

import sentrial
import sentrial_otel
from sentrial_otel import semconv as sc
from sentrial_otel.detectors import Finding, SessionSteps, register_detector, unregister_detector
from tests.support.otlp_receiver import OtlpReceiver, SpanRecord

SRC = str(Path(__file__).resolve().parents[1] / "src")


class Wire:
    """A provider exporting every span at once over OTLP/HTTP to a receiver on 127.0.0.1."""

    def __init__(self, receiver: OtlpReceiver) -> None:
        self.receiver = receiver
        self.provider = TracerProvider()
        self.provider.add_span_processor(
            SimpleSpanProcessor(OTLPSpanExporter(endpoint=receiver.traces_endpoint))
        )

    def spans(self, count: int) -> list[SpanRecord]:
        return self.receiver.wait_for_spans(count, timeout=10)

    def root(self, count: int) -> SpanRecord:
        (root,) = [span for span in self.spans(count) if span.is_root]
        return root

    def span_id(self, count: int, name: str, index: int = 0) -> str:
        named = sorted((s for s in self.spans(count) if s.name == name),
                       key=lambda s: s.start_time_unix_nano)
        return named[index].span_id


@pytest.fixture
def wire(otlp_receiver: OtlpReceiver) -> Iterator[Wire]:
    wire = Wire(otlp_receiver)
    yield wire
    wire.provider.shutdown()


def findings(root: SpanRecord) -> list[dict[str, Any]]:
    return [event.attributes for event in root.events if event.name == sc.SENTRIAL_ISSUE_EVENT]


def issue(kind: str, detail: str, span_id: str | None = None) -> dict[str, Any]:
    found = {sc.SENTRIAL_ISSUE_KIND: kind, sc.SENTRIAL_ISSUE_DETAIL: detail}
    if span_id is not None:
        found[sc.SENTRIAL_ISSUE_SPAN_ID] = span_id
    return found


def test_every_kind_from_a_facade_session(wire: Wire) -> None:
    client = sentrial.SentrialClient(tracer_provider=wire.provider, budget_usd=0.01,
                                     slow_step_seconds=2)
    sid = client.create_session(name="s", agent_name="support-agent", user_id="u1")
    for _ in range(3):
        client.track_tool_call(sid, "search", {"q": "reset"}, {"hits": 0})
    client.track_tool_call(sid, "lookup", {"id": 1}, tool_error={"type": "NotFound", "message": "no"})
    client.track_tool_call(sid, "lookup", {"id": 2}, tool_error={"type": "Timeout", "message": "slow"})
    client.track_decision(sid, "guess", alternatives=["a", "b"], confidence=0.3)
    client.track_llm_call(sid, provider="openai", model="gpt-4o", output="  ",
                          prompt_tokens=10, completion_tokens=0)
    client.track_llm_call(sid, provider="openai", model="gpt-4o-mini", output="The answer is",
                          finish_reason="length", estimated_cost=0.02, duration_ms=3500)
    client.complete_session(sid, success=True)

    total = 9
    root = wire.root(total)
    assert root.attributes[sc.SENTRIAL_SESSION_ISSUES] == [
        "tool_loop", "tool_error_streak", "low_confidence", "empty_output", "truncated_output",
        "over_budget", "slow_step",
    ]
    assert root.attributes[sc.SENTRIAL_SESSION_ISSUE_COUNT] == 7
    assert findings(root) == [
        issue("tool_loop", "search called 3 times with the same arguments",
              wire.span_id(total, "execute_tool search", 2)),
        issue("tool_error_streak", "2 tool calls in a row failed, the last with Timeout",
              wire.span_id(total, "execute_tool lookup", 1)),
        issue("low_confidence", "decision confidence 0.3 below 0.5",
              wire.span_id(total, "decision support-agent")),
        issue("empty_output", "gpt-4o returned no text and no tool call",
              wire.span_id(total, "chat gpt-4o")),
        issue("truncated_output", "gpt-4o-mini stopped at its output limit",
              wire.span_id(total, "chat gpt-4o-mini")),
        issue("over_budget", "cost $0.020025 above the budget of $0.01"),
        issue("slow_step", "llm gpt-4o-mini took 3.5 s, longer than 2 s",
              wire.span_id(total, "chat gpt-4o-mini")),
    ]
    # The findings are the session's end: timed at the root's end, while it was open.
    assert {e.time_unix_nano for e in root.events} == {root.end_time_unix_nano}


def test_a_healthy_session_carries_no_issue(wire: Wire) -> None:
    client = sentrial.SentrialClient(tracer_provider=wire.provider, budget_usd=1.0,
                                     slow_step_seconds=30)
    sid = client.create_session(name="s", agent_name="support-agent", user_id="u1")
    client.track_tool_call(sid, "search", {"q": "reset"}, {"hits": 2})
    client.track_tool_call(sid, "search", {"q": "reset password"}, {"hits": 1})
    client.track_tool_call(sid, "lookup", {"id": 1}, tool_error="not found")
    client.track_tool_call(sid, "lookup", {"id": 7}, {"order": 7})
    client.track_decision(sid, "search first", confidence=0.5)
    client.track_llm_call(sid, provider="openai", model="gpt-4o", output="Go to Settings.",
                          prompt_tokens=10, completion_tokens=5, finish_reason="stop",
                          duration_ms=900)
    client.complete_session(sid, success=True)

    root = wire.root(7)
    assert sc.SENTRIAL_SESSION_ISSUES not in root.attributes
    assert sc.SENTRIAL_SESSION_ISSUE_COUNT not in root.attributes
    assert findings(root) == []


def test_native_session_tool_loop_and_error_streak(wire: Wire) -> None:
    telemetry = sentrial_otel.Telemetry(
        sentrial_otel.resolve_settings(tool_error_streak=3), tracer_provider=wire.provider
    )
    with telemetry.session("billing-agent") as session:
        for attempt in range(3):
            with session.tool("fetch_invoice", {"invoice": "INV-7"}) as call:
                call.result = {"status": "pending", "attempt": attempt}
        for _ in range(3):
            try:
                with session.tool("charge", {"invoice": "INV-7"}):
                    raise ConnectionError("card processor down")
            except ConnectionError:
                pass
        with session.llm("gpt-4o", "openai") as llm:
            llm.finish("Charged.", prompt_tokens=5, completion_tokens=2)

    total = 8
    root = wire.root(total)
    assert root.attributes[sc.SENTRIAL_SESSION_ISSUES] == ["tool_loop", "tool_error_streak"]
    assert root.attributes[sc.SENTRIAL_SESSION_ISSUE_COUNT] == 3
    assert findings(root) == [
        issue("tool_loop", "fetch_invoice called 3 times with the same arguments",
              wire.span_id(total, "execute_tool fetch_invoice", 2)),
        issue("tool_loop", "charge called 3 times with the same arguments",
              wire.span_id(total, "execute_tool charge", 2)),
        issue("tool_error_streak", "3 tool calls in a row failed, the last with ConnectionError",
              wire.span_id(total, "execute_tool charge", 2)),
    ]


def test_thresholds_from_arguments(wire: Wire) -> None:
    client = sentrial.SentrialClient(tracer_provider=wire.provider, tool_loop_repeats=4,
                                     low_confidence=0.2, detect_issues=True)
    sid = client.create_session(name="s", agent_name="a", user_id="u")
    for _ in range(3):
        client.track_tool_call(sid, "search", {"q": "x"}, {"hits": 0})
    client.track_decision(sid, "maybe", confidence=0.3)
    client.complete_session(sid)
    assert findings(wire.root(5)) == []


def test_detection_can_be_turned_off(wire: Wire) -> None:
    client = sentrial.SentrialClient(tracer_provider=wire.provider, detect_issues=False)
    sid = client.create_session(name="s", agent_name="a", user_id="u")
    client.track_decision(sid, "maybe", confidence=0.1)
    client.complete_session(sid)
    root = wire.root(2)
    assert findings(root) == [] and sc.SENTRIAL_SESSION_ISSUES not in root.attributes


def test_a_detector_of_your_own(wire: Wire) -> None:
    seen: list[SessionSteps] = []

    def refund_without_lookup(session: SessionSteps) -> list[Finding]:
        seen.append(session)
        tools = [step for step in session.steps if step.kind == "tool"]
        names = [step.name for step in tools]
        if "refund" in names and "lookup_order" not in names:
            refund = tools[names.index("refund")]
            return [Finding("refund_without_lookup", "refund issued with no order lookup",
                            refund.span_id)]
        return []

    def long_session(session: SessionSteps):  # a generator is an iterable of findings too
        if len(session.steps) >= 2:
            yield Finding("busy", f"{len(session.steps)} steps")

    register_detector(long_session)
    try:
        client = sentrial.SentrialClient(tracer_provider=wire.provider,
                                         detectors=[refund_without_lookup])
        sid = client.create_session(name="s", agent_name="refunds", user_id="u")
        client.track_tool_call(sid, "refund", {"order": "A1"}, {"ok": True}, estimated_cost=0.5)
        client.track_decision(sid, "refund it", confidence=0.9)
        client.complete_session(sid)
    finally:
        unregister_detector(long_session)

    root = wire.root(3)
    assert root.attributes[sc.SENTRIAL_SESSION_ISSUES] == ["refund_without_lookup", "busy"]
    assert findings(root) == [
        issue("refund_without_lookup", "refund issued with no order lookup",
              wire.span_id(3, "execute_tool refund")),
        issue("busy", "2 steps"),
    ]
    (view,) = seen
    assert isinstance(view.steps, tuple)  # read-only: a tuple of NamedTuples
    assert [s.kind for s in view.steps] == ["tool", "decision"]
    assert view.root.kind == "agent" and view.root.cost == pytest.approx(0.5)
    assert (view.agent_name, view.session_id, view.complete) == ("refunds", sid, True)
    assert view.settings.tool_loop_repeats == 3 and view.capture_content is True


def test_a_detector_that_raises_is_reported_once_and_breaks_nothing(
    wire: Wire, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(session: SessionSteps) -> list[Finding]:
        raise KeyError("oops")

    def wrong_type(session: SessionSteps) -> list[Any]:
        return ["not a finding"]

    client = sentrial.SentrialClient(tracer_provider=wire.provider, detectors=[broken, wrong_type])
    for _ in range(2):
        sid = client.create_session(name="s", agent_name="a", user_id="u")
        client.track_decision(sid, "guess", confidence=0.1)
        result = client.complete_session(sid)
        assert result["status"] == "completed"

    roots = [s for s in wire.spans(4) if s.is_root]
    assert len(roots) == 2
    for root in roots:  # the built-in detectors still judged both sessions
        assert root.attributes[sc.SENTRIAL_SESSION_ISSUES] == ["low_confidence"]
    warnings = [r.getMessage() for r in caplog.records if "detector" in r.getMessage()]
    assert warnings == [
        "sentrial: the detector test_a_detector_that_raises_is_reported_once_and_breaks_nothing"
        ".<locals>.broken raised KeyError: 'oops'; its findings are skipped (this is said once "
        "per detector; sessions are not affected)",
        "sentrial: the detector test_a_detector_that_raises_is_reported_once_and_breaks_nothing"
        ".<locals>.wrong_type returned 'not a finding', not a Finding(kind, detail, span_id); its "
        "findings are skipped (this is said once per detector; sessions are not affected)",
    ]


def test_a_raising_detector_in_strict_mode_does_not_raise_either(wire: Wire) -> None:
    def broken(session: SessionSteps) -> list[Finding]:
        raise RuntimeError("bug in my detector")

    client = sentrial.SentrialClient(tracer_provider=wire.provider, fail_silently=False,
                                     detectors=[broken])
    sid = client.create_session(name="s", agent_name="a", user_id="u")
    assert client.complete_session(sid)["status"] == "completed"
    assert wire.root(1).name == "invoke_agent a"


def test_bad_threshold_arguments(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(ValueError, match=r"tool_loop_repeats=1 must be at least 2"):
        sentrial_otel.resolve_settings(fail_silently=False, tool_loop_repeats=1)
    with pytest.raises(TypeError, match=r"budget_usd='a lot' not a number"):
        sentrial_otel.resolve_settings(fail_silently=False, budget_usd="a lot")
    with pytest.raises(TypeError, match="a detector must be callable"):
        sentrial_otel.resolve_settings(fail_silently=False, detectors=["nope"])
    with pytest.raises(TypeError, match="detect_issues must be a bool, not str"):
        sentrial_otel.resolve_settings(fail_silently=False, detect_issues="no")
    settings = sentrial_otel.resolve_settings(low_confidence=1.5, slow_step_seconds=float("nan"),
                                              detect_issues="no")
    assert settings.issues.low_confidence == 0.5
    assert settings.issues.slow_step_s is None and settings.issues.enabled is True
    assert [r.getMessage() for r in caplog.records] == [
        "sentrial: detect_issues must be a bool, not str; using the default",
        "sentrial: low_confidence=1.5 must be at most 1; using the default",
        "sentrial: slow_step_seconds=nan not a finite number; using the default",
    ]


def test_a_session_continued_elsewhere_is_judged_on_what_its_process_saw(wire: Wire) -> None:
    here = sentrial_otel.Telemetry(sentrial_otel.resolve_settings(), tracer_provider=wire.provider)
    elsewhere = sentrial_otel.Telemetry(sentrial_otel.resolve_settings(),
                                        tracer_provider=wire.provider)
    session = here.start_session("support-agent")
    remote = elsewhere.get_session(session.session_id)  # what another process gets by id
    for _ in range(3):
        remote.track_tool_call("search", {"q": "x"}, {"hits": 0})
    session.track_tool_call("search", {"q": "x"}, {"hits": 0})
    session.finish()

    spans = wire.spans(5)
    root = next(s for s in spans if s.is_root)
    assert {s.trace_id for s in spans} == {root.trace_id}  # one trace, one session
    assert findings(root) == []  # 1 call seen here: no loop judged from 4 in the trace


def run_script(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SENTRIAL_"))}
    full_env.update(env)
    full_env["PYTHONPATH"] = SRC + os.pathsep + full_env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=full_env,
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.slow
def test_thresholds_from_the_environment(otlp_receiver: OtlpReceiver, tmp_path: Path) -> None:
    code = """
        import sentrial
        client = sentrial.SentrialClient()
        sid = client.create_session(name="s", agent_name="env-agent", user_id="u")
        client.track_tool_call(sid, "search", {"q": "x"}, {"hits": 0})
        client.track_tool_call(sid, "search", {"q": "x"}, {"hits": 0})
        client.track_tool_call(sid, "pay", {"id": 1}, tool_error="declined")
        client.track_decision(sid, "go", confidence=0.7)
        client.track_llm_call(sid, provider="openai", model="gpt-4o", output="ok",
                              estimated_cost=0.002, duration_ms=1500)
        client.complete_session(sid)
    """
    result = run_script(code, {
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_receiver.endpoint,
        "SENTRIAL_HOME": str(tmp_path),
        "SENTRIAL_TOOL_LOOP_REPEATS": "2",
        "SENTRIAL_TOOL_ERROR_STREAK": "1",
        "SENTRIAL_LOW_CONFIDENCE": "0.75",
        "SENTRIAL_BUDGET_USD": "0.001",
        "SENTRIAL_SLOW_STEP_SECONDS": "not-a-number",
    })
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().splitlines() == [
        "sentrial: SENTRIAL_SLOW_STEP_SECONDS='not-a-number' not a number; using none"
    ]
    spans = otlp_receiver.wait_for_spans(6, timeout=10)
    root = next(s for s in spans if s.is_root)
    assert root.attributes[sc.SENTRIAL_SESSION_ISSUES] == [
        "tool_loop", "tool_error_streak", "low_confidence", "over_budget",
    ]
    assert [f[sc.SENTRIAL_ISSUE_DETAIL] for f in findings(root)] == [
        "search called 2 times with the same arguments",
        "1 tool calls in a row failed, the last with sentrial.tool_error",
        "decision confidence 0.7 below 0.75",
        "cost $0.002 above the budget of $0.001",
    ]


@pytest.mark.slow
def test_detection_off_from_the_environment(otlp_receiver: OtlpReceiver, tmp_path: Path) -> None:
    code = """
        import sentrial
        client = sentrial.SentrialClient()
        sid = client.create_session(name="s", agent_name="env-agent", user_id="u")
        client.track_decision(sid, "go", confidence=0.1)
        client.complete_session(sid)
    """
    result = run_script(code, {"OTEL_EXPORTER_OTLP_ENDPOINT": otlp_receiver.endpoint,
                               "SENTRIAL_HOME": str(tmp_path), "SENTRIAL_DETECT_ISSUES": "false"})
    assert result.returncode == 0, result.stderr
    root = next(s for s in otlp_receiver.wait_for_spans(2, timeout=10) if s.is_root)
    assert findings(root) == []


def test_detectors_see_no_content_when_capture_is_off(wire: Wire, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="sentrial")
    client = sentrial.SentrialClient(tracer_provider=wire.provider, capture_content=False)
    sid = client.create_session(name="s", agent_name="a", user_id="u")
    for _ in range(3):
        client.track_tool_call(sid, "search", {"q": "my secret question"}, {"hits": 0})
    client.complete_session(sid)
    root = wire.root(4)
    # The loop is still found (arguments are compared by hash, in the process) and the
    # detail names the tool only.
    assert findings(root) == [issue("tool_loop", "search called 3 times with the same arguments",
                                    wire.span_id(4, "execute_tool search", 2))]
    assert b"my secret question" not in wire.receiver.raw_bytes()


def test_another_instrumentations_llm_span_is_judged_too(wire: Wire) -> None:
    """An LLM span another instrumentation makes inside the session (as the OpenAI one
    does) is one of the session's steps: its finish reason and duration are judged."""
    telemetry = sentrial_otel.Telemetry(sentrial_otel.resolve_settings(),
                                        tracer_provider=wire.provider)
    tracer = wire.provider.get_tracer("opentelemetry.instrumentation.openai_v2")
    with telemetry.session("support-agent"):
        with tracer.start_as_current_span("chat gpt-4o", attributes={
            sc.GEN_AI_OPERATION_NAME: sc.OP_CHAT, sc.GEN_AI_REQUEST_MODEL: "gpt-4o",
        }) as span:
            span.set_attributes({sc.GEN_AI_USAGE_INPUT_TOKENS: 20, sc.GEN_AI_USAGE_OUTPUT_TOKENS: 256,
                                 sc.GEN_AI_RESPONSE_FINISH_REASONS: ["length"]})
    assert findings(wire.root(2)) == [
        issue("truncated_output", "gpt-4o stopped at its output limit", wire.span_id(2, "chat gpt-4o")),
    ]
