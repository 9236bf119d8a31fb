"""Work handed to a thread or process pool runs in the submitter's context and session.

A ``concurrent.futures`` worker starts in an empty ``contextvars`` context, so neither the
OpenTelemetry context (the current span) nor the current session follows the work: a
``@sentrial.tool`` call there records nothing, and other instrumentations' spans start
traces of their own. We wrap ``submit`` of both pools (``map`` and ``loop.run_in_executor``
go through it):

- ``ThreadPoolExecutor``: the work runs in a copy of the submitter's context
  (``contextvars.copy_context()``), which holds both the current span and the session.
- ``ProcessPoolExecutor``: a context cannot cross a process, so the submitter's current span
  travels as a W3C carrier (``traceparent``, ``tracestate``, ``baggage``) and its session as
  its id, agent name and stamp, with the engine's settings. In the worker, the work runs
  under that span with the session current as a handle on its trace; the worker uses an
  engine with the same settings (one inherited through ``fork``, or one it builds, which
  delivers when the worker exits).

Done when sentrial builds the tracer provider, unless ``SENTRIAL_INSTRUMENT_EXECUTORS=false``;
:func:`instrument` / :func:`uninstrument` do it by hand. Both are idempotent, and
:func:`uninstrument` restores only what is still ours.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from sentrial_otel._internal.content.pii import PiiConfig
from sentrial_otel._internal.errors import handle_internal_errors
from sentrial_otel._internal.process.watched import WatchedEngine
from sentrial_otel._internal.spans.session import (
    RemoteSession,
    current_session,
    reset_current,
    stand_in_as_current,
)
from sentrial_otel._internal.spans.stamping import SESSION_INDEX
from sentrial_otel.config import Settings

# W3C whatever the application's global propagator is: both ends are ours.
_PROPAGATOR = CompositePropagator([TraceContextTextMapPropagator(), W3CBaggagePropagator()])
_OURS = "_sentrial_carries_context"
_LOCK = threading.Lock()
_ORIGINALS: dict[type[Any], Callable[..., Future[Any]]] = {}
# Engines a process-pool worker built for sessions of its parent (kept for the worker's life).
_WORKER_ENGINES: list[WatchedEngine] = []
_CAPTURING = handle_internal_errors("capturing the context for a process pool", level=logging.DEBUG)
_JOINING = handle_internal_errors("joining the session in a pool worker")


def instrument() -> None:
    """Carry context into ``ThreadPoolExecutor`` and ``ProcessPoolExecutor`` work."""
    with _LOCK:
        pools: tuple[tuple[type[Any], Callable[..., Any]], ...] = (
            (ThreadPoolExecutor, _thread_submit),
            (ProcessPoolExecutor, _process_submit),
        )
        for pool, wrap in pools:
            current = pool.submit
            if getattr(current, _OURS, False):
                continue
            _ORIGINALS[pool] = current
            setattr(pool, "submit", wrap(current))  # noqa: B010 - mypy refuses a method assignment


def uninstrument() -> None:
    """Put back what :func:`instrument` replaced, where it is still ours."""
    with _LOCK:
        for pool, original in list(_ORIGINALS.items()):
            if getattr(pool.submit, _OURS, False):
                setattr(pool, "submit", original)  # noqa: B010
            del _ORIGINALS[pool]


def is_instrumented() -> bool:
    return bool(
        getattr(ThreadPoolExecutor.submit, _OURS, False)
        and getattr(ProcessPoolExecutor.submit, _OURS, False)
    )


def _ours(wrapper: Callable[..., Future[Any]], original: Callable[..., Future[Any]]) -> Callable[..., Future[Any]]:
    # Each wrapper keeps the submit it wraps: a patch another library put on top of ours
    # keeps working after uninstrument() (which then leaves both in place).
    functools.update_wrapper(wrapper, original)
    setattr(wrapper, _OURS, True)
    return wrapper


# --- threads ---------------------------------------------------------------------------------
def _thread_submit(original: Callable[..., Future[Any]]) -> Callable[..., Future[Any]]:
    def submit(self: ThreadPoolExecutor, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        if _crosses_interpreters(self):
            return original(self, fn, *args, **kwargs)
        # One copy per task: a context can be entered by one thread at a time.
        return original(self, contextvars.copy_context().run, fn, *args, **kwargs)

    return _ours(submit, original)


def _crosses_interpreters(pool: ThreadPoolExecutor) -> bool:
    # Python 3.14's InterpreterPoolExecutor is a ThreadPoolExecutor whose work runs in
    # another interpreter: a context cannot go there.
    return type(pool).__name__ == "InterpreterPoolExecutor"


# --- processes -------------------------------------------------------------------------------
@dataclass(frozen=True)
class SessionRef:
    """A session as a worker process needs it: what to stamp, and an engine's settings."""

    session_id: str
    agent_name: str | None
    stamp: Mapping[str, Any]
    settings: Settings
    pii: PiiConfig | None


@dataclass(frozen=True)
class Carrier:
    """The submitter's current span (W3C headers) and session, for one task."""

    headers: Mapping[str, str]
    session: SessionRef | None


def current_carrier() -> Carrier | None:
    """What a process-pool task carries from here; None when there is nothing to carry."""
    headers: dict[str, str] = {}
    _PROPAGATOR.inject(headers)
    session = current_session()
    ref = None
    if session is not None:
        engine = _engine_of(session)
        if engine is not None:
            pii = engine.content.pii.config if engine.content.pii is not None else None
            ref = SessionRef(
                session.session_id, session.agent_name, session.stamp, engine.settings, pii
            )
    if not headers and ref is None:
        return None
    return Carrier(headers, ref)


def _engine_of(session: RemoteSession | Any) -> WatchedEngine | None:
    """The engine a session records through (a session knows its recording, not its engine)."""
    from sentrial_otel._internal.process import exit as process_exit

    return next((e for e in process_exit.engines() if e.recording is session.recording), None)


def _process_submit(original: Callable[..., Future[Any]]) -> Callable[..., Future[Any]]:
    def submit(self: ProcessPoolExecutor, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        carrier = None
        with _CAPTURING:  # the work must be submitted whatever happens here
            carrier = current_carrier()
        if carrier is None:
            return original(self, fn, *args, **kwargs)
        return original(self, run_in_worker, carrier, fn, *args, **kwargs)

    return _ours(submit, original)


class WorkerSession(RemoteSession):
    """A session of the parent process, current in a pool worker while one task runs."""

    def __init__(self, engine: WatchedEngine, ref: SessionRef) -> None:
        super().__init__(engine.recording, ref.session_id, ref.agent_name, ref.stamp)
        self.is_open = True  # for current_session() in this task; the root ends in the parent


def run_in_worker(carrier: Carrier, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    """Run one task in a pool worker under the submitter's span and session."""
    token = otel_context.attach(_PROPAGATOR.extract(carrier.headers))
    session: WorkerSession | None = None
    session_token = None
    stamped = False
    with _JOINING:  # the task must run whatever happens here
        if carrier.session is not None:
            session = _worker_session(carrier.session)
        if session is not None:
            session_token = stand_in_as_current(session)
            if SESSION_INDEX.attributes_for(session.trace_id) is None:
                # Other instrumentations' spans in this task carry the session's ids too.
                SESSION_INDEX.register(session.trace_id, session.stamp)
                stamped = True
    try:
        return fn(*args, **kwargs)
    finally:
        if stamped and session is not None:
            SESSION_INDEX.forget(session.trace_id)
        if session is not None:
            session.is_open = False
        if session_token is not None:
            reset_current(session_token)
        otel_context.detach(token)


def _worker_session(ref: SessionRef) -> WorkerSession | None:
    from sentrial_otel._internal.engine import Telemetry
    from sentrial_otel._internal.process import exit as process_exit

    engine = next((e for e in process_exit.engines() if e.settings == ref.settings), None)
    if engine is None:
        engine = Telemetry(ref.settings, pii=ref.pii)
        _WORKER_ENGINES.append(engine)
    return WorkerSession(engine, ref)
