"""Sessions: where a session's steps go, and the session's own end.

A :class:`SessionHandle` records steps into one session's trace: it chooses their parent
(explicit ids, else the current span of the session, else the root) and hands each step to
an invocation (``invocations.py``); ``tool()`` and ``llm()`` time a step as it runs, and the
Sentrial SDK's ``track_*`` methods (``tracking.py``) record one after the fact. It keeps the
session's steps and tells its step listeners.

A :class:`Session` is open in this process: its root span (``root.py``) ends in
:meth:`Session.finish`, with the totals its steps added up to. A :class:`RemoteSession` is
a session begun elsewhere (another process, or already finished here): steps still land in
its trace, parented to its root, because the root's ids derive from the session id.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar, Token
from typing import Any, Protocol, cast

from opentelemetry import context as otel_context
from opentelemetry import trace

from sentrial_otel import semconv as sc
from sentrial_otel._internal.content.encoding import describe
from sentrial_otel._internal.errors import handle_internal_errors
from sentrial_otel._internal.forksafe import module_lock
from sentrial_otel._internal.misuse import (
    Deferred,
    Report,
    check_content,
    flag_argument,
    name_argument,
)
from sentrial_otel._internal.spans import attributes as attrs_of
from sentrial_otel._internal.spans import ids
from sentrial_otel._internal.spans.attributes import Attributes, fit_lengths
from sentrial_otel._internal.spans.detectors import SessionSteps, judge, record_findings
from sentrial_otel._internal.spans.failures import error_text
from sentrial_otel._internal.spans.invocations import LlmCall, ToolCall
from sentrial_otel._internal.spans.recording import Recording
from sentrial_otel._internal.spans.rollup import OPEN_SESSIONS
from sentrial_otel._internal.spans.root import Outcome, SessionRoot
from sentrial_otel._internal.spans.stamping import SESSION_INDEX
from sentrial_otel._internal.spans.state import AgentState
from sentrial_otel._internal.spans.steps import Step
from sentrial_otel._internal.spans.totals import SessionUsage, Totals, settle
from sentrial_otel._internal.spans.tracking import SentrialTracking
from sentrial_otel.config import IssueSettings

_CURRENT: ContextVar[Session | None] = ContextVar("sentrial_current_session", default=None)
# Makes finish() run once; one lock for all sessions (held for two lines, not the ending).
_END_LOCK = module_lock(globals(), "_END_LOCK")
# A listener's error must not reach the agent.
_LISTENING = handle_internal_errors("a session's step listener")
_DETECTING = handle_internal_errors("judging a session's steps")


def current_session() -> Session | None:
    """The innermost session open in this context (thread or asyncio task), or None."""
    session = _CURRENT.get()
    return session if session is not None and session.is_open else None


def stand_in_as_current(handle: SessionHandle) -> Token[Session | None]:
    """Make a handle on a session begun elsewhere the current session of this context (a
    pool worker's task, ``process/executors.py``): what ``current_session()`` callers use of
    a session (its id, the event methods, ``tool()``) a handle has too. Undo it with
    :func:`reset_current`."""
    return _CURRENT.set(cast(Session, handle))


def reset_current(token: Token[Session | None]) -> None:
    _CURRENT.reset(token)


class StepListener(Protocol):
    """Hears a session's steps (detectors, roll-ups); added with ``add_step_listener``."""

    def step_ended(self, step: Step) -> None:
        """A tool call, LLM call, decision or agent run of the session ended."""

    def session_ending(self, root: Step) -> None:
        """The session is ending: its root's step, while the root span is still open."""


class SessionHandle(SentrialTracking):
    """Records steps into one session's trace. Subclassed by local and remote sessions."""

    agent_name: str | None
    is_open: bool

    # Slots, not a __dict__: tens of thousands of sessions may be open (docs/reliability.md).
    __slots__ = (
        "_listeners", "_root_context", "agent_name", "recording", "session_id",
        "stamp", "state", "totals", "trace_id",
    )

    def __init__(
        self,
        recording: Recording,
        session_id: str,
        agent_name: str | None = None,
        stamp: Mapping[str, Any] | None = None,
    ) -> None:
        self.recording = recording
        self.session_id = session_id
        self.agent_name = agent_name
        # Derived once: every step compares against it (parsing the UUID costs ~1 µs).
        self.trace_id = ids.trace_id_for(session_id)
        self.totals = Totals()
        self.stamp: dict[str, Any] = dict(stamp) if stamp else {sc.SENTRIAL_SESSION_ID: session_id}
        """What every span of the session carries (sentrial.session.id, user.id, ...)."""
        self.state: AgentState | None = recording.state
        """The ``update_state`` tracker whose values the session's steps carry."""
        self._listeners: tuple[StepListener, ...] = ()
        self._root_context: otel_context.Context | None = None

    @property
    def _trace_hex(self) -> str:
        # Made when asked (an event's result), not kept: sessions may stay open by thousands.
        return f"{self.trace_id:032x}"

    # --- what the steps report to (recording.SessionScope) ----------------------------------
    @property
    def steps(self) -> list[Step]:
        """The steps this process recorded in the session, oldest first (up to
        ``totals.MAX_KEPT_STEPS``)."""
        return self.totals.steps

    def step_ended(self, step: Step) -> None:
        """Keep a finished step (its totals are the steps' sums) and tell the listeners."""
        self.totals.add(step)
        if self._listeners:
            for listener in self._listeners:
                with _LISTENING:
                    listener.step_ended(step)

    def add_step_listener(self, listener: StepListener) -> None:
        """Have ``listener`` hear every step of this session from now on, and its end."""
        self._listeners = (*self._listeners, listener)

    # --- where steps go ---------------------------------------------------------------------
    def root_context(self) -> otel_context.Context:
        """A context whose current span is the session's root, known by its derived ids."""
        if self._root_context is None:
            self._root_context = trace.set_span_in_context(
                trace.NonRecordingSpan(
                    ids.root_span_context(self.session_id, self.recording.tracer)
                )
            )
        return self._root_context

    def parent_context(
        self, trace_id: Any = None, span_id: Any = None
    ) -> tuple[otel_context.Context, int | None]:
        """The context a new step starts in, and a trace id to plan for a new root.

        Explicit ``trace_id``/``span_id`` win; then the current span when it belongs to
        this session; then the session's root.
        """
        context, planned = self._where(trace_id, span_id)
        return context, planned[0] if planned is not None else None

    def _where(
        self, trace_id: Any, span_id: Any
    ) -> tuple[otel_context.Context, tuple[int, None] | None]:
        """``parent_context``, with the planned ids as invocations take them."""
        report = self.recording.report
        trace_id, span_id = self._checked_ids(trace_id, span_id)
        if trace_id is not None:
            root = trace.get_current_span(self.root_context()).get_span_context()
            parent = ids.remote_parent(trace_id, span_id or None, root)
            if parent is not None:
                return trace.set_span_in_context(parent), None
            try:
                planned = int(trace_id.replace("-", ""), 16)
            except ValueError:
                planned = 0
            if 0 < planned < 2**128 and planned != self.trace_id:
                # A trace id with no span id: the step starts that trace's root.
                return otel_context.Context(), (planned, None)
            report(ValueError, f"trace_id {describe(trace_id)} is not a hex trace id")
        current_context = trace.get_current_span().get_span_context()
        if current_context.is_valid and current_context.trace_id == self.trace_id:
            return otel_context.get_current(), None
        return self.root_context(), None

    # --- steps timed as they run ------------------------------------------------------------
    def tool(
        self,
        name: Any,
        input: Any = None,  # noqa: A002
        *,
        tool_call_id: Any = None,
        description: Any = None,
        metadata: Any = None,
    ) -> ToolCall:
        """Time a tool call: ``with session.tool("search", {"q": q}) as call: call.result = ...``."""
        context, _ = self._where(None, None)
        return ToolCall(
            self.recording,
            self,
            name=self._name(name, "name", "unknown_tool"),
            agent_name=self.agent_name,
            context=context,
            arguments=input,
            call_id=tool_call_id,
            description=description,
            metadata=metadata,
        )

    def llm(
        self,
        model: Any,
        provider: Any = None,
        *,
        operation: str = sc.OP_CHAT,
        stream: bool = False,
        params: Mapping[str, Any] | None = None,
        input: Any = None,  # noqa: A002
    ) -> LlmCall:
        """Time an LLM call: ``with session.llm("gpt-4o", "openai") as call: call.finish(...)``."""
        context, _ = self._where(None, None)
        return self._llm_call(
            model=model, provider=provider, operation=operation, stream=stream, params=params,
            input_messages=input, context=context, planned=None, duration_s=None,
        )


    # --- scores ------------------------------------------------------------------------
    def score(
        self, name: Any, value: Any = None, label: Any = None, explanation: Any = None
    ) -> dict[str, Any]:
        """Score this session (feedback, an evaluation): a ``gen_ai.evaluation.result`` log
        record on its root (``scores.py``); ``{}`` when the input was refused."""
        scores = self.recording.scores
        if scores is None:  # a Recording built without a score recorder (no engine behind it)
            return {}
        root = trace.get_current_span(self.root_context()).get_span_context()
        return scores.record(
            self.session_id, name, value=value, label=label, explanation=explanation, root=root
        )


class RemoteSession(SessionHandle):
    """A session whose root span lives elsewhere; steps join its trace by id alone."""

    is_open = False


class Session(SessionHandle):
    """A session open in this process: it owns the root span ``invoke_agent {agent}``."""

    __slots__ = (
        "__weakref__", "_on_end", "_previous_session", "_previous_span", "convo_id", "is_open", "issues", "name", "owner",
        "parent_session_id", "root", "span", "start_ns", "user_id",
    )

    def __init__(
        self,
        recording: Recording,
        *,
        on_end: Callable[[Session], None],
        agent_name: Any,
        name: Any = None,
        user_id: Any = None,
        session_id: str | None = None,
        convo_id: Any = None,
        parent_session_id: Any = None,
        metadata: Any = None,
        input: Any = None,  # noqa: A002
        issues: IssueSettings | None = None,
    ) -> None:
        """``on_end(session)`` is called once the root has ended (the engine forgets it);
        ``issues``: what the detectors judge the session by at its end (None: not judged)."""
        super().__init__(recording, session_id or ids.new_session_id())
        self.issues = issues
        self.agent_name = self._name(agent_name, "agent_name", "agent")
        report = recording.report
        self.name = name_argument(name, "name", report) or None
        self.user_id = name_argument(user_id, "user_id", report, ints=True) or None
        self.convo_id = name_argument(convo_id, "convo_id", report, ints=True) or None
        self.parent_session_id = (
            name_argument(parent_session_id, "parent_session_id", report) or None
        )
        self.is_open = True
        self.owner: object | None = None
        """What wraps this session in an API of its own (the ``sentrial`` facade's
        ``Interaction``), so that code finding the current session can find it too."""
        self._on_end = on_end
        self._previous_session: Session | None = None
        self._previous_span: trace.Span | None = None
        """The current span before :meth:`activate` (None: not active)."""
        self.start_ns = time.time_ns()

        stamp = self.stamp
        if self.user_id:
            stamp[sc.USER_ID] = self.user_id
        if self.convo_id:
            stamp[sc.GEN_AI_CONVERSATION_ID] = self.convo_id
            stamp[sc.SESSION_ID] = self.convo_id
        length = recording.content.limits.value_length
        if length is not None:
            # Copied onto other instrumentations' spans too: within the length limit.
            fit_lengths(stamp, length)
        # Spans other code starts in this trace get the stamp too (stamping.py), and other
        # instrumentations' LLM calls in it count in its totals (rollup.py).
        SESSION_INDEX.register(self.trace_id, stamp)
        OPEN_SESSIONS.open(self.trace_id, self)
        self.root = SessionRoot(
            recording,
            self,
            session_id=self.session_id,
            trace_id=self.trace_id,
            agent_name=self.agent_name,
            session_name=self.name,
            parent_session_id=self.parent_session_id,
            input=input,
            metadata=metadata,
            start_ns=self.start_ns,
        )
        self.span = cast(trace.Span, self.root.span)  # started by SessionRoot

    @property
    def context(self) -> otel_context.Context:
        """A context whose current span is the root (made on first use: a session begun
        and left open holds no context of its own)."""
        context = self._root_context
        if context is None:
            context = self._root_context = trace.set_span_in_context(self.span)
        return context

    def root_context(self) -> otel_context.Context:
        return self.context

    def _error_span(self) -> trace.Span | None:
        current = super()._error_span()
        if current is None and self.is_open:
            return self.span
        return current

    def _noted_error(self, span: trace.Span, error_type: str) -> None:
        if span is self.span:
            self.root.error_noted = error_type

    @property
    def traceparent(self) -> str:
        """W3C ``traceparent`` of the root span, for propagation over HTTP."""
        context = self.span.get_span_context()
        return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"

    # --- being the current session ----------------------------------------------------------
    def activate(self) -> None:
        """Make this the current session (and its root the current span) in this context."""
        self._previous_session = _CURRENT.get()
        self._previous_span = trace.get_current_span()
        _CURRENT.set(self)
        otel_context.attach(trace.set_span_in_context(self.span, otel_context.get_current()))

    def deactivate(self) -> None:
        """Undo :meth:`activate` if this context still has this session current."""
        previous_span = self._previous_span
        if previous_span is None or _CURRENT.get() is not self:
            return
        _CURRENT.set(self._previous_session)
        self._previous_session = self._previous_span = None
        # Restoring the span by value rather than detaching a token: finish() may run in
        # another context than activate(), where a token reset would fail noisily. Only the
        # span is put back (not the whole previous context, which would cost every open
        # session a context of its own): what else the context gained since stays.
        if trace.get_current_span() is self.span:
            otel_context.attach(trace.set_span_in_context(previous_span))

    # --- ending -----------------------------------------------------------------------------
    def finish(
        self,
        *,
        success: Any = True,
        failure_reason: Any = None,
        estimated_cost: Any = None,
        custom_metrics: Any = None,
        duration_ms: Any = None,
        prompt_tokens: Any = None,
        completion_tokens: Any = None,
        total_tokens: Any = None,
        user_input: Any = None,
        assistant_output: Any = None,
        error: BaseException | None = None,
        abandoned: bool = False,
    ) -> dict[str, Any]:
        """End the root span with the outcome and totals; a second call returns ``{}``."""
        with _END_LOCK:
            if not self.is_open:
                return {}
            self.is_open = False
        # The totals are summed now: other instrumentations' spans that end from here on
        # come too late for them (rollup.py).
        OPEN_SESSIONS.close(self.trace_id)
        # Misuse found on the way is raised (strict mode) once the root has ended.
        report = Deferred(self.recording.report)
        outcome = self._outcome(success, failure_reason, error, abandoned, duration_ms, report)
        usage = self._usage(estimated_cost, prompt_tokens, completion_tokens, total_tokens, report)
        attributes = self._root_attributes(
            outcome, usage, custom_metrics, user_input, assistant_output, report
        )
        try:
            self.root.end(attributes, outcome, usage, self._ending)
        finally:
            self._deregister()
        report.raise_first()
        elapsed_ms = (
            (outcome.end_ns - self.start_ns) / 1e6 if outcome.end_ns is not None
            else (time.time_ns() - self.start_ns) / 1e6
        )
        self.recording.metrics.session_ended(
            self.agent_name or "agent",
            "success" if outcome.success else ("abandoned" if outcome.abandoned else "failed"),
            elapsed_ms / 1000,
            usage.cost,
            outcome.error_type,
        )
        return {
            "session_id": self.session_id,
            "status": outcome.status,
            "success": outcome.success,
            "failure_reason": outcome.failure_reason,
            "duration_ms": elapsed_ms,
            "estimated_cost": usage.cost,
            "prompt_tokens": usage.input_tokens,
            "completion_tokens": usage.output_tokens,
            "total_tokens": usage.total_tokens,
            "trace_id": f"{self.trace_id:032x}",
        }

    def _outcome(
        self, success: Any, failure_reason: Any, error: BaseException | None, abandoned: bool,
        duration_ms: Any, report: Report,
    ) -> Outcome:
        """Validate how the session ended."""
        success = flag_argument(success, "success", report, True)
        if abandoned:
            success = False
        reason_text = None
        if success and failure_reason is not None and not isinstance(failure_reason, str):
            # Not recorded (the session succeeded), but still checked.
            check_content(self.recording.content.text("error", failure_reason), "failure_reason",
                          report)
        if not success:
            reason = failure_reason
            if reason is None and error is not None:
                reason = f"{type(error).__name__}: {error_text(error)}"
            if reason is not None:
                reason_text = check_content(
                    self.recording.content.text("error", reason), "failure_reason", report
                ).value
        if abandoned:
            error_type: str | None = sc.ERROR_TYPE_ABANDONED
        elif error is not None:
            error_type = type(error).__qualname__
        elif not success:
            error_type = self.root.error_noted or sc.ERROR_TYPE_SESSION_FAILED
        else:
            error_type = None
        end_ns = None
        duration = attrs_of.checked_number(duration_ms, "duration_ms", report)
        if duration is not None:
            end_ns = self.start_ns + int(duration * 1_000_000)
        return Outcome(success, abandoned, reason_text, error, error_type, end_ns)

    def _usage(
        self, estimated_cost: Any, prompt_tokens: Any, completion_tokens: Any, total_tokens: Any,
        report: Report,
    ) -> SessionUsage:
        """The root's totals: what was given here, else what the steps added up to."""
        return settle(
            self.totals.sums(),
            cost=attrs_of.checked_number(estimated_cost, "estimated_cost", report),
            input_tokens=attrs_of.checked_tokens(prompt_tokens, "prompt_tokens", report),
            output_tokens=attrs_of.checked_tokens(completion_tokens, "completion_tokens", report),
            total_tokens=attrs_of.checked_tokens(total_tokens, "total_tokens", report),
        )

    def _root_attributes(
        self,
        outcome: Outcome,
        usage: SessionUsage,
        custom_metrics: Any,
        user_input: Any,
        assistant_output: Any,
        report: Report,
    ) -> Attributes:
        """The root's end attributes: outcome, totals, custom metrics, the exchange (content)."""
        attrs = Attributes()
        values = attrs.values
        values[sc.SENTRIAL_SESSION_SUCCESS] = outcome.success
        values[sc.SENTRIAL_SESSION_COST_USD] = float(usage.cost)
        values[sc.SENTRIAL_SESSION_INPUT_TOKENS] = usage.input_tokens
        values[sc.SENTRIAL_SESSION_OUTPUT_TOKENS] = usage.output_tokens
        values[sc.SENTRIAL_SESSION_TOTAL_TOKENS] = usage.total_tokens
        for kind, count in usage.token_details.items():
            if count:
                values[sc.SESSION_USAGE_PREFIX + kind] = count
        if usage.on_root:
            # No child LLM span will be counted by the backend: the root may say it.
            values[sc.GEN_AI_USAGE_INPUT_TOKENS] = usage.input_tokens
            values[sc.GEN_AI_USAGE_OUTPUT_TOKENS] = usage.output_tokens
        attrs_of.custom_metrics(attrs, custom_metrics, report)
        content = self.recording.content
        if content.capture:
            if user_input is not None:
                messages = attrs_of.text_messages(sc.ROLE_USER, user_input)
                attrs.put_encoded(
                    sc.GEN_AI_INPUT_MESSAGES,
                    check_content(content.json("user_input", messages), "user_input", report),
                )
            if assistant_output is not None:
                messages = attrs_of.text_messages(
                    sc.ROLE_ASSISTANT, assistant_output, sc.FINISH_REASON_STOP
                )
                attrs.put_encoded(
                    sc.GEN_AI_OUTPUT_MESSAGES,
                    check_content(
                        content.json("assistant_output", messages), "assistant_output (output)",
                        report,
                    ),
                )
        attrs.put(sc.SENTRIAL_SESSION_FAILURE_REASON, outcome.failure_reason)
        if outcome.abandoned:
            values[sc.SENTRIAL_SESSION_ABANDONED] = True
        return attrs

    def _ending(self, root: Step) -> None:
        """The root span is still open: the listeners hear its step, then the detectors
        judge the session and their findings go on the root."""
        for listener in self._listeners:
            with _LISTENING:
                listener.session_ending(root)
        issues = self.issues
        if issues is not None and issues.enabled:
            with _DETECTING:
                view = SessionSteps(
                    tuple(self.totals.steps), root, self.session_id, self.agent_name or "",
                    issues, self.recording.content.capture, self.totals.complete,
                )
                record_findings(self.span, judge(view), root.end_ns)

    def _deregister(self) -> None:
        """Stop being current, stop stamping other spans, let the engine forget us."""
        self.deactivate()
        SESSION_INDEX.forget(self.trace_id)
        self._on_end(self)
