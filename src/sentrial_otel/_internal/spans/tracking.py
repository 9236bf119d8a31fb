"""The Sentrial SDK's ``track_*`` API on a session: steps tracked after they happened.

Each call, in Sentrial's names and order (the facade forwards them by keyword), becomes one
invocation (``invocations.py``) that starts and ends its span at once; an error goes on
the span current in the session, else on the session's root, else on a span of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace

from sentrial_otel import semconv as sc
from sentrial_otel._internal.content.encoding import describe
from sentrial_otel._internal.misuse import Report, check_content, flag_argument, name_argument
from sentrial_otel._internal.spans import attributes as attrs_of
from sentrial_otel._internal.spans.attributes import Attributes
from sentrial_otel._internal.spans.failures import add_exception_event, mark_error
from sentrial_otel._internal.spans.invocations import (
    Decision,
    ErrorRecord,
    LlmCall,
    ToolCall,
)
from sentrial_otel._internal.spans.pricing import infer_provider
from sentrial_otel._internal.spans.recording import Recording
from sentrial_otel._internal.spans.state import AgentState
from sentrial_otel._internal.spans.steps import Step


def _operation(value: Any, report: Report) -> str:
    """``gen_ai.operation.name`` of an LLM call: chat, text_completion or embeddings."""
    if type(value) is str and value in sc.LLM_OPERATIONS:
        return value
    if isinstance(value, str):
        report(ValueError, f"operation must be one of {', '.join(sorted(sc.LLM_OPERATIONS))}, "
               f"got {describe(value)}; recorded as {sc.OP_CHAT}")
    else:
        report(TypeError, f"operation must be a str, not {type(value).__name__}")
    return sc.OP_CHAT


class SentrialTracking:
    """``track_tool_call``, ``track_decision``, ``track_llm_call``, ``track_error``.

    A base of ``session.SessionHandle``, which provides what is declared here (the
    session's recording and ids, its steps, parent choice).
    """

    __slots__ = ()

    recording: Recording
    session_id: str
    agent_name: str | None
    trace_id: int
    stamp: dict[str, Any]
    state: AgentState | None

    @property
    def _trace_hex(self) -> str:
        raise NotImplementedError

    def step_ended(self, step: Step) -> None:
        raise NotImplementedError

    def _where(
        self, trace_id: Any, span_id: Any
    ) -> tuple[otel_context.Context, tuple[int, None] | None]:
        raise NotImplementedError

    def _checked_ids(self, trace_id: Any, span_id: Any) -> tuple[str | None, str | None]:
        """Explicit ``trace_id`` / ``span_id`` (hex strings); others are reported and ignored."""
        report = self.recording.report
        if trace_id is not None and not isinstance(trace_id, str):
            report(TypeError, f"trace_id must be a str, not {type(trace_id).__name__}; ignored")
            trace_id = None
        if span_id is not None and not isinstance(span_id, str):
            report(TypeError, f"span_id must be a str, not {type(span_id).__name__}; ignored")
            span_id = None
        if span_id is not None and trace_id is None:
            report(ValueError, "span_id is used only together with trace_id; ignored")
            span_id = None
        return trace_id, span_id

    # --- shared with the timed steps of SessionHandle ------------------------------------
    def _llm_call(
        self,
        *,
        model: Any,
        provider: Any,
        operation: Any,
        stream: bool,
        params: Any,
        input_messages: Any,
        context: otel_context.Context,
        planned: tuple[int, None] | None,
        duration_s: float | None,
    ) -> LlmCall:
        report = self.recording.report
        model_name = self._name(model, "model", "unknown")
        if params is not None and not isinstance(params, Mapping):
            report(TypeError, f"params must be a dict, not {type(params).__name__}")
            params = None
        return LlmCall(
            self.recording,
            self,
            operation=_operation(operation, report),
            provider=(
                name_argument(provider, "provider", report).lower()
                or infer_provider(model_name) or "unknown"
            ),
            model=model_name,
            agent_name=self.agent_name,
            context=context,
            stream=flag_argument(stream, "stream", report, False),
            params=params,
            input_messages=input_messages,
            planned=planned,
            duration_s=duration_s,
        )

    def _name(self, value: Any, argument: str, default: str) -> str:
        return name_argument(value, argument, self.recording.report, default, required=True)

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
        context, planned = self._where(trace_id, span_id)
        call = ToolCall(
            self.recording,
            self,
            name=self._name(tool_name, "tool_name", "unknown_tool"),
            agent_name=self.agent_name,
            context=context,
            planned=planned,
            arguments=tool_input,
            call_id=tool_call_id,
            description=description,
            reasoning=reasoning,
            metadata=metadata,
        )
        step = call.stop(tool_output, error=tool_error, cost=estimated_cost, token_count=token_count)
        return self._result(step, call.span, trace_id, "tool_call")

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
        context, planned = self._where(trace_id, span_id)
        decision = Decision(
            self.recording,
            self,
            agent_name=self.agent_name,
            reasoning=reasoning,
            context=context,
            planned=planned,
            alternatives=alternatives,
            confidence=confidence,
            chosen=chosen,
            cost=estimated_cost,
            token_count=token_count,
            metadata=metadata,
        )
        return self._result(decision.stop(), decision.span, trace_id, "decision")

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
        cache_write_tokens: Any = None,
        reasoning_tokens: Any = None,
        time_to_first_chunk: Any = None,
        duration_ms: Any = None,
        params: Mapping[str, Any] | None = None,
        trace_id: Any = None,
        span_id: Any = None,
        metadata: Any = None,
    ) -> dict[str, Any]:
        """An LLM call that already happened, as a CLIENT span ``{operation} {model}``."""
        duration = attrs_of.checked_number(duration_ms, "duration_ms", self.recording.report)
        context, planned = self._where(trace_id, span_id)
        call = self._llm_call(
            model=model, provider=provider, operation=operation, stream=stream, params=params,
            input_messages=None, context=context, planned=planned,
            duration_s=duration / 1000 if duration is not None else None,
        )
        step = call.finish(
            output,
            input_messages=input,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            estimated_cost=estimated_cost,
            finish_reason=finish_reason,
            response_model=response_model,
            system_instructions=system_instructions,
            cache_read_tokens=cache_read_tokens,
            cache_write_tokens=cache_write_tokens,
            reasoning_tokens=reasoning_tokens,
            time_to_first_chunk=time_to_first_chunk,
            metadata=metadata,
        )
        return self._result(step, call.span, trace_id, "llm_call")

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
        """An ``exception`` event on the current span of this session, else on its root,
        else on a span of its own named ``error``."""
        content = self.recording.content
        report = self.recording.report
        trace_id, span_id = self._checked_ids(trace_id, span_id)
        message = check_content(
            content.text("error", error_message if error_message is not None else ""),
            "error_message", report,
        ).value
        kind = name_argument(error_type, "error_type", report, sc.ERROR_TYPE_OTHER)
        tool = name_argument(tool_name, "tool_name", report) or None
        stack = (
            check_content(content.text("error", stack_trace), "stack_trace", report).value or None
            if stack_trace is not None else None
        )
        target = self._error_span() if trace_id is None else None
        if target is not None:
            # The event goes on a span of the session's: its metadata has nowhere to go, but
            # bad input in it is still reported.
            attrs_of.user_items(metadata, "metadata", report)
            add_exception_event(
                target, kind, message, stack, {sc.GEN_AI_TOOL_NAME: tool}, content.limits
            )
            mark_error(target, kind, message, content.limits)
            self._noted_error(target, kind)
            return self._result(None, target, trace_id, "error")
        attributes = Attributes()
        attributes.put(sc.GEN_AI_AGENT_NAME, self.agent_name)
        attrs_of.add_metadata(attributes, content, metadata, self.recording.report)
        context, planned = self._where(trace_id, span_id)
        record = ErrorRecord(
            self.recording, self, name="error", span_name="error", attributes=attributes,
            context=context, planned=planned,
        )
        record.stop(error_type=kind, message=message, stacktrace=stack, tool_name=tool)
        return self._result(None, record.span, trace_id, "error")

    def _error_span(self) -> trace.Span | None:
        """The span an error goes to: the current one when it is in this session (sessions
        add their root as a last resort)."""
        current = trace.get_current_span()
        if current.is_recording() and current.get_span_context().trace_id == self.trace_id:
            return current
        return None

    def _noted_error(self, span: trace.Span, error_type: str) -> None:
        """An error was recorded on ``span``, which the session does not end here."""

    def _result(
        self, step: Step | None, span: trace.Span | None, trace_id: Any, event_type: str
    ) -> dict[str, Any]:
        """What the Sentrial SDK's ``track_*`` return: the event's ids."""
        if step is not None and trace_id is None:
            # Parented inside the session's own trace (no explicit ids were given).
            span_id, trace_hex = f"{step.span_id:016x}", self._trace_hex
        else:
            context = span.get_span_context() if span is not None else trace.INVALID_SPAN_CONTEXT
            span_id, trace_hex = f"{context.span_id:016x}", f"{context.trace_id:032x}"
        return {
            "id": span_id,
            "session_id": self.session_id,
            "event_type": event_type,
            "trace_id": trace_hex,
            "span_id": span_id,
        }
