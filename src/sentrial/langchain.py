"""``SentrialCallbackHandler``: the Sentrial SDK's LangChain handler, producing spans.

Code written for the Sentrial SDK runs unchanged::

    from sentrial.langchain import SentrialCallbackHandler

    handler = SentrialCallbackHandler(client, session_id)
    result = agent.invoke({"messages": [...]}, {"callbacks": [handler]})
    print(handler.total_cost, handler.total_tokens, handler.llm_calls)
    handler.finish()

Every run the handler sees becomes a span (as with ``LangChainInstrumentor``), nested under
the session's root span: the session open in this process, or, for a session begun in
another process, the root derived from its id. The handler's totals are the sums over the
LLM spans it produced (tokens from the models' usage data, cost from the price table), and
the same usage is added to the session's own totals.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from opentelemetry import context as otel_context

from sentrial.client import SentrialClient
from sentrial_otel._internal.errors import by_instance, handle_internal_errors
from sentrial_otel._internal.logs import logger
from sentrial_otel._internal.misuse import flag_argument
from sentrial_otel._internal.spans.session import SessionHandle
from sentrial_otel._internal.spans.steps import Step
from sentrial_otel.instrumentation.langchain import OpenTelemetryCallbackHandler

__all__ = ["SentrialCallbackHandler"]


class SentrialCallbackHandler(OpenTelemetryCallbackHandler):
    """A LangChain callback handler that records a run into a Sentrial session.

    Args:
        client: the ``SentrialClient`` whose engine (tracer, content policy) is used.
        session_id: the session the runs belong to.
        track_llm_calls: emit LLM spans; with False, LLM usage is still counted into the
            totals but no ``chat`` span is written.
        verbose: log each LLM call and tool call on the ``sentrial`` logger (INFO).

    Public state (as the Sentrial SDK): ``total_prompt_tokens``,
    ``total_completion_tokens``, ``total_tokens``, ``total_cost``, ``llm_calls``,
    ``model_name``, ``start_time``, ``end_time``, ``user_input``.
    """

    def __init__(
        self,
        client: SentrialClient,
        session_id: str,
        track_llm_calls: bool = True,
        verbose: bool = False,
    ) -> None:
        telemetry = client.telemetry
        super().__init__(
            telemetry.tracer,
            telemetry.content,
            track_llm_calls=flag_argument(track_llm_calls, "track_llm_calls", telemetry.report, True),
            metrics=telemetry.metrics,
            dialects=telemetry.settings.dialects,
            # A tool's or node's span is current inside its body, so spans the tool makes
            # itself nest under it.
            nest_body_spans=True,
        )
        self.client = client
        self.session_id = session_id
        self.verbose = flag_argument(verbose, "verbose", telemetry.report, False)
        self.strict = client.strict
        self._session: SessionHandle = telemetry.get_session(session_id)
        self._lock = threading.Lock()
        self.total_prompt_tokens = 0
        self.total_completion_tokens = 0
        self.total_tokens = 0
        self.total_cost = 0.0
        self.llm_calls = 0
        self.model_name: str | None = None
        self.start_time: float = time.time()
        self.end_time: float | None = None
        self.user_input: str | None = None

    # --- where runs go --------------------------------------------------------------------
    def _top_level_context(self) -> otel_context.Context:
        # The current span when it is inside this session (a tool span, say), else the root.
        context, _ = self._session.parent_context()
        return context

    def _session_for(self, context: otel_context.Context) -> SessionHandle | None:
        return self._session

    def _step_ended(self, step: Step) -> None:
        input_tokens, output_tokens = step.input_tokens or 0, step.output_tokens or 0
        with self._lock:
            self.llm_calls += 1
            self.total_prompt_tokens += input_tokens
            self.total_completion_tokens += output_tokens
            self.total_tokens += input_tokens + output_tokens
            self.total_cost += step.cost
            self.model_name = step.name
        if self.verbose:
            logger.info(
                "sentrial: LLM call %s: %s input / %s output tokens, $%.6f",
                step.name, step.input_tokens, step.output_tokens, step.cost,
            )

    def on_tool_start(self, serialized: Any, input_str: str, **kwargs: Any) -> None:
        super().on_tool_start(serialized, input_str, **kwargs)
        if self.verbose:
            name = (serialized or {}).get("name") if isinstance(serialized, dict) else None
            logger.info("sentrial: tool call %s", name or kwargs.get("name") or "tool")

    # --- the Sentrial SDK's API -----------------------------------------------------------
    def set_input(self, user_input: str) -> None:
        """The user's input, recorded on the session when :meth:`finish` completes it."""
        self.user_input = user_input

    @property
    def duration_ms(self) -> float:
        """Milliseconds from the handler's creation to :meth:`finish` (or to now)."""
        end = self.end_time if self.end_time is not None else time.time()
        return (end - self.start_time) * 1000.0

    def get_usage_summary(self) -> dict[str, Any]:
        """Totals over the LLM calls seen so far."""
        with self._lock:
            return {
                "llm_calls": self.llm_calls,
                "total_prompt_tokens": self.total_prompt_tokens,
                "total_completion_tokens": self.total_completion_tokens,
                "total_tokens": self.total_tokens,
                "total_cost": self.total_cost,
                "model": self.model_name,
                "duration_ms": self.duration_ms,
            }

    @handle_internal_errors(fallback=dict, strict=by_instance)
    def finish(
        self,
        success: bool = True,
        failure_reason: str | None = None,
        custom_metrics: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Complete the session with the handler's totals; returns what ``complete_session`` did."""
        self.end_time = time.time()
        summary = self.get_usage_summary()
        return self.client.complete_session(
            self.session_id,
            success=success,
            failure_reason=failure_reason,
            estimated_cost=summary["total_cost"],
            custom_metrics=custom_metrics,
            prompt_tokens=summary["total_prompt_tokens"],
            completion_tokens=summary["total_completion_tokens"],
            total_tokens=summary["total_tokens"],
            user_input=self.user_input,
        )
