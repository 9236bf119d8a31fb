"""A session's root span is handed to the SDK when the session ends (docs/reliability.md).

What a user or a span processor sees must not change but for the moment: processors'
``on_start`` sees the root's begin time and begin-time parent context, at the end; what
code sets on ``trace.get_current_span()`` while the session is open arrives on the root;
the sampler is asked once per session; spans started in the session parent on the root.
``SENTRIAL_DEFER_ROOT_SPAN=false`` (or ``defer_root_span=False``) and a tracer provider
that is not the SDK's start the root at begin, as before.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace import Span as SdkSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_ON,
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import Link, SpanContext, StatusCode, TraceState

import sentrial_otel
from sentrial_otel._internal.spans import ids

ROOT = "invoke_agent support-agent"


class Starts(SpanProcessor):
    """Every ``on_start`` call: the span, its name and start time, the parent context, and
    which sessions were still open at that moment."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.open_sessions: Any = None

    def on_start(self, span: SdkSpan, parent_context: Context | None = None) -> None:
        self.calls.append({
            "name": span.name, "start_time": span.start_time, "parent_context": parent_context,
            "attributes": dict(span.attributes or {}), "span_id": span.get_span_context().span_id,
            "open": self.open_sessions() if self.open_sessions else None,
        })

    def named(self, name: str) -> list[dict[str, Any]]:
        return [call for call in self.calls if call["name"] == name]


class CountingSampler(Sampler):
    """A sampler that counts its calls for session roots (what a rate limiter would count)."""

    def __init__(self, inner: Sampler = ALWAYS_ON) -> None:
        self.inner = inner
        self.root_calls = 0

    def should_sample(self, parent_context: Any, trace_id: int, name: str, *args: Any,
                      **kwargs: Any) -> SamplingResult:
        if name.startswith("invoke_agent"):
            self.root_calls += 1
        return self.inner.should_sample(parent_context, trace_id, name, *args, **kwargs)

    def get_description(self) -> str:
        return "CountingSampler"


def _pipeline(sampler: Sampler = ALWAYS_ON, **settings: Any):
    provider = TracerProvider(sampler=sampler)
    starts = Starts()
    exporter = InMemorySpanExporter()
    provider.add_span_processor(starts)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry = sentrial_otel.configure(tracer_provider=provider, **settings)
    starts.open_sessions = lambda: [s.session_id for s in telemetry.open_sessions() if s.is_open]
    return telemetry, provider, starts, exporter


def _one(exporter: InMemorySpanExporter, name: str) -> ReadableSpan:
    found = [span for span in exporter.get_finished_spans() if span.name == name]
    assert len(found) == 1, [span.name for span in exporter.get_finished_spans()]
    return found[0]


def test_on_start_of_a_root_runs_at_the_end_with_its_begin_time_and_parent_context():
    telemetry, provider, starts, exporter = _pipeline()
    outer = provider.get_tracer("app").start_span("http request")
    with trace.use_span(outer, end_on_exit=True):
        session = telemetry.start_session("support-agent", user_id="u-1")
        begun = session.start_ns
        assert starts.named(ROOT) == []  # held back while the session is open
        with session.tool("search", {"q": "x"}) as call:
            call.result = "found"
        time.sleep(0.01)
        session.finish()

    (start,) = starts.named(ROOT)
    assert start["open"] == []  # started once the session had ended
    assert start["start_time"] == begun
    # The root begins in an empty context (a session is its own trace), then as now.
    assert start["parent_context"] == Context()
    assert start["attributes"]["sentrial.session.id"] == session.session_id
    assert start["attributes"]["user.id"] == "u-1"
    root = _one(exporter, ROOT)
    assert root.parent is None
    assert root.start_time == begun
    assert root.end_time is not None and root.end_time > begun + 5_000_000
    assert root.context.span_id == ids.root_span_id_for(session.session_id)
    # The span current at begin is linked, as before.
    assert [link.context.span_id for link in root.links] == [outer.get_span_context().span_id]
    assert root.attributes["sentrial.session.success"] is True


def test_what_code_sets_on_the_current_span_arrives_on_the_root():
    telemetry, _, _, exporter = _pipeline()
    linked = SpanContext(0xABC, 0xDEF, is_remote=True)
    with telemetry.session("support-agent") as session:
        span = trace.get_current_span()
        assert span.get_span_context() == session.span.get_span_context()
        assert span.is_recording()
        span.set_attribute("app.tenant", "acme")
        values = ["a", "b"]
        span.set_attribute("app.tags", values)
        values.append("c")  # set as it was when set
        span.set_attributes({"app.region": "eu", "app.tries": 2})
        span.add_event("cache miss", {"key": "k1"}, timestamp=1_700_000_000_000_000_000)
        before = time.time_ns()
        span.add_event("retry")
        after = time.time_ns()
        span.add_link(linked, {"why": "retried"})
        span.update_name("invoke_agent renamed")
        try:
            raise ValueError("bad input")
        except ValueError as error:
            span.record_exception(error)
        span.set_status(StatusCode.OK)

    root = _one(exporter, "invoke_agent renamed")
    assert root.attributes["app.tenant"] == "acme"
    assert root.attributes["app.tags"] == ("a", "b")
    assert root.attributes["app.region"] == "eu" and root.attributes["app.tries"] == 2
    assert root.attributes["sentrial.session.success"] is True  # the session's own end
    events = {event.name: event for event in root.events}
    assert events["cache miss"].timestamp == 1_700_000_000_000_000_000
    assert dict(events["cache miss"].attributes) == {"key": "k1"}
    assert before <= events["retry"].timestamp <= after  # timed when it was added
    assert events["exception"].attributes["exception.type"] == "ValueError"
    assert events["exception"].attributes["exception.message"] == "bad input"
    assert "raise ValueError" in events["exception"].attributes["exception.stacktrace"]
    assert [(link.context.span_id, dict(link.attributes)) for link in root.links] == [
        (0xDEF, {"why": "retried"})
    ]
    assert root.status.status_code is StatusCode.OK
    assert root.context.span_id == ids.root_span_id_for(session.session_id)


def test_a_failed_session_keeps_the_errors_set_while_it_ran():
    telemetry, _, _, exporter = _pipeline()
    with pytest.raises(RuntimeError), telemetry.session("support-agent"):
        trace.get_current_span().set_attribute("app.step", "fetch")
        raise RuntimeError("backend down")
    root = _one(exporter, ROOT)
    assert root.attributes["app.step"] == "fetch"
    assert root.status.status_code is StatusCode.ERROR
    assert root.attributes["error.type"] == "RuntimeError"
    assert [event.name for event in root.events] == ["exception"]


def test_the_sampler_is_asked_once_per_session_and_its_decision_holds():
    sampler = CountingSampler(ParentBased(TraceIdRatioBased(0.5)))
    telemetry, _, _, exporter = _pipeline(sampler)
    kept = []
    for _ in range(60):
        session = telemetry.start_session("support-agent")
        with session.tool("search") as call:
            call.result = "ok"
        sampled = session.span.get_span_context().trace_flags.sampled
        assert session.span.is_recording() is sampled
        kept.append((session.session_id, sampled))
        session.finish()
    assert sampler.root_calls == 60
    roots = {span.context.trace_id for span in exporter.get_finished_spans() if span.name == ROOT}
    tools = {span.context.trace_id for span in exporter.get_finished_spans()
             if span.name == "execute_tool search"}
    expected = {ids.trace_id_for(session_id) for session_id, sampled in kept if sampled}
    assert 0 < len(expected) < 60  # both decisions were made
    assert roots == expected
    assert tools == expected  # each session kept or dropped whole


class Stating(Sampler):
    """Samples everything, with a trace state of its own."""

    def should_sample(self, *args: Any, **kwargs: Any) -> SamplingResult:
        return SamplingResult(Decision.RECORD_AND_SAMPLE, None, TraceState([("vendor", "7")]))

    def get_description(self) -> str:
        return "Stating"


def test_a_trace_state_from_the_sampler_is_on_the_root_and_its_children():
    telemetry, _, _, exporter = _pipeline(Stating())
    with telemetry.session("support-agent") as session, session.tool("search"):
        pass
    root = _one(exporter, ROOT)
    tool = _one(exporter, "execute_tool search")
    assert root.context.trace_state.get("vendor") == "7"
    assert tool.parent.trace_state.get("vendor") == "7"


def test_other_spans_and_steps_parent_on_the_root():
    telemetry, provider, starts, exporter = _pipeline()
    with telemetry.session("support-agent") as session:
        with provider.get_tracer("some.instrumentation").start_as_current_span("http call"):
            pass
        with session.tool("search"):
            pass
    root = _one(exporter, ROOT)
    for name in ("http call", "execute_tool search"):
        child = _one(exporter, name)
        assert child.context.trace_id == root.context.trace_id
        assert child.parent.span_id == root.context.span_id
        assert child.parent.is_remote is False
    # Children start before their root now; the stamping processor still stamps them.
    assert _one(exporter, "http call").attributes["sentrial.session.id"] == session.session_id
    assert [call["name"] for call in starts.calls][-1] == ROOT


@pytest.mark.parametrize("how", ["env", "argument"])
def test_deferral_off_starts_the_root_at_begin(how, monkeypatch):
    if how == "env":
        monkeypatch.setenv("SENTRIAL_DEFER_ROOT_SPAN", "false")
        telemetry, _, starts, exporter = _pipeline()
    else:
        telemetry, _, starts, exporter = _pipeline(defer_root_span=False)
    session = telemetry.start_session("support-agent")
    assert len(starts.named(ROOT)) == 1  # started as the session began
    assert isinstance(session.span, SdkSpan)
    session.finish()
    assert _one(exporter, ROOT).context.span_id == ids.root_span_id_for(session.session_id)


class _WrappingTracer(trace.Tracer):
    """A tracer that is not the SDK's: it only forwards to one."""

    def __init__(self, inner: trace.Tracer) -> None:
        self.inner = inner

    def start_span(self, *args: Any, **kwargs: Any) -> trace.Span:
        return self.inner.start_span(*args, **kwargs)

    def start_as_current_span(self, *args: Any, **kwargs: Any) -> Any:
        return self.inner.start_as_current_span(*args, **kwargs)


class _WrappingProvider(trace.TracerProvider):
    def __init__(self, inner: TracerProvider) -> None:
        self.inner = inner

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
        return _WrappingTracer(self.inner.get_tracer(*args, **kwargs))


def test_a_provider_that_is_not_the_sdks_gets_its_root_at_begin():
    inner = TracerProvider()
    starts = Starts()
    exporter = InMemorySpanExporter()
    inner.add_span_processor(starts)
    inner.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry = sentrial_otel.configure(tracer_provider=_WrappingProvider(inner))
    with telemetry.session("support-agent") as session:
        assert len(starts.named(ROOT)) == 1  # no way to pin its sampling: started now
        assert trace.get_current_span() is session.span
        trace.get_current_span().set_attribute("app.tenant", "acme")
    (root,) = [span for span in exporter.get_finished_spans() if span.name == ROOT]
    assert root.attributes["app.tenant"] == "acme"


def test_a_dropped_root_records_nothing_and_starts_nothing():
    class Dropping(Sampler):
        def should_sample(self, *args: Any, **kwargs: Any) -> SamplingResult:
            return SamplingResult(Decision.DROP)

        def get_description(self) -> str:
            return "Dropping"

    telemetry, _, starts, exporter = _pipeline(Dropping())
    with telemetry.session("support-agent") as session:
        assert not trace.get_current_span().is_recording()
        trace.get_current_span().set_attribute("app.tenant", "acme")
        with session.tool("search"):
            pass
    assert starts.calls == [] and exporter.get_finished_spans() == ()
    assert session.span.get_span_context().span_id == ids.root_span_id_for(session.session_id)


def test_calls_after_the_end_go_to_the_ended_span(caplog):
    telemetry, _, _, exporter = _pipeline()
    with telemetry.session("support-agent") as session:
        pass
    assert not session.span.is_recording()  # as an ended SDK span
    session.span.set_attribute("late", 1)
    assert "late" not in _one(exporter, ROOT).attributes


def test_a_root_abandoned_at_the_cap_is_started_and_delivered(monkeypatch):
    from sentrial_otel._internal import engine

    monkeypatch.setattr(engine, "MAX_OPEN_SESSIONS", 2)
    telemetry, _, starts, exporter = _pipeline()
    first = telemetry.start_session("support-agent")
    first_begun = first.start_ns
    second = telemetry.start_session("support-agent")
    telemetry.start_session("support-agent")  # the first is ended as abandoned
    (abandoned,) = [span for span in exporter.get_finished_spans() if span.name == ROOT]
    assert abandoned.context.span_id == ids.root_span_id_for(first.session_id)
    assert abandoned.start_time == first_begun
    assert abandoned.attributes["sentrial.session.abandoned"] is True
    assert [call["span_id"] for call in starts.named(ROOT)] == [abandoned.context.span_id]
    assert second.is_open
    for session in telemetry.open_sessions():
        session.finish()


def test_links_of_a_session_begun_in_its_parent_session():
    telemetry, _, _, exporter = _pipeline()
    with telemetry.session("support-agent") as parent:
        child = telemetry.start_session("helper", parent_session_id=parent.session_id)
        child.finish()
    helper = _one(exporter, "invoke_agent helper")
    assert [link.context.span_id for link in helper.links] == [
        ids.root_span_id_for(parent.session_id)
    ]
    assert isinstance(helper.links[0], Link)


# --- The stand-in against the SDK span it stands for ------------------------------------------
# The same calls on a root started at begin (defer_root_span=False: the SDK's own span) and on a
# held-back root must give the same finished span and the same SDK warnings.


def _root_after(calls: Any, *, defer: bool, caplog: Any, limits: Any = None) -> tuple[Any, list]:
    from opentelemetry.sdk.trace import SpanLimits

    provider = TracerProvider(span_limits=limits or SpanLimits())
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry = sentrial_otel.configure(tracer_provider=provider, defer_root_span=defer)
    caplog.clear()
    with telemetry.session("support-agent", session_id="s-diff"):
        calls(trace.get_current_span())
    warnings = sorted(
        record.getMessage() for record in caplog.records if record.name.startswith("opentelemetry")
    )
    (root,) = [span for span in exporter.get_finished_spans() if span.parent is None]
    return root, warnings


def _shape(span: ReadableSpan) -> dict[str, Any]:
    """What a backend gets of a span, but for its timing (the session's own end attributes
    hold no time-dependent values)."""
    return {
        "name": span.name,
        "context": span.context,
        "status": (span.status.status_code, span.status.description),
        "attributes": dict(span.attributes),
        "dropped_attributes": span.dropped_attributes,
        "events": [(e.name, e.timestamp, dict(e.attributes), e.dropped_attributes)
                   for e in span.events],
        "dropped_events": span.dropped_events,
        "links": [(link.context, dict(link.attributes), link.dropped_attributes)
                  for link in span.links],
        "dropped_links": span.dropped_links,
    }


def _assert_same_as_the_sdk(calls: Any, caplog: Any, limits: Any = None) -> ReadableSpan:
    direct, direct_warnings = _root_after(calls, defer=False, caplog=caplog, limits=limits)
    held, held_warnings = _root_after(calls, defer=True, caplog=caplog, limits=limits)
    assert _shape(held) == _shape(direct)
    assert held_warnings == direct_warnings
    return held


def test_under_span_limits_a_held_back_root_is_the_span_the_sdk_builds(caplog):
    from opentelemetry.sdk.trace import SpanLimits
    from opentelemetry.trace import Status

    def calls(span: Any) -> None:
        span.set_attribute("bad", {"a": 1})
        span.set_attribute("long", "abcdefghijkl")
        span.set_attribute("mixed", [1, "a"])
        span.set_attribute("", "empty key")
        span.set_attributes({f"k{i}": i for i in range(6)})
        span.set_attribute("k0", "again")
        for i in range(5):
            span.add_event(f"e{i}", {"x": "y" * 20, "a": 1, "b": 2}, timestamp=1000 + i)
        span.add_link(SpanContext(0, 0, False), {"only": "attributes"})
        span.add_link(SpanContext(0, 0, False))
        span.add_link(SpanContext(1, 2, True, trace_state=TraceState([("k", "v")])))
        for i in range(4):
            span.add_link(SpanContext(5, 10 + i, True), {"i": i, "j": "jjjjjjjj"})
        span.update_name("invoke_agent renamed")
        span.set_status(Status(StatusCode.ERROR, "boom"), "ignored, with a warning")
        span.set_status(StatusCode.UNSET)
        span.set_status(StatusCode.OK, "ignored, with a warning")
        span.set_status(StatusCode.ERROR, "after OK: ignored")
        try:
            raise KeyError("x")
        except KeyError as error:
            span.record_exception(error, {"extra": "1"}, timestamp=5000, escaped=True)

    limits = SpanLimits(max_span_attributes=12, max_attribute_length=5, max_events=3,
                        max_links=3, max_event_attributes=2, max_link_attributes=1)
    held = _assert_same_as_the_sdk(calls, caplog, limits)
    assert held.dropped_attributes and held.dropped_events and held.dropped_links  # limits hit
    assert held.status.status_code is StatusCode.OK


def test_values_in_event_and_link_attributes_are_kept_as_they_were_when_added(caplog):
    def calls(span: Any) -> None:
        tags = ["a"]
        span.add_event("tagged", {"tags": tags}, timestamp=1)
        span.add_link(SpanContext(5, 6, True), {"tags": tags})
        try:
            raise ValueError("x")
        except ValueError as error:
            span.record_exception(error, {"tags": tags}, timestamp=2)
        tags.append("added later")

    held = _assert_same_as_the_sdk(calls, caplog)
    assert held.events[0].attributes["tags"] == ("a",)


def test_the_current_span_as_a_context_manager_records_what_escapes_it(caplog):
    def calls(span: Any) -> None:
        try:
            with span:
                raise ValueError("escaped")
        except ValueError:
            pass

    direct, _ = _root_after(calls, defer=False, caplog=caplog)
    held, _ = _root_after(calls, defer=True, caplog=caplog)
    # (The SDK's span also ends there, so the session's end attributes do not reach it; the
    # held-back root is ended by its session only.)
    for root in (direct, held):
        assert [event.name for event in root.events] == ["exception"]
        assert root.events[0].attributes["exception.escaped"] == "True"
        assert root.status.status_code is StatusCode.ERROR
        assert root.status.description == "ValueError: escaped"


def test_use_span_with_end_on_exit_records_the_error_and_leaves_the_end_to_the_session():
    telemetry, _, _, exporter = _pipeline()
    with telemetry.session("support-agent") as session:
        with pytest.raises(ValueError), trace.use_span(session.span, end_on_exit=True):
            raise ValueError("in use_span")
        assert session.span.is_recording()  # still open: the session ends its root
        session.span.set_attribute("after", "use_span")
    root = _one(exporter, ROOT)
    assert root.attributes["after"] == "use_span"
    assert root.attributes["sentrial.session.success"] is True
    assert [event.name for event in root.events] == ["exception"]
    assert root.status.status_code is StatusCode.ERROR


def test_a_log_handler_that_writes_to_the_current_span_during_the_hand_over():
    """The replay warns (an invalid value) while the stand-in is still current; a handler
    that turns log records into span events (as log bridges do) must neither deadlock nor
    lose its event."""
    import logging
    import threading

    class ToSpanEvents(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            trace.get_current_span().add_event("log", {"message": record.getMessage()})

    handler = ToSpanEvents(level=logging.WARNING)
    otel_logger = logging.getLogger("opentelemetry")
    otel_logger.addHandler(handler)
    telemetry, _, _, exporter = _pipeline()
    failures: list[BaseException] = []

    def run() -> None:
        try:
            with telemetry.session("support-agent"):
                trace.get_current_span().set_attribute("bad", object())
        except BaseException as error:  # noqa: BLE001 - reported by the test
            failures.append(error)

    worker = threading.Thread(target=run, daemon=True)
    try:
        worker.start()
        worker.join(timeout=20)
    finally:
        otel_logger.removeHandler(handler)
    assert not worker.is_alive(), "deadlocked in the hand-over"
    assert failures == []
    root = _one(exporter, ROOT)
    assert [event.name for event in root.events] == ["log"]
    assert "Invalid type" in root.events[0].attributes["message"]


def test_a_root_written_to_again_and_again_holds_what_an_sdk_span_holds(caplog):
    """A held-back root must not keep more than the SDK span would: a session that sets a
    progress attribute at every step stays bounded (its root is handed to the SDK early)."""
    import tracemalloc

    telemetry, _, starts, _ = _pipeline()
    session = telemetry.start_session("support-agent")
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for step in range(20_000):
            session.span.set_attribute("app.progress", step)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    session.finish()
    assert held < 512 * 1024, held  # kept call by call: ~3 MB
    assert len(starts.named(ROOT)) == 1

    def calls(span: Any) -> None:
        for step in range(300):
            span.set_attribute(f"app.step.{step % 150}", step)
            span.add_event("step", {"n": step}, timestamp=10 + step)

    _assert_same_as_the_sdk(calls, caplog)


def test_pool_threads_writing_to_the_root_while_its_session_ends_lose_nothing_silently(caplog):
    """Each write from a pool thread either lands on the root or meets the SDK's ended-span
    warning; none raises, none hangs."""
    import logging
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from opentelemetry.sdk.trace import SpanLimits

    provider = TracerProvider(span_limits=SpanLimits(max_span_attributes=100_000))
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry = sentrial_otel.configure(tracer_provider=provider)
    caplog.set_level(logging.WARNING, logger="opentelemetry.sdk.trace")
    writes = 3_000
    started = threading.Barrier(5)
    written = threading.Event()

    def write(worker: int) -> None:
        span = trace.get_current_span()  # the context crossed into the pool (executors.py)
        started.wait(timeout=30)
        for n in range(writes):
            span.set_attribute(f"app.w{worker}.{n}", n)
            if n == 50:
                written.set()

    from sentrial_otel._internal.process import executors

    was_instrumented = executors.is_instrumented()
    executors.instrument()
    session = telemetry.start_session("support-agent")
    session.activate()
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            futures = [pool.submit(write, worker) for worker in range(4)]
            started.wait(timeout=30)
            written.wait(timeout=30)
            session.finish()  # while the workers write
            for future in futures:
                future.result(timeout=120)
    finally:
        if not was_instrumented:
            executors.uninstrument()
    root = _one(exporter, ROOT)
    landed = sum(1 for key in root.attributes if key.startswith("app.w"))
    refused = sum(1 for record in caplog.records
                  if record.getMessage() == "Setting attribute on ended span.")
    assert landed and landed + refused == 4 * writes


def test_inject_in_an_open_session_writes_the_roots_traceparent():
    from opentelemetry import propagate

    telemetry, _, _, exporter = _pipeline(Stating())
    with telemetry.session("support-agent"):
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
    root = _one(exporter, ROOT)
    flags = int(root.context.trace_flags)
    assert carrier["traceparent"] == (
        f"00-{root.context.trace_id:032x}-{root.context.span_id:016x}-{flags:02x}"
    )
    assert root.context.trace_flags.sampled
    assert carrier["tracestate"] == "vendor=7"


def test_a_session_begun_under_an_incoming_request_links_to_it():
    from opentelemetry import propagate

    telemetry, _, starts, exporter = _pipeline()
    incoming = propagate.extract(
        {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
    )
    token = otel_context.attach(incoming)
    try:
        with telemetry.session("support-agent"):
            pass
    finally:
        otel_context.detach(token)
    root = _one(exporter, ROOT)
    assert root.parent is None
    assert [(link.context.trace_id, link.context.span_id, link.context.is_remote)
            for link in root.links] == [(0x0af7651916cd43dd8448eb211c80319c, 0xb7ad6b7169203331, True)]
    assert starts.named(ROOT)[0]["parent_context"] == Context()


def test_a_custom_samplers_attributes_and_the_applications_provider_untouched():

    class Tagging(Sampler):
        calls = 0

        def should_sample(self, parent_context: Any, trace_id: int, name: str, kind: Any = None,
                          attributes: Any = None, *args: Any, **kwargs: Any) -> SamplingResult:
            if name.startswith("invoke_agent"):
                Tagging.calls += 1
            return SamplingResult(Decision.RECORD_AND_SAMPLE,
                                  {**(attributes or {}), "sampler.rule": "keep"},
                                  TraceState([("rule", "keep")]))

        def get_description(self) -> str:
            return "Tagging"

    sampler = Tagging()
    telemetry, provider, starts, exporter = _pipeline(sampler)
    with telemetry.session("support-agent", user_id="u-1"):
        app_span = provider.get_tracer("app").start_span("app work")
        app_span.end()
    root = _one(exporter, ROOT)
    assert Tagging.calls == 1
    assert root.attributes["sampler.rule"] == "keep" and root.attributes["user.id"] == "u-1"
    assert starts.named(ROOT)[0]["attributes"]["sampler.rule"] == "keep"
    assert root.context.trace_state.get("rule") == "keep"
    # Our tracer's wrapper is ours alone: the application's provider and tracers keep theirs.
    assert provider.sampler is sampler
    assert provider.get_tracer("app").sampler is sampler
    assert _one(exporter, "app work").parent.span_id == root.context.span_id


def test_the_sdks_own_span_metrics_count_a_held_back_root_at_its_end(monkeypatch):
    """As docs/reliability.md says: ``otel.sdk.span.started`` counts a root when its session
    ends, ``otel.sdk.span.live`` never counts an open session's root."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    monkeypatch.setenv("OTEL_PYTHON_SDK_INTERNAL_METRICS_ENABLED", "true")
    reader = InMemoryMetricReader()
    meters = MeterProvider(metric_readers=[reader])
    telemetry = sentrial_otel.configure(
        tracer_provider=TracerProvider(meter_provider=meters), meter_provider=meters
    )

    def span_metrics() -> dict[str, int]:
        data = reader.get_metrics_data()
        return {
            metric.name: sum(point.value for point in metric.data.data_points)
            for resource in (data.resource_metrics if data else ())
            for scope in resource.scope_metrics for metric in scope.metrics
            if metric.name.startswith("otel.sdk.span.")
        }

    session = telemetry.start_session("support-agent")
    assert span_metrics().get("otel.sdk.span.started", 0) == 0
    assert span_metrics().get("otel.sdk.span.live", 0) == 0
    session.finish()
    assert span_metrics() == {"otel.sdk.span.started": 1, "otel.sdk.span.live": 0}
    meters.shutdown()


def test_every_span_call_after_the_end_meets_the_sdks_warning_not_an_error(caplog):
    import logging

    telemetry, _, _, exporter = _pipeline()
    with telemetry.session("support-agent") as session:
        pass
    caplog.clear()
    caplog.set_level(logging.WARNING, logger="opentelemetry")
    span = session.span
    span.set_attribute("late", 1)
    span.set_attributes({"late": 2})
    span.add_event("late")
    span.add_link(SpanContext(5, 6, True))
    span.update_name("late")
    span.set_status(StatusCode.ERROR)
    span.record_exception(ValueError("late"))
    span.end()
    with trace.use_span(span, end_on_exit=True):
        pass
    root = _one(exporter, ROOT)
    assert "late" not in root.attributes and root.events == () and root.links == ()
    assert root.status.status_code is StatusCode.UNSET
    assert len(caplog.records) >= 7
    assert {record.name for record in caplog.records} == {"opentelemetry.sdk.trace"}


def test_a_session_end_does_not_wait_for_ever_on_a_root_another_thread_is_starting(
    monkeypatch,
):
    """A thread that started the root early (past the kept calls) and never returns from
    ``on_start`` (gone in a fork child, or stuck) must not hang the session's end."""
    import threading

    from sentrial_otel._internal.spans import deferral

    monkeypatch.setattr(deferral, "_START_WAIT_S", 0.2)
    release = threading.Event()

    class Stuck(SpanProcessor):
        def on_start(self, span: SdkSpan, parent_context: Context | None = None) -> None:
            if span.name == ROOT:
                release.wait(timeout=30)

    telemetry, provider, _, _ = _pipeline()
    provider.add_span_processor(Stuck())
    session = telemetry.start_session("support-agent")
    writer = threading.Thread(
        target=lambda: [session.span.set_attribute(f"app.{n}", n)
                        for n in range(deferral.MAX_KEPT_CALLS + 1)],
        daemon=True,
    )
    writer.start()
    while session.span._held is not None:  # the writer is starting the root
        time.sleep(0.001)
    ended = threading.Thread(target=session.finish, daemon=True)
    ended.start()
    ended.join(timeout=20)
    assert not ended.is_alive()
    assert not session.is_open
    release.set()
    writer.join(timeout=20)
    assert not writer.is_alive()
