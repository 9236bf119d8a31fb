"""``SentrialClient``: the Sentrial SDK's client, producing OpenTelemetry spans."""

from __future__ import annotations

from collections.abc import Collection
from types import TracebackType
from typing import Any

from opentelemetry import trace

from sentrial.interaction import Interaction, new_event_id
from sentrial_otel import semconv as sc
from sentrial_otel._internal.content.encoding import describe
from sentrial_otel._internal.misuse import name_argument
from sentrial_otel._internal.engine import Telemetry
from sentrial_otel._internal.errors import by_instance, handle_internal_errors
from sentrial_otel._internal.logs import logger
from sentrial_otel._internal.spans import pricing
from sentrial_otel.config import resolve_settings


class SentrialClient:
    """Drop-in for the Sentrial SDK client.

    Sessions become root spans and events child spans, exported over OTLP when an endpoint
    is configured (``api_url``, ``SENTRIAL_API_URL``, ``OTEL_EXPORTER_OTLP_*ENDPOINT``) and
    to the local store otherwise. ``api_key`` is sent as ``Authorization: Bearer <key>``.
    ``langfuse`` is accepted for compatibility and ignored (send OTLP to Langfuse instead).

    Beyond the Sentrial SDK: ``tracer_provider`` (use this provider), ``logger_provider``
    (for scores), ``capture_content``, ``protocol`` (``"grpc"`` or ``"http/protobuf"``),
    ``shutdown_timeout`` (seconds), ``handle_sigterm``, ``instrument_executors`` and
    ``defer_root_span`` (``False`` turns any of them off), ``dialects`` (``"openinference"``:
    docs/phoenix.md), and the detectors' thresholds and detectors of your own
    (``detect_issues``, ``tool_loop_repeats``, ``tool_error_streak``, ``low_confidence``,
    ``budget_usd``, ``slow_step_seconds``, ``detectors``: docs/issues.md).
    """

    def __init__(
        self,
        api_url: str | None = None,
        api_key: str | None = None,
        fail_silently: bool | None = None,
        langfuse: Any = None,
        pii: Any = None,
        batching: Any = None,
        *,
        tracer_provider: trace.TracerProvider | None = None,
        logger_provider: Any = None,
        capture_content: bool | None = None,
        protocol: str | None = None,
        shutdown_timeout: float | None = None,
        handle_sigterm: bool | None = None,
        instrument_executors: bool | None = None,
        dialects: str | Collection[str] | None = None,
        defer_root_span: bool | None = None,
        detect_issues: bool | None = None,
        tool_loop_repeats: int | None = None,
        tool_error_streak: int | None = None,
        low_confidence: float | None = None,
        budget_usd: float | None = None,
        slow_step_seconds: float | None = None,
        detectors: Any = None,
    ) -> None:
        settings = resolve_settings(
            api_url=api_url,
            api_key=api_key,
            protocol=protocol,
            capture_content=capture_content,
            fail_silently=fail_silently,
            batching=batching,
            shutdown_timeout=shutdown_timeout,
            handle_sigterm=handle_sigterm,
            instrument_executors=instrument_executors,
            dialects=dialects,
            defer_root_span=defer_root_span,
            detect_issues=detect_issues,
            tool_loop_repeats=tool_loop_repeats,
            tool_error_streak=tool_error_streak,
            low_confidence=low_confidence,
            budget_usd=budget_usd,
            slow_step_seconds=slow_step_seconds,
            detectors=detectors,
        )
        # True unless the argument or SENTRIAL_FAIL_SILENTLY says otherwise.
        self.fail_silently = settings.fail_silently
        self.strict = not settings.fail_silently
        self.telemetry = Telemetry(
            settings, tracer_provider=tracer_provider, logger_provider=logger_provider, pii=pii
        )
        self.api_url = settings.endpoint
        if langfuse is not None:
            logger.info("sentrial: the langfuse option is ignored; point OTLP at Langfuse instead")

    # --- sessions ------------------------------------------------------------------------
    @handle_internal_errors(fallback=None, strict=by_instance)
    def create_session(
        self,
        name: Any,
        agent_name: Any,
        user_id: Any,
        parent_session_id: Any = None,
        convo_id: Any = None,
        metadata: Any = None,
    ) -> str | None:
        """Start a session (root span ``invoke_agent {agent_name}``); returns its id."""
        self._check_user_id(user_id)
        session = self.telemetry.start_session(
            agent_name=agent_name,
            name=name,
            user_id=user_id,
            parent_session_id=parent_session_id,
            convo_id=convo_id,
            metadata=metadata,
        )
        return session.session_id

    @handle_internal_errors(fallback=dict, strict=by_instance)
    def complete_session(
        self,
        session_id: Any,
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
    ) -> dict[str, Any]:
        """End a session; totals not given are summed from its tracked events."""
        handle = self.telemetry.get_session(session_id)
        session = self.telemetry.open_session(handle.session_id)
        if session is None:
            if not isinstance(session_id, str):
                return {}  # reported by get_session
            self.telemetry.report(
                ValueError,
                f"session {describe(session_id)} is not open in this process (already completed, or "
                "begun in another process, whose root span ends there)",
            )
            return {}
        return session.finish(
            success=success,
            failure_reason=failure_reason,
            estimated_cost=estimated_cost,
            custom_metrics=custom_metrics,
            duration_ms=duration_ms,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            total_tokens=total_tokens,
            user_input=user_input,
            assistant_output=assistant_output,
        )

    def close_session(
        self,
        session_id: Any,
        duration_ms: Any = None,
        success: Any = None,
        failure_reason: Any = None,
    ) -> dict[str, Any]:
        """Legacy alias of :meth:`complete_session`."""
        return self.complete_session(
            session_id=session_id,
            success=True if success is None else success,
            failure_reason=failure_reason,
            duration_ms=duration_ms,
        )

    def begin(
        self,
        user_id: Any,
        event: Any,
        input: Any = None,  # noqa: A002 - the SDK's argument name
        event_id: Any = None,
        convo_id: Any = None,
        metadata: Any = None,
    ) -> Interaction:
        """Start a session named ``"{event}:{event_id[:8]}"`` and make it current."""
        session = None
        given_id = event_id
        event_id = None
        # Whatever happens, the caller gets an Interaction: without a session it is a no-op
        # (degraded mode).
        with handle_internal_errors("begin", strict=self.strict):
            report = self.telemetry.report
            event_id = name_argument(given_id, "event_id", report, ints=True) or new_event_id()
            self._check_user_id(user_id)
            agent = name_argument(event, "event", report, "agent", required=True)
            session = self.telemetry.start_session(
                agent_name=agent,
                name=f"{agent[:240]}:{event_id[:8]}",
                user_id=user_id,
                convo_id=convo_id,
                metadata=metadata,
                input=input,
            )
            session.activate()
        return Interaction(
            self, session, user_id=user_id, event=event, event_id=event_id or new_event_id()
        )

    # --- events --------------------------------------------------------------------------
    @handle_internal_errors(fallback=dict, strict=by_instance)
    def track_tool_call(
        self,
        session_id: Any,
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
        *,
        tool_call_id: Any = None,
        description: Any = None,
    ) -> dict[str, Any]:
        """Record a tool call as an ``execute_tool {tool_name}`` span in the session."""
        return self.telemetry.get_session(session_id).track_tool_call(
            tool_name=tool_name,
            tool_input=tool_input,
            tool_output=tool_output,
            reasoning=reasoning,
            estimated_cost=estimated_cost,
            tool_error=tool_error,
            token_count=token_count,
            trace_id=trace_id,
            span_id=span_id,
            metadata=metadata,
            tool_call_id=tool_call_id,
            description=description,
        )

    @handle_internal_errors(fallback=dict, strict=by_instance)
    def track_decision(
        self,
        session_id: Any,
        reasoning: Any,
        alternatives: Any = None,
        confidence: Any = None,
        estimated_cost: Any = 0.0,
        token_count: Any = None,
        trace_id: Any = None,
        span_id: Any = None,
        metadata: Any = None,
        *,
        chosen: Any = None,
    ) -> dict[str, Any]:
        """Record a decision as a ``decision {agent}`` span in the session."""
        return self.telemetry.get_session(session_id).track_decision(
            reasoning=reasoning,
            alternatives=alternatives,
            confidence=confidence,
            estimated_cost=estimated_cost,
            token_count=token_count,
            trace_id=trace_id,
            span_id=span_id,
            metadata=metadata,
            chosen=chosen,
        )

    @handle_internal_errors(fallback=dict, strict=by_instance)
    def track_error(
        self,
        session_id: Any,
        error_message: Any,
        error_type: Any = None,
        tool_name: Any = None,
        stack_trace: Any = None,
        trace_id: Any = None,
        span_id: Any = None,
        metadata: Any = None,
    ) -> dict[str, Any]:
        """Record an error as an ``exception`` event; the span's status becomes ERROR."""
        return self.telemetry.get_session(session_id).track_error(
            error_message=error_message,
            error_type=error_type,
            tool_name=tool_name,
            stack_trace=stack_trace,
            trace_id=trace_id,
            span_id=span_id,
            metadata=metadata,
        )

    @handle_internal_errors(fallback=dict, strict=by_instance)
    def track_llm_call(
        self,
        session_id: Any,
        provider: Any = None,
        model: Any = None,
        input: Any = None,  # noqa: A002
        output: Any = None,
        prompt_tokens: Any = None,
        completion_tokens: Any = None,
        estimated_cost: Any = None,
        finish_reason: Any = None,
        stream: bool = False,
        *,
        operation: str = sc.OP_CHAT,
        response_model: Any = None,
        system_instructions: Any = None,
        cache_read_tokens: Any = None,
        cache_write_tokens: Any = None,
        reasoning_tokens: Any = None,
        time_to_first_chunk: Any = None,
        duration_ms: Any = None,
        params: Any = None,
        trace_id: Any = None,
        span_id: Any = None,
        metadata: Any = None,
    ) -> dict[str, Any]:
        """Record an LLM call as a ``chat {model}`` span; cost from the price table if not given.

        Beyond Sentrial's arguments (keyword only): ``cache_read_tokens``,
        ``cache_write_tokens`` and ``reasoning_tokens`` are parts of ``prompt_tokens`` /
        ``completion_tokens`` (``gen_ai.usage.cache_read.input_tokens``,
        ``.cache_write.input_tokens``, ``.reasoning.output_tokens``; cached input and
        cache writes are priced apart), ``stream=True`` with ``time_to_first_chunk``
        (seconds) describes a streamed call.
        """
        return self.telemetry.get_session(session_id).track_llm_call(
            provider=provider,
            model=model,
            input=input,
            output=output,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            estimated_cost=estimated_cost,
            finish_reason=finish_reason,
            stream=stream,
            operation=operation,
            response_model=response_model,
            system_instructions=system_instructions,
            cache_read_tokens=cache_read_tokens,
            cache_write_tokens=cache_write_tokens,
            reasoning_tokens=reasoning_tokens,
            time_to_first_chunk=time_to_first_chunk,
            duration_ms=duration_ms,
            params=params,
            trace_id=trace_id,
            span_id=span_id,
            metadata=metadata,
        )

    @handle_internal_errors(fallback=dict, strict=by_instance)
    def score(
        self,
        session_id: Any,
        name: Any,
        value: Any = None,
        label: Any = None,
        explanation: Any = None,
    ) -> dict[str, Any]:
        """Score a session (user feedback, an evaluation), now or later, from any process.

        ``value``: a finite number; ``label``: a string (``"good"``, ``"pass"``); at least
        one of them. ``explanation`` is content (absent when capture is off). Sent as a
        ``gen_ai.evaluation.result`` log record on the session's root span; returns its
        ids, or ``{}`` when the input was refused.
        """
        return self.telemetry.score(
            session_id, name, value=value, label=label, explanation=explanation
        )

    @handle_internal_errors(strict=by_instance)
    def update_state(self, key: Any, value: Any) -> None:
        """Per-thread agent state; the next events carry it (before and after)."""
        self.telemetry.update_state(key, value)

    # --- lifecycle -----------------------------------------------------------------------
    @handle_internal_errors(fallback=False, strict=by_instance)
    def flush(self, timeout: float = 5.0) -> bool:
        """Export everything queued so far (bounded by ``timeout`` seconds)."""
        return self.telemetry.flush(timeout)

    @handle_internal_errors(strict=by_instance)
    def shutdown(self) -> None:
        """End open sessions (as abandoned), deliver queued spans and stop exporting."""
        self.telemetry.shutdown()

    def close(self) -> None:
        self.shutdown()

    def __enter__(self) -> SentrialClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- costs ---------------------------------------------------------------------------
    @staticmethod
    def calculate_openai_cost(model: str, input_tokens: int, output_tokens: int) -> float:
        return pricing.cost_usd(model, input_tokens, output_tokens, pricing.PROVIDER_OPENAI)

    @staticmethod
    def calculate_anthropic_cost(model: str, input_tokens: int, output_tokens: int) -> float:
        return pricing.cost_usd(model, input_tokens, output_tokens, pricing.PROVIDER_ANTHROPIC)

    @staticmethod
    def calculate_google_cost(model: str, input_tokens: int, output_tokens: int) -> float:
        return pricing.cost_usd(model, input_tokens, output_tokens, pricing.PROVIDER_GOOGLE)

    # --- helpers -------------------------------------------------------------------------
    def _check_user_id(self, user_id: Any) -> None:
        # Its type is checked where the session takes it (``name_argument``).
        if user_id is None:
            self.telemetry.report(ValueError, "user_id is required (got None)")
