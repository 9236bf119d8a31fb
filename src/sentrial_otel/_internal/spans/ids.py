"""Session ids that carry their own trace: the id alone lets any process join the trace.

A session id is a UUID; its 128 bits *are* the trace id, and the root span id is derived
from them with a hash. So another process that only has the id string can parent events
to the session's root span with no lookup. Ids that are not UUIDs (a caller's own) map to
a trace id by hashing, which is just as deterministic.

To make the root span take those ids, our tracer's id generator consults a context
variable that is set only around the start of a session's root span.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import uuid
from collections.abc import Iterator
from contextvars import ContextVar

from opentelemetry import trace
from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

_PLANNED: ContextVar[tuple[int, int | None] | None] = ContextVar(
    "sentrial_planned_ids", default=None
)


# Our own generator, seeded from os.urandom once (and again in each forked child): an
# application's random.seed(0), common in evaluation scripts, must not make every run
# repeat the same session ids, which are trace ids.
_RANDOM = random.Random()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_RANDOM.seed)


def random_uuid() -> str:
    """A random version-4 UUID, drawn without a system call.

    Not ``uuid.uuid4()``: it reads ``os.urandom``, which releases the GIL for a system call,
    and a thread that does that once per session in a busy loop starves the export thread
    (CPython hands the GIL back to the releasing thread before the waiting one wakes; one
    512-span export took 0.7 s instead of 0.05 s). These ids are not secrets: they are trace
    ids, in every span (the SDK's RandomIdGenerator draws those from ``random`` too).
    """
    return str(uuid.UUID(int=_RANDOM.getrandbits(128), version=4))


def new_session_id() -> str:
    return random_uuid()


def trace_id_for(session_id: str) -> int:
    """The trace id of a session: the UUID's bits, or a hash of any other string."""
    try:
        value = uuid.UUID(session_id).int
    except (ValueError, AttributeError, TypeError):
        value = int.from_bytes(
            hashlib.sha256(b"sentrial-trace:" + str(session_id).encode("utf-8", "replace")).digest()[
                :16
            ],
            "big",
        )
    return value or 1


def root_span_id_for(session_id: str) -> int:
    """The root span id of a session, derived from its trace id (never zero)."""
    digest = hashlib.sha256(b"sentrial-root:" + trace_id_for(session_id).to_bytes(16, "big"))
    return int.from_bytes(digest.digest()[:8], "big") or 1


def root_span_context(session_id: str) -> SpanContext:
    """The span context of a session's root, as any process can compute it."""
    return SpanContext(
        trace_id=trace_id_for(session_id),
        span_id=root_span_id_for(session_id),
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )


def remote_parent(trace_id_hex: str, span_id_hex: str | None) -> trace.Span | None:
    """A non-recording parent span from hex ids a caller passed, or None if unusable."""
    try:
        trace_id = int(str(trace_id_hex).replace("-", ""), 16)
        span_id = int(str(span_id_hex), 16) if span_id_hex else 0
    except (TypeError, ValueError):
        return None
    if not 0 < trace_id < 2**128 or not 0 <= span_id < 2**64:
        return None
    if span_id == 0:
        return None
    return NonRecordingSpan(
        SpanContext(trace_id, span_id, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    )


class PlannedIdGenerator(IdGenerator):
    """Gives the planned ids to the span being started, random ids otherwise."""

    def __init__(self, fallback: IdGenerator | None = None) -> None:
        self.fallback = fallback or RandomIdGenerator()

    def generate_trace_id(self) -> int:
        planned = _PLANNED.get()
        if planned is not None:
            return planned[0]
        return self.fallback.generate_trace_id()

    def generate_span_id(self) -> int:
        planned = _PLANNED.get()
        if planned is not None and planned[1] is not None:
            return planned[1]
        return self.fallback.generate_span_id()

    def is_trace_id_random(self) -> bool:
        return self.fallback.is_trace_id_random()


@contextlib.contextmanager
def planned_ids(trace_id: int, span_id: int | None) -> Iterator[None]:
    """Within this block, the next span started by a planned tracer takes these ids."""
    token = _PLANNED.set((trace_id, span_id))
    try:
        yield
    finally:
        _PLANNED.reset(token)


def plan_ids_on(tracer: trace.Tracer) -> bool:
    """Let an SDK tracer take planned ids; False for tracers that have no id generator."""
    current = getattr(tracer, "id_generator", None)
    if current is None:
        return False
    if not isinstance(current, PlannedIdGenerator):
        tracer.id_generator = PlannedIdGenerator(current)  # type: ignore[attr-defined]
    return True
