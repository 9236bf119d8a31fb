"""The engine: one configured pipeline (provider, tracer, content policy) and its sessions.

Which provider is used is pipeline.py's business, how the process ends
process/exit.py's; this module keeps the open sessions, the per-thread state and the
default engine behind ``sentrial_otel.configure()`` / ``get_telemetry()``.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace

from sentrial_otel._internal.content.pii import PiiConfig, pii_config_from
from sentrial_otel._internal.content.policy import ContentPolicy
from sentrial_otel._internal.errors import handle_internal_errors
from sentrial_otel._internal.export.pipeline import release, select_pipeline
from sentrial_otel._internal.logs import logger
from sentrial_otel._internal.content.encoding import describe, safe_str
from sentrial_otel._internal.misuse import (
    MAX_NAME_LENGTH,
    MisuseReporter,
    check_content,
    name_argument,
)
from sentrial_otel._internal.process import exit as process_exit
from sentrial_otel._internal.spans.scores import ScoreRecorder, check_session_id
from sentrial_otel._internal.spans.deferral import pin_sampling_on
from sentrial_otel._internal.spans.ids import plan_ids_on
from sentrial_otel._internal.spans.attributes import checked_number
from sentrial_otel._internal.spans.limits import limits_of
from sentrial_otel._internal.spans.metrics import AgentMetrics
from sentrial_otel._internal.spans.recording import Recording
from sentrial_otel._internal.spans.session import (
    RemoteSession,
    Session,
    SessionHandle,
    current_session,
)
from sentrial_otel._internal.spans.stamping import install_session_stamping
from sentrial_otel._internal.spans.state import AgentState
from sentrial_otel.config import Settings, resolve_settings
from sentrial_otel.version import __version__

_default: Telemetry | None = None
_default_lock = threading.Lock()
_RECENT_SESSIONS = 1024
MAX_OPEN_SESSIONS = 50_000
# Flushing and ending sessions at exit are best effort: a failure is worth a debug line.
_BEST_EFFORT = handle_internal_errors("flushing or ending sessions", level=logging.DEBUG)


class Telemetry:
    """A configured engine: where spans go, what they contain, and the open sessions."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: Any = None,
        logger_provider: Any = None,
        pii: Any = None,
    ) -> None:
        self.settings = settings or resolve_settings()
        self.strict = not self.settings.fail_silently
        self.report = MisuseReporter(self.strict)
        tracer_provider = self._provider_argument(tracer_provider, "tracer_provider", "get_tracer")
        meter_provider = self._provider_argument(meter_provider, "meter_provider", "get_meter")
        logger_provider = self._provider_argument(logger_provider, "logger_provider", "get_logger")
        pii_config: PiiConfig | None
        try:
            pii_config = pii_config_from(pii)
        except TypeError as error:
            self.report(TypeError, str(error))
            pii_config = None
        self.pipeline = select_pipeline(self.settings, tracer_provider)
        self.provider = self.pipeline.tracer_provider
        self.content = ContentPolicy(
            capture=self.settings.capture_content,
            max_string_length=self.settings.max_content_length,
            pii=pii_config,
            # Our spans stay under the provider's SpanLimits (OTEL_*_LIMIT variables).
            limits=limits_of(self.provider),
        )
        self.delivery = self.pipeline.delivery
        self.metrics = AgentMetrics(meter_provider or self.pipeline.meter_provider)
        self.scores = ScoreRecorder(
            logger_provider or self.pipeline.logger_provider, self.content, self.report
        )
        self.tracer = self.provider.get_tracer("sentrial_otel", __version__)
        self.plans_ids = plan_ids_on(self.tracer)
        if not self.plans_ids:
            logger.info(
                "sentrial: the tracer provider is not the OpenTelemetry SDK's; sessions "
                "cannot be continued from another process by id alone"
            )
        install_session_stamping(self.provider)
        self.state = AgentState(self.content)
        self.recording = Recording(
            self.tracer, self.content, self.report, self.metrics, self.state, self.scores,
            dialects=self.settings.dialects,
        )
        # Roots held back to the session's end need our tracer to take planned ids and
        # pinned sampling decisions (spans/deferral.py); otherwise they start at begin.
        self.recording.defers_roots = (
            self.settings.defer_root_span and self.plans_ids and pin_sampling_on(self.tracer)
        )
        self._sessions: dict[str, Session] = {}  # insertion order: oldest first
        self._forget_ended = self._forget  # one bound method for all sessions, not one each
        self._sessions_lock = threading.Lock()
        # Late events for sessions ended here keep their agent name and user id.
        self._recent: OrderedDict[str, tuple[str | None, Mapping[str, Any]]] = OrderedDict()
        # Ended and delivered at exit, SIGTERM and multiprocessing child exit.
        process_exit.register(self)

    def _provider_argument(self, provider: Any, argument: str, method: str) -> Any:
        """An OpenTelemetry provider argument, or None (reported) when it is not one."""
        if provider is None or callable(getattr(provider, method, None)):
            return provider
        self.report(TypeError, f"{argument} must be an OpenTelemetry provider (with "
                    f"{method}()), not {type(provider).__name__}; ignored")
        return None

    # --- sessions ------------------------------------------------------------------------
    def start_session(
        self,
        agent_name: Any,
        *,
        name: Any = None,
        user_id: Any = None,
        session_id: str | None = None,
        convo_id: Any = None,
        parent_session_id: Any = None,
        metadata: Any = None,
        input: Any = None,  # noqa: A002
    ) -> Session:
        """Open a session: starts its root span ``invoke_agent {agent_name}``."""
        if session_id is not None:
            session_id = name_argument(session_id, "session_id", self.report) or None
        session = Session(
            self.recording,
            on_end=self._forget_ended,
            agent_name=agent_name,
            name=name,
            user_id=user_id,
            session_id=session_id,
            convo_id=convo_id,
            parent_session_id=parent_session_id,
            metadata=metadata,
            input=input,
            issues=self.settings.issues,
        )
        with self._sessions_lock:
            self._sessions[session.session_id] = session
            overflow = len(self._sessions) - MAX_OPEN_SESSIONS
            oldest = list(itertools.islice(self._sessions.values(), overflow)) if overflow > 0 else []
        for stale in oldest:
            # Sessions begun and never finished would otherwise grow memory forever.
            self.report.warn(
                f"more than {MAX_OPEN_SESSIONS} sessions are open; the oldest are ended as "
                "abandoned (finish() or complete_session() every session you begin)"
            )
            stale.finish(success=False, abandoned=True)
        return session

    @contextmanager
    def session(self, agent_name: Any, **kwargs: Any) -> Iterator[Session]:
        """``with telemetry.session("support-agent", user_id=...) as s:``; exceptions fail it."""
        session = self.start_session(agent_name, **kwargs)
        session.activate()
        try:
            yield session
        except BaseException as error:
            session.finish(success=False, error=error)
            raise
        finally:
            session.finish()

    def get_session(self, session_id: Any) -> SessionHandle:
        """The open session with this id, or a handle that joins its trace from here."""
        if not isinstance(session_id, str) or not session_id:
            self.report(
                TypeError if not isinstance(session_id, str) else ValueError,
                f"session_id must be a non-empty str, got {describe(session_id)}",
            )
            session_id = safe_str(session_id)
        elif len(session_id) > MAX_NAME_LENGTH:
            self.report(ValueError, f"session_id is longer than {MAX_NAME_LENGTH} characters "
                        "(no session has such an id); cut")
            session_id = session_id[:MAX_NAME_LENGTH]
        session = self._sessions.get(session_id)
        if session is not None:
            return session
        known = self._recent.get(session_id)
        if known is not None:
            return RemoteSession(self.recording, session_id, known[0], known[1])
        return RemoteSession(self.recording, session_id)

    def score(
        self,
        session_id: Any,
        name: Any,
        value: Any = None,
        label: Any = None,
        explanation: Any = None,
    ) -> dict[str, Any]:
        """Score a session by id, open here, ended, or begun in another process.

        A ``gen_ai.evaluation.result`` log record on the session's root (``scores.py``);
        returns its ids, or ``{}`` when the input was refused (with one warning).
        """
        if not check_session_id(session_id, self.report):
            return {}
        session = self._sessions.get(session_id)
        root = session.span.get_span_context() if session is not None else None
        return self.scores.record(
            session_id, name, value=value, label=label, explanation=explanation, root=root
        )

    def open_session(self, session_id: str) -> Session | None:
        return self._sessions.get(session_id)

    def _forget(self, session: Session) -> None:
        """Drop an ended session, remembering its name and ids for late events."""
        with self._sessions_lock:
            if self._sessions.get(session.session_id) is session:
                del self._sessions[session.session_id]
            self._recent[session.session_id] = (session.agent_name, session.stamp)
            while len(self._recent) > _RECENT_SESSIONS:
                self._recent.popitem(last=False)

    def open_sessions(self) -> list[Session]:
        with self._sessions_lock:
            return list(self._sessions.values())

    # --- for process/exit.py -----------------------------------------------------------
    def forget_parent_sessions(self) -> None:
        """In a forked child: the parent's open sessions are the parent's to end, and a lock
        another thread held at the fork would stay held in the child for good."""
        self._sessions_lock = threading.Lock()
        self._sessions.clear()

    def open_sessions_unlocked(self) -> list[Session]:
        """The open sessions without taking the table's lock (code a signal interrupted may
        hold it). list() over a dict's values runs in C without calling back into Python, so
        another thread cannot change the dict half-way; a change between two calls is
        retried."""
        for _ in range(3):
            try:
                return list(self._sessions.values())
            except RuntimeError:
                continue
        return []

    def wait_for_session_table(self) -> None:
        """Return once no other code holds the session table's lock."""
        with self._sessions_lock:
            pass

    @staticmethod
    def current_session() -> Session | None:
        return current_session()

    # --- per-thread state (Sentrial's update_state) ---------------------------------------
    def update_state(self, key: Any, value: Any) -> None:
        """Set a piece of this thread's agent state; the next steps carry it (before/after)."""
        name = name_argument(key, "key", self.report, "state", required=True)
        if self.content.capture:
            check_content(self.content.json("state", value), "value", self.report)
        self.state.update(name, value)

    # --- delivery ------------------------------------------------------------------------
    def flush(self, timeout_s: float = 5.0) -> bool:
        """Export everything queued so far (spans and scores); returns False if that did
        not finish in time."""
        flush = getattr(self.provider, "force_flush", None)
        timeout_s = checked_number(timeout_s, "timeout", self.report) or 5.0
        with _BEST_EFFORT:
            scores_flushed = self.scores.flush(timeout_s)
            if flush is None:
                return scores_flushed
            return bool(flush(int(timeout_s * 1000))) and scores_flushed
        return False

    def end_open_sessions(self) -> int:
        """End every open session as abandoned; returns how many there were."""
        sessions = self.open_sessions()
        for session in sessions:
            with _BEST_EFFORT:  # exit must go on
                session.finish(success=False, abandoned=True)
        return len(sessions)

    def shutdown(self) -> None:
        """End open sessions, deliver what is queued (within the budget) and stop."""
        if self.delivery is not None:
            self.delivery.make_room(len(self._sessions))  # their roots are never dropped
        self.end_open_sessions()
        if self.pipeline.owned or self.pipeline.delivery is not None:
            release(self.pipeline, self.settings.shutdown_timeout_s)
        else:
            self.flush(self.settings.shutdown_timeout_s)


def configure(
    *,
    tracer_provider: Any = None,
    meter_provider: Any = None,
    logger_provider: Any = None,
    pii: Any = None,
    **settings: Any,
) -> Telemetry:
    """Build the default engine from arguments, environment and defaults (see ``resolve_settings``)."""
    global _default
    engine = Telemetry(
        resolve_settings(**settings),
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        logger_provider=logger_provider,
        pii=pii,
    )
    with _default_lock:
        _default = engine
    return engine


def get_telemetry() -> Telemetry:
    """The default engine, configured from the environment on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Telemetry(resolve_settings())
        return _default
