"""A session's root span held back until the session ends (``SENTRIAL_DEFER_ROOT_SPAN``).

An SDK span holds about 3 KB while it is open (its attribute, event and link containers,
its context), and a service may keep tens of thousands of sessions open. So by default a
session's root is handed to the SDK only when the session ends (finished, failed, or
abandoned at exit or at the open-session cap), with the begin time as its start time and
the context it began in as its parent context: span processors' ``on_start`` sees what it
saw before, at the session's end instead of its beginning.

Until then the session's span is a :class:`RootStandIn`: it has the root's planned ids
(``ids.py``) and its sampling decision, so spans started under it (ours, other
instrumentations') parent on the root exactly as before; what code sets on it (attributes,
events, links, status, a new name) is kept and replayed onto the SDK span, in order, so the
SDK's limits and warnings apply as if the calls had gone to it. A root written to more than
``MAX_KEPT_CALLS`` times is started at once instead (its calls would hold more than the SDK
span does).

The sampler is asked once, at begin: children need the sampled flag at once, and a
rate-limiting sampler must count a session once. :class:`PinnedSampler`, put on our own
tracer only (never on the application's provider), gives the SDK span that decision.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from types import TracebackType
from typing import Any, NamedTuple

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk import trace as sdk_trace
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import (
    Link,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
)

from sentrial_otel._internal.forksafe import module_lock
from sentrial_otel._internal.spans.ids import _PLANNED, planned_ids
from sentrial_otel._internal.spans.stamping import STAMPED_AT_START

_PINNED: ContextVar[SamplingResult | None] = ContextVar("sentrial_pinned_sampling", default=None)
# One lock for every stand-in (a lock each would cost memory in each open session): taken
# only by calls on a root while it is held back, and by its hand-over.
_HAND_OVER_LOCK = module_lock(globals(), "_HAND_OVER_LOCK")


class PinnedSampler(Sampler):
    """Our tracer's sampler: the application's, except for a held-back root at its end,
    which gets the decision the application's sampler made at begin."""

    def __init__(self, sampler: Sampler) -> None:
        self.sampler = sampler

    def should_sample(self, *args: Any, **kwargs: Any) -> SamplingResult:
        pinned = _PINNED.get()
        if pinned is not None:
            return pinned
        return self.sampler.should_sample(*args, **kwargs)

    def get_description(self) -> str:
        return self.sampler.get_description()


def pin_sampling_on(tracer: trace.Tracer) -> bool:
    """Let our tracer give a held-back root its begin-time decision; False for a tracer that
    is not the SDK's (its roots are then started at begin, as before)."""
    if not isinstance(tracer, sdk_trace.Tracer) or getattr(tracer, "sampler", None) is None:
        return False
    if not isinstance(tracer.sampler, PinnedSampler):
        tracer.sampler = PinnedSampler(tracer.sampler)
    return True


class Held(NamedTuple):
    """What a held-back root's SDK span starts with, besides its context."""

    tracer: Any
    name: str
    kind: SpanKind
    start_ns: int
    decision: Decision
    attributes: Mapping[str, Any]
    """As the sampler returned them (the start attributes, for the standard samplers)."""
    links: Sequence[Link] | None


def hold_back(
    tracer: Any,
    name: str,
    kind: SpanKind,
    attributes: dict[str, Any],
    links: Sequence[Link] | None,
    planned: tuple[int, int],
    start_ns: int,
) -> RootStandIn:
    """Sample a root now, as the SDK's ``start_span`` would, and return its stand-in."""
    trace_id, span_id = planned
    with planned_ids(trace_id, span_id):
        # The arguments the SDK passes; the root begins in an empty context (its own trace).
        result = tracer.sampler.should_sample(
            otel_context.Context(), trace_id, name, kind, attributes, links or ()
        )
        random_trace_id = tracer.id_generator.is_trace_id_random()
    flags = TraceFlags.SAMPLED if result.decision.is_sampled() else TraceFlags.DEFAULT
    if random_trace_id:
        flags |= TraceFlags.RANDOM_TRACE_ID
    context = SpanContext(
        trace_id, span_id, is_remote=False, trace_flags=TraceFlags(flags),
        trace_state=result.trace_state,
    )
    held = None
    if result.decision.is_recording():  # a dropped root is never started
        held = Held(
            tracer, name, kind, start_ns, result.decision, result.attributes,
            tuple(links or ()) or None,
        )
    return RootStandIn(context, held)


def _start(context: SpanContext, held: Held) -> trace.Span:
    """The SDK span of a held-back root: backdated, with its begin-time sampling decision."""
    # The context variables set directly, not through context managers: this runs for
    # every session ended at exit (tens of thousands within the budget).
    planned = _PLANNED.set((context.trace_id, context.span_id))
    pinned = _PINNED.set(SamplingResult(held.decision, held.attributes, context.trace_state))
    # Our own processors know the root (stamping.py, rollup.py), as at a start at begin.
    stamped = STAMPED_AT_START.set(True)
    try:
        # The empty context it began in (a root is its own trace) and its begin time.
        return held.tracer.start_span(
            held.name, otel_context.Context(), held.kind, held.attributes, held.links,
            held.start_ns,
        )
    finally:
        STAMPED_AT_START.reset(stamped)
        _PINNED.reset(pinned)
        _PLANNED.reset(planned)


def _as_now(attributes: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Attributes as they are now: lists and dicts in them copied (the SDK copies them when
    they are set, so one changed later must not be replayed changed). Checked at the replay,
    by the SDK span itself: its warnings, limits and dropped counts are the SDK's."""
    return {key: _copied(value) for key, value in attributes.items()} if attributes else None


def _copied(value: Any) -> Any:
    if isinstance(value, (str, bytes)):
        return value
    if isinstance(value, Mapping):
        return {key: _copied(item) for key, item in value.items()}
    if isinstance(value, Sequence):
        return tuple(_copied(item) for item in value)
    return value


class RootStandIn(trace.Span):
    """A session's root while it is held back: the root's context, and a record of what is
    set on it. Once the SDK span exists (``start``), every call goes to that span."""

    def __init__(self, context: SpanContext, held: Held | None) -> None:
        self._context = context
        self._recording = held is not None
        self._held = held
        """Until the SDK span is being started; None for a dropped root."""
        self._calls: list[tuple[str, tuple[Any, ...]]] | None = None
        self._span: trace.Span | None = None

    def _call(self, method: str, *args: Any) -> None:
        """Keep a call for the SDK span, or make it on the span once there is one."""
        span = self._span
        if span is None:
            with _HAND_OVER_LOCK:
                span = self._span
                if span is None:
                    if self._recording:  # a dropped root records nothing, as the SDK's
                        if self._calls is None:
                            self._calls = []
                        self._calls.append((method, args))
                        early = len(self._calls) > MAX_KEPT_CALLS and self._held is not None
                    else:
                        early = False
            if span is None:
                if early:
                    self.start()
                return
        getattr(span, method)(*args)

    def start(self) -> trace.Span:
        """The SDK span, started now if no one has (a non-recording span for a root its
        sampler dropped); the kept calls replayed onto it. Called by the session's end, or
        early by a call past ``MAX_KEPT_CALLS``; only the first caller starts it."""
        with _HAND_OVER_LOCK:
            span, held, self._held = self._span, self._held, None
        if span is not None:
            return span
        if held is None and self._recording:  # another thread is starting it
            # Bounded: in a fork child that thread is gone (never block an agent).
            deadline = time.monotonic() + _START_WAIT_S
            while self._span is None and time.monotonic() < deadline:
                time.sleep(0.001)
            with _HAND_OVER_LOCK:
                if self._span is None:  # later calls go nowhere rather than pile up
                    self._span, self._calls = trace.NonRecordingSpan(self._context), None
                return self._span
        span = trace.NonRecordingSpan(self._context)
        try:
            if held is not None:
                span = _start(self._context, held)
        finally:  # (a processor's on_start that raised: no thread waits for ever)
            self._hand_over(span)
        return span

    def _hand_over(self, span: trace.Span) -> None:
        """Replay the kept calls onto ``span``, in order; from now on calls go to it.

        The replay runs outside the lock: the SDK span logs its warnings there, and a log
        handler may write to this span (a log bridge adding events), from this thread or
        another. Calls made meanwhile are kept and replayed in the next round, after the
        calls made before them."""
        while True:
            with _HAND_OVER_LOCK:
                calls, self._calls = self._calls, None
                if not calls:
                    self._span = span
                    return
            for method, args in calls:
                getattr(span, method)(*args)

    # --- opentelemetry.trace.Span -----------------------------------------------------------
    def get_span_context(self) -> SpanContext:
        return self._context

    def is_recording(self) -> bool:
        span = self._span
        return self._recording if span is None else span.is_recording()

    def set_attribute(self, key: str, value: Any) -> None:
        self._call("set_attribute", key, _copied(value))

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        self._call("set_attributes", _as_now(attributes) or {})

    def add_event(
        self, name: str, attributes: Mapping[str, Any] | None = None, timestamp: int | None = None
    ) -> None:
        # Timed now, as the SDK times an event added without a timestamp.
        self._call(
            "add_event", name, _as_now(attributes),
            time.time_ns() if timestamp is None else timestamp,
        )

    def add_link(self, context: SpanContext, attributes: Mapping[str, Any] | None = None) -> None:
        self._call("add_link", context, _as_now(attributes))

    def update_name(self, name: str) -> None:
        self._call("update_name", name)

    def set_status(self, status: Any, description: str | None = None) -> None:
        self._call("set_status", status, description)

    def record_exception(
        self,
        exception: BaseException,
        attributes: Mapping[str, Any] | None = None,
        timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        span = self._span
        if span is not None:
            span.record_exception(exception, attributes, timestamp, escaped)
        elif self._recording:
            # The SDK's own formatting, now (the exception and its traceback are not kept):
            # it ends in self.add_event.
            sdk_trace.Span.record_exception(
                self, exception, attributes, timestamp, escaped  # type: ignore[arg-type]
            )

    def end(self, end_time: int | None = None) -> None:
        """Ignored while held back: the session's end ends its root."""
        span = self._span
        if span is not None:
            span.end(end_time)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        """As the SDK span's: an exception escaping ``with span:`` is recorded on it."""
        if exc_val is not None and self.is_recording():
            self.record_exception(exc_val, escaped=True)
            self.set_status(Status(StatusCode.ERROR, f"{type(exc_val).__name__}: {exc_val}"))
        self.end()

    def __repr__(self) -> str:
        return f"RootStandIn({self._context!r}, handed_over={self._span is not None})"


_START_WAIT_S = 10.0
"""How long the session's end waits for another thread that is starting its root's span."""

MAX_KEPT_CALLS = 128
"""Calls a stand-in keeps before it starts its SDK span early (its ``on_start`` then, not at
the session's end): past that, the SDK span's limits hold less than the calls would."""
