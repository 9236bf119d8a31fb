"""Calls in progress inside a session: a timed tool call, an LLM call, and the totals
they add up to on the session's root."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from opentelemetry import trace

from sentrial_otel import semconv as sc
from sentrial_otel._internal.spans import attributes as events
from sentrial_otel._internal.spans.failures import record_exception
from sentrial_otel._internal.spans.pricing import cost_usd

if TYPE_CHECKING:
    from sentrial_otel._internal.spans.session import SessionHandle


class Totals:
    """What a session's events added up to, for the root span's totals."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.cost = 0.0
        self.input_tokens = 0
        self.output_tokens = 0
        self.other_tokens = 0
        self.llm_calls = 0
        self.tool_calls = 0
        self.decisions = 0
        self.errors = 0

    def add(
        self,
        *,
        cost: float = 0.0,
        input_tokens: int = 0,
        output_tokens: int = 0,
        other_tokens: int = 0,
        llm_calls: int = 0,
        tool_calls: int = 0,
        decisions: int = 0,
        errors: int = 0,
    ) -> None:
        with self.lock:
            self.cost += cost
            self.input_tokens += input_tokens
            self.output_tokens += output_tokens
            self.other_tokens += other_tokens
            self.llm_calls += llm_calls
            self.tool_calls += tool_calls
            self.decisions += decisions
            self.errors += errors


class ToolCall:
    """A tool call in progress; set ``result`` (or ``error``) before the block ends."""

    _UNSET: Any = object()

    def __init__(self, session: SessionHandle, span: trace.Span, name: str) -> None:
        self.session = session
        self.span = span
        self.name = name
        self.started = time.monotonic()
        self.result: Any = ToolCall._UNSET
        self.error: BaseException | None = None
        self.cost: Any = None
        self.token_count: Any = None

    def end(self) -> None:
        engine = self.session.engine
        if self.error is not None:
            record_exception(self.span, self.error, engine.content)
        elif self.result is not ToolCall._UNSET:
            events.set_tool_result(self.span, engine.content, self.result)
        attrs = events.Attributes()
        cost, tokens = events.add_cost_and_tokens(attrs, self.cost, self.token_count, engine.report)
        if attrs.values:
            self.span.set_attributes(attrs.values)
        self.span.end()
        self.session.totals.add(
            cost=cost, other_tokens=tokens, tool_calls=1, errors=int(self.error is not None)
        )
        engine.metrics.tool_ended(
            self.name,
            self.session.agent_name,
            time.monotonic() - self.started,
            type(self.error).__qualname__ if self.error is not None else None,
        )


class LlmCall:
    """An LLM call in progress; ``finish(...)`` records the response and ends the span."""

    def __init__(
        self,
        session: SessionHandle,
        begin: Callable[[Mapping[str, Any]], trace.Span],
        operation: str,
        provider: str,
        model: str,
        known_seconds: float | None = None,
    ) -> None:
        self.session = session
        self._begin = begin
        self.span: trace.Span | None = None
        self.operation = operation
        self.provider = provider
        self.model = model
        # A call timed by a with-block measures itself; one tracked afterwards only knows
        # the duration it was given.
        self.known_seconds = known_seconds
        self.started = time.monotonic()
        self.timed = False
        self.error_type: str | None = None
        self.input_messages: Any = None
        self.ended = False

    def started_span(self) -> trace.Span:
        """The call's span, started now with the start attributes if it was not yet."""
        if self.span is None:
            self.span = self._begin({})
        return self.span

    def finish(
        self,
        output: Any = None,
        *,
        input_messages: Any = None,
        prompt_tokens: Any = None,
        completion_tokens: Any = None,
        estimated_cost: Any = None,
        finish_reason: Any = None,
        response_model: Any = None,
        system_instructions: Any = None,
        cache_read_tokens: Any = None,
        reasoning_tokens: Any = None,
        time_to_first_chunk: Any = None,
        metadata: Any = None,
    ) -> None:
        if self.ended:
            return
        self.ended = True
        engine = self.session.engine
        attrs = events.Attributes()
        tokens_in, tokens_out = events.llm_end(
            attrs,
            engine.content,
            engine.report,
            response_model=response_model or self.model,
            input_messages=input_messages if input_messages is not None else self.input_messages,
            output=output,
            system_instructions=system_instructions,
            input_tokens=prompt_tokens,
            output_tokens=completion_tokens,
            cache_read_tokens=cache_read_tokens,
            reasoning_tokens=reasoning_tokens,
            finish_reasons=finish_reason,
            response_id=None,
            time_to_first_chunk=time_to_first_chunk,
        )
        cost = events.checked_cost(estimated_cost, "estimated_cost", engine.report)
        if cost is None and (tokens_in or tokens_out):
            cost = cost_usd(self.model, tokens_in, tokens_out, self.provider)
        if cost:
            attrs.put(sc.SENTRIAL_COST_USD, cost)
        events.add_metadata(attrs, engine.content, metadata, engine.report)
        if self.span is None:
            self.span = self._begin(attrs.finish())
        else:
            self.span.set_attributes(attrs.finish())
        self.span.end()
        self.session.totals.add(
            cost=cost or 0.0,
            input_tokens=tokens_in or 0,
            output_tokens=tokens_out or 0,
            llm_calls=1,
        )
        seconds = time.monotonic() - self.started if self.timed else self.known_seconds
        engine.metrics.llm_ended(
            self.operation, self.provider, self.model, tokens_in, tokens_out, seconds,
            agent_name=self.session.agent_name, error_type=self.error_type,
        )
