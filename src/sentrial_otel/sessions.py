"""Sessions as root spans, and the events inside them as child spans.

A :class:`Session` is open in this process: it owns the root span and keeps running totals
(cost, tokens, counts) so the root can carry them at the end. A :class:`RemoteSession` is
a session begun elsewhere (another process, or already finished here): events still land in
its trace, parented to its root, because the root's ids derive from the session id.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Link, SpanKind

from sentrial_otel import events, ids
from sentrial_otel import semconv as sc
from sentrial_otel.calls import LlmCall, ToolCall, Totals
from sentrial_otel.encoding import coerce_name, finite_float
from sentrial_otel.failures import add_exception_event, guarded_end, mark_error, record_exception
from sentrial_otel.pricing import infer_provider
from sentrial_otel.stamping import SESSION_INDEX

if TYPE_CHECKING:
    from sentrial_otel.telemetry import Telemetry

_CURRENT: ContextVar[Session | None] = ContextVar("sentrial_current_session", default=None)


def current_session() -> Session | None:
    """The innermost session open in this context (thread or asyncio task), or None."""
    session = _CURRENT.get()
    return session if session is not None and session.is_open else None


class SessionHandle:
    """Records events into one session's trace. Subclassed by local and remote sessions."""

    session_id: str
    agent_name: str | None

    def __init__(self, engine: Telemetry, session_id: str) -> None:
        self.engine = engine
        self.session_id = session_id
        # Derived once: every event compares against it (parsing the UUID costs ~1 µs).
        self.trace_id = ids.trace_id_for(session_id)
        self.totals = Totals()
        # What every span of the session carries (sentrial.session.id, user.id, ...).
        self._stamp: dict[str, Any] = {sc.SENTRIAL_SESSION_ID: session_id}
        self._remote_root: otel_context.Context | None = None

    # --- where events go -------------------------------------------------------------------
    def root_context(self) -> otel_context.Context:
        """A context whose current span is the session's root, known by its derived ids."""
        if self._remote_root is None:
            self._remote_root = trace.set_span_in_context(
                trace.NonRecordingSpan(ids.root_span_context(self.session_id, self.engine.tracer))
            )
        return self._remote_root

    def parent_context(
        self, trace_id: Any = None, span_id: Any = None
    ) -> tuple[otel_context.Context, int | None]:
        """The context a new event starts in, and a trace id to plan for a new root.

        Explicit ``trace_id``/``span_id`` win; then the current span when it belongs to
        this session; then the session's root.
        """
        if trace_id is not None:
            root = trace.get_current_span(self.root_context()).get_span_context()
            parent = ids.remote_parent(str(trace_id), str(span_id) if span_id else None, root)
            if parent is not None:
                return trace.set_span_in_context(parent), None
            try:
                planned = int(str(trace_id).replace("-", ""), 16)
            except ValueError:
                planned = 0
            if 0 < planned < 2**128 and planned != self.trace_id:
                # A trace id with no span id: the event starts that trace's root.
                return otel_context.Context(), planned
            self.engine.report(ValueError, f"trace_id {trace_id!r} is not a hex trace id")
        current = trace.get_current_span()
        current_context = current.get_span_context()
        if current_context.is_valid and current_context.trace_id == self.trace_id:
            return otel_context.get_current(), None
        return self.root_context(), None

    def _start(
        self,
        name: str,
        attributes: Mapping[str, Any],
        kind: SpanKind = SpanKind.INTERNAL,
        trace_id: Any = None,
        span_id: Any = None,
        start_time: int | None = None,
    ) -> trace.Span:
        context, planned_trace = self.parent_context(trace_id, span_id)
        tracer = self.engine.tracer
        if planned_trace is not None:
            with ids.planned_ids(planned_trace, None):
                return tracer.start_span(name, context, kind, attributes, start_time=start_time)
        return tracer.start_span(name, context, kind, attributes, start_time=start_time)

    def _session_attributes(self) -> dict[str, Any]:
        return dict(self._stamp)

    def _state_attributes(self) -> dict[str, Any]:
        return self.engine.state_attributes()

    def _event_span(
        self,
        name: str,
        attrs: events.Attributes,
        trace_id: Any,
        span_id: Any,
        kind: SpanKind = SpanKind.INTERNAL,
    ) -> trace.Span:
        values = attrs.finish()
        values.update(self._stamp)
        if self.engine.has_state:
            values.update(self._state_attributes())
        return self._start(name, values, kind, trace_id, span_id)

    @staticmethod
    def _event_result(span: trace.Span, session_id: str, event_type: str) -> dict[str, Any]:
        context = span.get_span_context()
        span_id = f"{context.span_id:016x}"
        return {
            "id": span_id,
            "session_id": session_id,
            "event_type": event_type,
            "trace_id": f"{context.trace_id:032x}",
            "span_id": span_id,
        }

    # --- events ------------------------------------------------------------------------------
    def track_tool_call(
        self,
        tool_name: Any,
        tool_input: Any = None,
        tool_output: Any = None,
        reasoning: Any = None,
        estimated_cost: Any = 0.0,
        tool_error: Any = None,
        token_count: Any = None,
        trace_id: Any = None,
        span_id: Any = None,
        metadata: Any = None,
        tool_call_id: Any = None,
        description: Any = None,
    ) -> dict[str, Any]:
        """A tool call that already happened, as an ``execute_tool`` child span."""
        name = self._name(tool_name, "tool_name", "unknown_tool")
        attrs, cost, tokens = events.tool_call(
            self.engine.content,
            self.engine.report,
            tool_name=name,
            agent_name=self.agent_name,
            tool_input=tool_input,
            tool_output=tool_output,
            reasoning=reasoning,
            estimated_cost=estimated_cost,
            token_count=token_count,
            tool_error=tool_error,
            call_id=tool_call_id,
            description=description,
            metadata=metadata,
        )
        span = self._event_span(f"{sc.OP_EXECUTE_TOOL} {name}", attrs, trace_id, span_id)
        if tool_error is not None:
            error_type, message = events.tool_error_details(tool_error)
            if not self.engine.content.capture:
                # The tool's error payload is content (SEMCONV: sentrial.tool.error is C).
                message = error_type
            else:
                message = self.engine.content.text("error", message).value
            add_exception_event(span, error_type, message, None, {sc.GEN_AI_TOOL_NAME: name})
            mark_error(span, error_type, message)
        span.end()
        self.totals.add(cost=cost, other_tokens=tokens, tool_calls=1, errors=int(tool_error is not None))
        return self._event_result(span, self.session_id, "tool_call")

    def track_decision(
        self,
        reasoning: Any,
        alternatives: Any = None,
        confidence: Any = None,
        estimated_cost: Any = 0.0,
        token_count: Any = None,
        trace_id: Any = None,
        span_id: Any = None,
        metadata: Any = None,
        chosen: Any = None,
    ) -> dict[str, Any]:
        """A decision between alternatives, as a ``decision {agent}`` child span."""
        attrs, cost, tokens = events.decision(
            self.engine.content,
            self.engine.report,
            agent_name=self.agent_name,
            reasoning=reasoning,
            alternatives=alternatives,
            confidence=confidence,
            chosen=chosen,
            estimated_cost=estimated_cost,
            token_count=token_count,
            metadata=metadata,
        )
        span_name = f"{sc.DECISION_SPAN_NAME} {self.agent_name}" if self.agent_name else sc.DECISION_SPAN_NAME
        span = self._event_span(span_name, attrs, trace_id, span_id)
        span.end()
        self.totals.add(cost=cost, other_tokens=tokens, decisions=1)
        return self._event_result(span, self.session_id, "decision")

    def track_llm_call(
        self,
        provider: Any = None,
        model: Any = None,
        input: Any = None,  # noqa: A002 - the Sentrial-style argument name
        output: Any = None,
        prompt_tokens: Any = None,
        completion_tokens: Any = None,
        estimated_cost: Any = None,
        finish_reason: Any = None,
        stream: bool = False,
        operation: str = sc.OP_CHAT,
        response_model: Any = None,
        system_instructions: Any = None,
        cache_read_tokens: Any = None,
        reasoning_tokens: Any = None,
        time_to_first_chunk: Any = None,
        duration_ms: Any = None,
        params: Mapping[str, Any] | None = None,
        trace_id: Any = None,
        span_id: Any = None,
        metadata: Any = None,
    ) -> dict[str, Any]:
        """An LLM call that already happened, as a CLIENT span ``{operation} {model}``."""
        call = self._llm_call(
            provider, model, operation, stream, params, trace_id, span_id, duration_ms,
            start_now=False,
        )
        call.finish(
            output=output,
            input_messages=input,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            estimated_cost=estimated_cost,
            finish_reason=finish_reason,
            response_model=response_model,
            system_instructions=system_instructions,
            cache_read_tokens=cache_read_tokens,
            reasoning_tokens=reasoning_tokens,
            time_to_first_chunk=time_to_first_chunk,
            metadata=metadata,
        )
        return self._event_result(call.started_span(), self.session_id, "llm_call")

    def track_error(
        self,
        error_message: Any,
        error_type: Any = None,
        tool_name: Any = None,
        stack_trace: Any = None,
        trace_id: Any = None,
        span_id: Any = None,
        metadata: Any = None,
    ) -> dict[str, Any]:
        """An ``exception`` event on the current span of this session, else on its root."""
        message = self.engine.content.text("error", error_message if error_message is not None else "").value
        kind = coerce_name(error_type, sc.ERROR_TYPE_OTHER)
        tool = coerce_name(tool_name, "") or None
        stack = self.engine.content.text("error", stack_trace).value if stack_trace else None
        target, owned = self._error_target(trace_id, span_id)
        if owned:
            attrs = events.Attributes()
            events.add_metadata(attrs, self.engine.content, metadata, self.engine.report)
            target.set_attributes(attrs.finish())
        add_exception_event(target, kind, message, stack, {sc.GEN_AI_TOOL_NAME: tool})
        mark_error(target, kind, message)
        self.totals.add(errors=1)
        if not owned:
            self._note_error_on(target, kind)
        if owned:
            target.end()
        return self._event_result(target, self.session_id, "error")

    def score(
        self, name: Any, value: Any = None, label: Any = None, explanation: Any = None
    ) -> dict[str, Any]:
        """Score this session (feedback, an evaluation): a ``gen_ai.evaluation.result`` log
        record on its root (``scores.py``); ``{}`` when the input was refused."""
        root = trace.get_current_span(self.root_context()).get_span_context()
        return self.engine.scores.record(self.session_id, name, value, label, explanation,
                                         root=root)

    def _note_error_on(self, span: trace.Span, error_type: str) -> None:
        """Remember an error recorded on a span we do not end here (sessions override)."""

    def _own_error_span(self) -> trace.Span | None:
        """The span errors go to when no span of the session is current (sessions override)."""
        return None

    def _error_target(self, trace_id: Any, span_id: Any) -> tuple[trace.Span, bool]:
        current = trace.get_current_span()
        context = current.get_span_context()
        if (
            trace_id is None
            and current.is_recording()
            and context.trace_id == self.trace_id
        ):
            return current, False
        own = self._own_error_span() if trace_id is None else None
        if own is not None:
            return own, False
        attrs = {
            **self._session_attributes(),
            sc.GEN_AI_AGENT_NAME: self.agent_name,
        }
        span = self._start("error", {k: v for k, v in attrs.items() if v is not None}, trace_id=trace_id, span_id=span_id)
        return span, True

    # --- context-manager forms (real durations) ----------------------------------------------
    @contextlib.contextmanager
    def tool(
        self,
        name: Any,
        input: Any = None,  # noqa: A002
        *,
        tool_call_id: Any = None,
        description: Any = None,
        metadata: Any = None,
    ) -> Iterator[ToolCall]:
        """Time a tool call: ``with session.tool("search", {"q": q}) as call: call.result = ...``."""
        tool_name = self._name(name, "name", "unknown_tool")
        attrs, _, _ = events.tool_call(
            self.engine.content,
            self.engine.report,
            tool_name=tool_name,
            agent_name=self.agent_name,
            tool_input=input,
            call_id=tool_call_id,
            description=description,
            metadata=metadata,
            has_output=False,
        )
        values = attrs.finish()
        values.update(self._session_attributes())
        span = self._start(f"{sc.OP_EXECUTE_TOOL} {tool_name}", values)
        call = ToolCall(self, span, tool_name)
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            yield call
        except BaseException as error:
            call.error = error
            raise
        finally:
            otel_context.detach(token)
            guarded_end(call.end)

    @contextlib.contextmanager
    def llm(
        self,
        model: Any,
        provider: Any = None,
        *,
        operation: str = sc.OP_CHAT,
        stream: bool = False,
        params: Mapping[str, Any] | None = None,
        input: Any = None,  # noqa: A002
    ) -> Iterator[LlmCall]:
        """Time an LLM call: ``with session.llm("gpt-4o", "openai") as call: call.finish(...)``."""
        call = self._llm_call(provider, model, operation, stream, params, None, None, None)
        call.input_messages = input
        call.timed = True
        span = call.started_span()
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            yield call
        except BaseException as error:
            if not call.ended:
                record_exception(span, error, self.engine.content)
                call.error_type = type(error).__qualname__
            raise
        finally:
            otel_context.detach(token)
            if not call.ended:
                guarded_end(call.finish)

    def _llm_call(
        self,
        provider: Any,
        model: Any,
        operation: Any,
        stream: bool,
        params: Mapping[str, Any] | None,
        trace_id: Any,
        span_id: Any,
        duration_ms: Any,
        start_now: bool = True,
    ) -> LlmCall:
        """An LLM call; its span starts now (timed calls) or at ``finish`` with every
        attribute at once (calls tracked after the fact: one attribute pass, not two)."""
        model_name = self._name(model, "model", "unknown")
        provider_name = (
            coerce_name(provider, "").lower()
            or infer_provider(model_name)
            or "unknown"
        )
        op = operation if operation in sc.LLM_OPERATIONS else sc.OP_CHAT
        attrs = events.llm_start(
            operation=op,
            provider=provider_name,
            request_model=model_name,
            agent_name=self.agent_name,
            stream=bool(stream),
            params=params if isinstance(params, Mapping) else None,
        )
        values = attrs.finish()
        values.update(self._session_attributes())
        start = None
        duration = finite_float(duration_ms)
        if duration is not None and duration >= 0:
            start = time.time_ns() - int(duration * 1_000_000)

        def begin(outcome: Mapping[str, Any]) -> trace.Span:
            return self._start(
                f"{op} {model_name}", {**values, **outcome}, SpanKind.CLIENT, trace_id, span_id,
                start_time=start,
            )

        call = LlmCall(
            self, begin, op, provider_name, model_name,
            duration / 1000 if duration is not None and duration >= 0 else None,
        )
        if start_now:
            call.started_span()
        return call

    # --- helpers -------------------------------------------------------------------------
    def _name(self, value: Any, argument: str, default: str) -> str:
        if value is None or (isinstance(value, str) and not value.strip()):
            self.engine.report(ValueError, f"{argument} is required (got {value!r})")
        elif not isinstance(value, str):
            self.engine.report(TypeError, f"{argument} must be a str, not {type(value).__name__}")
        return coerce_name(value, default)

    def add_usage(
        self,
        *,
        cost: float = 0.0,
        input_tokens: int = 0,
        output_tokens: int = 0,
        llm_calls: int = 0,
    ) -> None:
        """Count usage recorded elsewhere (LangChain spans) into this session's totals."""
        self.totals.add(
            cost=cost, input_tokens=input_tokens, output_tokens=output_tokens, llm_calls=llm_calls
        )


class RemoteSession(SessionHandle):
    """A session whose root span lives elsewhere; events join its trace by id alone."""

    def __init__(
        self,
        engine: Telemetry,
        session_id: str,
        agent_name: str | None = None,
        stamp: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(engine, session_id)
        self.agent_name = agent_name
        self.is_open = False
        if stamp:
            self._stamp = dict(stamp)


class Session(SessionHandle):
    """A session open in this process: it owns the root span ``invoke_agent {agent}``."""

    def __init__(
        self,
        engine: Telemetry,
        *,
        agent_name: Any,
        name: Any = None,
        user_id: Any = None,
        session_id: str | None = None,
        convo_id: Any = None,
        parent_session_id: Any = None,
        metadata: Any = None,
        input: Any = None,  # noqa: A002
    ) -> None:
        super().__init__(engine, session_id or ids.new_session_id())
        self.agent_name = self._name(agent_name, "agent_name", "agent")
        self.name = coerce_name(name, "") or None
        self.user_id = coerce_name(user_id, "") or None
        self.convo_id = coerce_name(convo_id, "") or None
        self.parent_session_id = coerce_name(parent_session_id, "") or None
        self.root_error_type: str | None = None
        self.is_open = True
        self._end_lock = threading.Lock()
        self._previous: tuple[Any, Any] | None = None
        self.start_ns = time.time_ns()

        stamp = {sc.SENTRIAL_SESSION_ID: self.session_id}
        if self.user_id:
            stamp[sc.USER_ID] = self.user_id
        if self.convo_id:
            stamp[sc.GEN_AI_CONVERSATION_ID] = self.convo_id
            stamp[sc.SESSION_ID] = self.convo_id
        self._stamp = stamp

        attrs = events.Attributes()
        attrs.put(sc.GEN_AI_OPERATION_NAME, sc.OP_INVOKE_AGENT)
        attrs.put(sc.GEN_AI_AGENT_NAME, self.agent_name)
        attrs.put(sc.SENTRIAL_SESSION_NAME, self.name)
        attrs.put(sc.SENTRIAL_SESSION_PARENT_ID, self.parent_session_id)
        if input is not None and engine.content.capture:
            attrs.put_encoded(
                sc.GEN_AI_INPUT_MESSAGES,
                engine.content.json("user_input", events.text_messages(sc.ROLE_USER, input)),
            )
        events.add_metadata(attrs, engine.content, metadata, engine.report)
        values = attrs.finish()
        values.update(stamp)
        links = []
        if self.parent_session_id:
            links.append(Link(ids.root_span_context(self.parent_session_id)))
        # A session is its own trace; a link leads back to whatever was current when it
        # began (the HTTP request that started the agent, say).
        started_from = trace.get_current_span().get_span_context()
        linked = {(link.context.trace_id, link.context.span_id) for link in links}
        if started_from.is_valid and (started_from.trace_id, started_from.span_id) not in linked:
            # (Begun inside its parent session, a pool thread included: linked once.)
            links.append(Link(started_from))
        SESSION_INDEX.register(self.trace_id, stamp)
        # The root starts in an empty context: a session is its own trace.
        with ids.planned_ids(self.trace_id, ids.root_span_id_for(self.session_id)):
            self.span = engine.tracer.start_span(
                f"{sc.OP_INVOKE_AGENT} {self.agent_name}",
                otel_context.Context(),
                SpanKind.INTERNAL,
                values,
                links=links,
                start_time=self.start_ns,
            )
        self.context = trace.set_span_in_context(self.span)

    def _own_error_span(self) -> trace.Span | None:
        return self.span if self.is_open else None

    def _note_error_on(self, span: trace.Span, error_type: str) -> None:
        if span is self.span:
            self.root_error_type = error_type

    def root_context(self) -> otel_context.Context:
        return self.context

    @property
    def traceparent(self) -> str:
        """W3C ``traceparent`` of the root span, for propagation over HTTP."""
        context = self.span.get_span_context()
        return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"

    # --- being the current session -----------------------------------------------------
    def activate(self) -> None:
        """Make this the current session (and its root the current span) in this context."""
        self._previous = (_CURRENT.get(), otel_context.get_current())
        _CURRENT.set(self)
        otel_context.attach(trace.set_span_in_context(self.span, otel_context.get_current()))

    def deactivate(self) -> None:
        """Undo :meth:`activate` if this context still has this session current."""
        if self._previous is None or _CURRENT.get() is not self:
            return
        previous_session, previous_context = self._previous
        self._previous = None
        _CURRENT.set(previous_session)
        # Restoring by value rather than detaching a token: finish() may run in another
        # context than activate(), where a token reset would fail noisily.
        if trace.get_current_span() is self.span:
            otel_context.attach(previous_context)

    # --- ending --------------------------------------------------------------------------
    def finish(
        self,
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
        with self._end_lock:
            if not self.is_open:
                return {}
            self.is_open = False
        engine = self.engine
        report = engine.report
        span = self.span
        content = engine.content
        attrs = events.Attributes()
        if not isinstance(success, bool):
            report(TypeError, f"success must be a bool, not {type(success).__name__}")
            success = bool(success)
        if abandoned:
            success = False
        attrs.put(sc.SENTRIAL_SESSION_SUCCESS, success)

        totals = self.totals
        with totals.lock:
            summed_cost = totals.cost
            summed_in, summed_out = totals.input_tokens, totals.output_tokens
            summed_total = totals.input_tokens + totals.output_tokens + totals.other_tokens
            llm_calls = totals.llm_calls
        cost = events.checked_cost(estimated_cost, "estimated_cost", report)
        cost = summed_cost if cost is None else cost
        given_in = events.checked_tokens(prompt_tokens, "prompt_tokens", report)
        given_out = events.checked_tokens(completion_tokens, "completion_tokens", report)
        given_total = events.checked_tokens(total_tokens, "total_tokens", report)
        tokens_in = summed_in if given_in is None else given_in
        tokens_out = summed_out if given_out is None else given_out
        if given_total is not None:
            tokens_total = given_total
        elif given_in is not None or given_out is not None:
            tokens_total = tokens_in + tokens_out
        else:
            tokens_total = summed_total
        attrs.put(sc.SENTRIAL_SESSION_COST_USD, float(cost))
        attrs.put(sc.SENTRIAL_SESSION_INPUT_TOKENS, tokens_in)
        attrs.put(sc.SENTRIAL_SESSION_OUTPUT_TOKENS, tokens_out)
        attrs.put(sc.SENTRIAL_SESSION_TOTAL_TOKENS, tokens_total)
        if llm_calls == 0 and (given_in is not None or given_out is not None):
            # No child LLM span will be counted by the backend: the root may say it.
            attrs.put(sc.GEN_AI_USAGE_INPUT_TOKENS, tokens_in)
            attrs.put(sc.GEN_AI_USAGE_OUTPUT_TOKENS, tokens_out)

        if custom_metrics is not None:
            if isinstance(custom_metrics, Mapping):
                for key, value in list(custom_metrics.items())[:64]:
                    number = finite_float(value)
                    if number is None:
                        report(ValueError, f"custom_metrics[{key!r}] must be a finite number, got {value!r}")
                        continue
                    stored = value if isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63 else number
                    attrs.put(sc.SENTRIAL_METRIC_PREFIX + str(key)[:128], stored)
            else:
                report(TypeError, f"custom_metrics must be a dict, not {type(custom_metrics).__name__}")

        if content.capture:
            if user_input is not None:
                attrs.put_encoded(
                    sc.GEN_AI_INPUT_MESSAGES,
                    content.json("user_input", events.text_messages(sc.ROLE_USER, user_input)),
                )
            if assistant_output is not None:
                attrs.put_encoded(
                    sc.GEN_AI_OUTPUT_MESSAGES,
                    content.json(
                        "assistant_output",
                        events.text_messages(
                            sc.ROLE_ASSISTANT, assistant_output, sc.FINISH_REASON_STOP
                        ),
                    ),
                )

        reason_text = None
        if not success:
            reason = failure_reason
            if reason is None and error is not None:
                reason = f"{type(error).__name__}: {error}"
            if reason is not None:
                reason_text = content.text("error", reason).value
                attrs.put(sc.SENTRIAL_SESSION_FAILURE_REASON, reason_text)
        if abandoned:
            attrs.put(sc.SENTRIAL_SESSION_ABANDONED, True)

        end_ns = None
        duration = finite_float(duration_ms)
        if duration_ms is not None and (duration is None or duration < 0):
            report(ValueError, f"duration_ms must be a non-negative number, got {duration_ms!r}")
        elif duration is not None:
            end_ns = self.start_ns + int(duration * 1_000_000)
        try:
            span.set_attributes(attrs.finish())
            if error is not None:
                record_exception(span, error, content)
            if abandoned:
                mark_error(span, sc.ERROR_TYPE_ABANDONED, "session still open at exit")
            elif not success and error is None:
                mark_error(span, self.root_error_type or sc.ERROR_TYPE_SESSION_FAILED, reason_text)
            span.end(end_time=end_ns)
        finally:
            self.deactivate()
            SESSION_INDEX.forget(self.trace_id)
            engine.forget(self)
        elapsed_ms = (
            duration if duration is not None and duration >= 0 else (time.time_ns() - self.start_ns) / 1e6
        )
        outcome = "success" if success else ("abandoned" if abandoned else "failed")
        error_type = None
        if abandoned:
            error_type = sc.ERROR_TYPE_ABANDONED
        elif error is not None:
            error_type = type(error).__qualname__
        elif not success:
            error_type = self.root_error_type or sc.ERROR_TYPE_SESSION_FAILED
        engine.metrics.session_ended(self.agent_name or "agent", outcome, elapsed_ms / 1000, float(cost), error_type)
        return {
            "session_id": self.session_id,
            "status": "completed" if success else ("abandoned" if abandoned else "failed"),
            "success": success,
            "failure_reason": reason_text,
            "duration_ms": elapsed_ms,
            "estimated_cost": float(cost),
            "prompt_tokens": tokens_in,
            "completion_tokens": tokens_out,
            "total_tokens": tokens_total,
            "trace_id": f"{self.trace_id:032x}",
        }
