"""``Interaction``: one session begun with ``sentrial.begin(...)``."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Protocol

from sentrial_otel._internal.content.encoding import safe_str
from sentrial_otel._internal.errors import by_instance, handle_internal_errors
from sentrial_otel._internal.spans.failures import error_text
from sentrial_otel._internal.spans.ids import random_uuid
from sentrial_otel._internal.spans.session import Session


class _Client(Protocol):
    """What an interaction needs of its client (``SentrialClient``)."""

    strict: bool


class Interaction:
    """A session from ``begin`` to ``finish``; also a context manager.

    While open it is the current session for ``@tool``, ``SessionContext`` and LangChain.
    If the session could not be created, every method is a no-op (degraded mode).
    """

    # Slots, not a __dict__: tens of thousands of interactions may be open at once.
    __slots__ = (
        "__weakref__", "_error_message", "_output", "client", "event", "event_id", "session", "session_id",
        "strict", "user_id",
    )

    def __init__(
        self,
        client: _Client,
        session: Session | None,
        *,
        user_id: Any,
        event: Any,
        event_id: str,
    ) -> None:
        self.client = client
        self.session = session
        self.session_id: str | None = session.session_id if session is not None else None
        self.event_id = event_id
        self.user_id = user_id
        self.event = event
        self.strict = client.strict
        self._output: Any = None
        self._error_message: str | None = None
        if session is not None:
            session.owner = self  # what get_current_interaction() returns for it

    @property
    def degraded(self) -> bool:
        """True when the session could not be created and calls do nothing."""
        return self.session is None

    @property
    def traceparent(self) -> str | None:
        """W3C ``traceparent`` of the session's root span, for HTTP propagation."""
        return self.session.traceparent if self.session is not None else None

    def set_output(self, output: Any) -> None:
        """Keep ``output`` for the context-manager exit."""
        self._output = output

    @handle_internal_errors(fallback=dict, strict=by_instance)
    def finish(
        self,
        output: Any = None,
        success: Any = True,
        failure_reason: Any = None,
        estimated_cost: Any = None,
        custom_metrics: Any = None,
        duration_ms: Any = None,
        prompt_tokens: Any = None,
        completion_tokens: Any = None,
        total_tokens: Any = None,
    ) -> dict[str, Any]:
        """End the session; a second call is a no-op returning ``{}``."""
        if self.session is None:
            return {}
        return self.session.finish(
            success=success,
            failure_reason=failure_reason,
            estimated_cost=estimated_cost,
            custom_metrics=custom_metrics,
            duration_ms=duration_ms,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            total_tokens=total_tokens,
            assistant_output=output if output is not None else self._output,
        )

    @handle_internal_errors(fallback=dict, strict=by_instance)
    def track_tool_call(
        self,
        tool_name: Any,
        tool_input: Any = None,
        tool_output: Any = None,
        reasoning: Any = None,
        estimated_cost: Any = 0.0,
        tool_error: Any = None,
        token_count: Any = None,
        metadata: Any = None,
        **extra: Any,
    ) -> dict[str, Any]:
        if self.session is None:
            return {}
        return self.session.track_tool_call(
            tool_name=tool_name,
            tool_input=tool_input,
            tool_output=tool_output,
            reasoning=reasoning,
            estimated_cost=estimated_cost,
            tool_error=tool_error,
            token_count=token_count,
            metadata=metadata,
            **extra,
        )

    @handle_internal_errors(fallback=dict, strict=by_instance)
    def track_decision(
        self,
        reasoning: Any,
        alternatives: Any = None,
        confidence: Any = None,
        estimated_cost: Any = 0.0,
        token_count: Any = None,
        metadata: Any = None,
        **extra: Any,
    ) -> dict[str, Any]:
        if self.session is None:
            return {}
        return self.session.track_decision(
            reasoning=reasoning,
            alternatives=alternatives,
            confidence=confidence,
            estimated_cost=estimated_cost,
            token_count=token_count,
            metadata=metadata,
            **extra,
        )

    @handle_internal_errors(fallback=dict, strict=by_instance)
    def track_error(
        self,
        error_message: Any,
        error_type: Any = None,
        tool_name: Any = None,
        stack_trace: Any = None,
        metadata: Any = None,
    ) -> dict[str, Any]:
        """Record an error; the interaction is then marked failed at the context-manager exit."""
        if self.session is None:
            return {}
        self._error_message = safe_str(error_message)
        return self.session.track_error(
            error_message=error_message,
            error_type=error_type,
            tool_name=tool_name,
            stack_trace=stack_trace,
            metadata=metadata,
        )

    @handle_internal_errors(fallback=dict, strict=by_instance)
    def track_llm_call(self, provider: Any = None, model: Any = None, **kwargs: Any) -> dict[str, Any]:
        """Record an LLM call (provider, model, input, output, tokens, cost, finish reason)."""
        if self.session is None:
            return {}
        return self.session.track_llm_call(provider=provider, model=model, **kwargs)

    @handle_internal_errors(fallback=dict, strict=by_instance)
    def score(
        self, name: Any, value: Any = None, label: Any = None, explanation: Any = None
    ) -> dict[str, Any]:
        """Score this interaction (see ``SentrialClient.score``); works after ``finish`` too."""
        if self.session is None:
            return {}
        return self.session.score(name, value=value, label=label, explanation=explanation)

    def __enter__(self) -> Interaction:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._exit(exc)

    async def __aenter__(self) -> Interaction:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._exit(exc)

    @handle_internal_errors(strict=by_instance)
    def _exit(self, exc: BaseException | None) -> None:
        if self.session is None:
            return
        if exc is not None:
            self.session.finish(
                success=False,
                failure_reason=f"{type(exc).__name__}: {error_text(exc)}",
                error=exc,
                assistant_output=self._output,
            )
        elif self._error_message is not None:
            self.session.finish(
                success=False, failure_reason=self._error_message, assistant_output=self._output
            )
        else:
            self.session.finish(assistant_output=self._output)


def new_event_id() -> str:
    return random_uuid()
