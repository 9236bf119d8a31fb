"""One lifecycle per kind of step: a tool call, an LLM call, a decision, an agent run.

Every door into the engine goes through these (util-genai's invocation objects): the
``sentrial`` facade and the native API (``session.tool()``, ``session.llm()``,
``session.track_*``) and the LangChain handler, so each rule lives in one place:

* the span starts with every start attribute at once (samplers see them), plus the
  session's stamp and, for tool, LLM and decision steps, the ``update_state`` values;
* content goes through the one content policy (``attributes.py``);
* ``stop(...)`` ends a step that finished (its outcome), ``fail(error)`` one that raised,
  ``stop_marked(key)`` one that stopped early without failing (a stream its consumer
  closed, an interrupt); each ends the span exactly once, and a failure in our enrichment
  never keeps it open;
* as a context manager the span is current inside the block and any ``BaseException``
  (cancellation included) fails the step and is re-raised;
* the end records the metrics and hands the session a :class:`~steps.Step`, which adds
  it to the session's totals and passes it to the session's listeners (the detectors).

A step tracked after the fact (``track_tool_call`` and friends) is never ``start()``ed:
``stop`` starts its span with the start and end attributes together and ends it, one
attribute pass instead of two. A step whose span is suppressed (``span_name=None``) still
records its metrics and its step.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, ClassVar

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Link, SpanKind

from sentrial_otel import semconv as sc
from sentrial_otel._internal.errors import handle_internal_errors
from sentrial_otel._internal.misuse import Deferred, check_content
from sentrial_otel._internal.spans import attributes as attrs_of
from sentrial_otel._internal.spans.attributes import (
    Attributes,
    UserKeys,
    fit_lengths,
    place_user_keys,
)
from sentrial_otel._internal.spans.dialects import openinference_keys
from sentrial_otel._internal.spans.failures import (
    add_exception_event,
    mark_error,
    record_exception,
)
from sentrial_otel._internal.spans.ids import planned_ids
from sentrial_otel._internal.spans.pricing import cost_usd
from sentrial_otel._internal.spans.recording import Recording, SessionScope
from sentrial_otel._internal.spans.rollup import (
    CACHE_READ,
    CACHE_WRITE,
    INPUT,
    OUTPUT,
    REASONING,
    InferenceSlot,
    with_slot,
)
from sentrial_otel._internal.spans.stamping import STAMPED_AT_START
from sentrial_otel._internal.spans.steps import (
    AGENT,
    DECISION,
    LLM,
    TOOL,
    Step,
    arguments_hash,
)

_UNSET: Any = object()
# A Step from a tuple of its fields: NamedTuple's own constructor costs twice as much.
_new_step = tuple.__new__
# Our error while ending a step at the close of a with-block must not replace the user's.
_ENDING = handle_internal_errors("ending a step's span")
_ENDING_STRICT = handle_internal_errors("ending a step's span", strict=True)


class Invocation:
    """One step as one span: ``start()``, then ``stop()`` or ``fail(error)``, once.

    The base class serves the spans that are not steps of their own (LangChain workflows,
    graph nodes, plumbing chains): no metrics, no step record.
    """

    kind: ClassVar[str | None] = None
    """The :class:`~steps.Step` kind this records, None for no step."""
    carries_state: ClassVar[bool] = False
    """Whether the span carries the session's ``update_state`` values."""

    __slots__ = (
        "_attrs", "_context", "_core", "_links", "_planned", "_timed", "_token", "_user",
        "ended", "error_type", "name", "recording", "session", "span", "span_kind",
        "span_name", "start_ns",
    )

    def __init__(
        self,
        recording: Recording,
        session: SessionScope | None,
        name: str,
        span_name: str | None,
        attributes: Attributes,
        context: otel_context.Context | None,
        span_kind: SpanKind = SpanKind.INTERNAL,
        planned: tuple[int, int | None] | None = None,
        links: Sequence[Link] | None = None,
        start_ns: int | None = None,
    ) -> None:
        """``span_name=None`` suppresses the span; ``planned`` gives the span these (trace,
        span) ids (``ids.planned_ids``); ``start_ns`` backdates the start. Subclasses call it
        by position (a step is built for every event, and a keyword call through
        ``super()`` costs a third of a microsecond); the kinds' own constructors are
        keyword-only."""
        self.recording = recording
        self.session = session
        self.name = name
        self.span_name = span_name
        self.span_kind = span_kind
        self.span: trace.Span | None = None
        self.start_ns = start_ns
        self.ended = False
        self.error_type: str | None = None
        self._attrs = attributes
        self._context = context
        self._planned = planned
        self._links = links
        self._timed = False
        self._token: Any = None
        self._core = 0
        """How many of the span's own attributes it holds (for the user keys' room)."""
        self._user: UserKeys | None = None

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> Invocation:
        """Start the span now, with the start attributes (a step timed as it runs)."""
        if self.span is None and not self.ended:
            self._timed = True
            self._open(None)
        return self

    def add_start_attribute(self, key: str, value: Any) -> None:
        """One more attribute the span starts with (before ``start()``; a session's own
        stamp still wins over it)."""
        self._attrs.put(key, value)

    def stop(self) -> Step | None:
        """End a step that finished."""
        return self._stop_with(None, "", None)

    def _stop_with(self, key: str | None, field: str, content: Any) -> Step | None:
        """End with at most one content attribute (an agent's answer, a retriever's
        documents), through the content policy's ``field``."""
        if self.ended:
            return None
        self.ended = True
        end_ns = time.time_ns()
        outcome = None
        policy = self.recording.content
        if key is not None and content is not None and policy.capture:
            outcome = Attributes()
            outcome.put_encoded(key, policy.json(field, content))
        self._close(outcome, end_ns)
        return self._finished(end_ns)

    def stop_marked(self, key: str) -> Step | None:
        """End a step that stopped early without failing, with ``key=true`` on its span: a
        stream its consumer closed (``sentrial.stream.consumer_stopped``), a run a LangGraph
        interrupt paused (``sentrial.langchain.interrupted``). No error status."""
        if self.ended:
            return None
        self.ended = True
        end_ns = time.time_ns()
        outcome = self._attrs if self.span is None else Attributes()  # see _close
        outcome.values[key] = True
        self._close(outcome, end_ns)
        return self._finished(end_ns)

    def add_start_links(self, links: Sequence[Link]) -> None:
        """More links the span starts with (before ``start()``): a resumed LangGraph run's
        link to the run its interrupt paused."""
        self._links = [*(self._links or ()), *links]

    def fail(self, error: BaseException) -> Step | None:
        """End a step that raised ``error``: ``exception`` event, status ERROR, ``error.type``."""
        if self.ended:
            return None
        self.ended = True
        end_ns = time.time_ns()
        self.error_type = type(error).__qualname__
        self._close(None, end_ns, exception=error)
        return self._finished(end_ns)

    def _finished(self, end_ns: int) -> Step | None:
        """Metrics and step record of a step that ended (subclasses; ``error_type`` is set
        when it failed)."""
        return None

    # --- as a context manager ---------------------------------------------------------------
    def __enter__(self) -> Any:
        self.start()
        if self.span is not None:
            self._token = otel_context.attach(trace.set_span_in_context(self.span))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        token, self._token = self._token, None
        if token is not None:
            otel_context.detach(token)
        if not self.ended:
            if error is not None:
                with _ENDING:
                    self.fail(error)
            else:
                # A misuse found while ending is raised in strict mode (the span has ended).
                with _ENDING_STRICT if getattr(self.recording.report, "strict", False) else _ENDING:
                    self.stop()

    # --- the span ---------------------------------------------------------------------------
    def _open(self, outcome: Attributes | None) -> trace.Span | None:
        """Start the span with the start attributes (and, after the fact, the outcome)."""
        if self.span_name is None:
            if self.start_ns is None:
                self.start_ns = time.time_ns()
            return None
        attrs = self._attrs
        if outcome is not None and outcome is not attrs:
            attrs.absorb(outcome)
        values = attrs.finish()
        if self.recording.openinference:
            openinference_keys(values, starting=True, agent=self.kind == AGENT)
        session = self.session
        stamped = None
        if session is not None:
            values.update(session.stamp)
            stamped = STAMPED_AT_START.set(True)
            if self.carries_state:
                state = session.state
                if state is not None and state.active:
                    values.update(state.attributes())
        values = self._limited(values, attrs.user)
        if self.start_ns is None:
            self.start_ns = time.time_ns()
        try:
            span = self._start_span(self.span_name, values)
        finally:
            if stamped is not None:
                STAMPED_AT_START.reset(stamped)
        self.span = span
        return span

    def _start_span(self, span_name: str, values: dict[str, Any]) -> trace.Span:
        """Hand the span to the tracer (a session's root may hold it back: ``root.py``)."""
        tracer = self.recording.tracer
        if self._planned is not None:
            with planned_ids(*self._planned):
                return tracer.start_span(
                    span_name, self._context, self.span_kind, values, self._links,
                    self.start_ns,
                )
        return tracer.start_span(
            span_name, self._context, self.span_kind, values, self._links, self.start_ns,
        )

    def _close(
        self,
        outcome: Attributes | None,
        end_ns: int,
        *,
        exception: BaseException | None = None,
        reported: tuple[str, str, str | None, Mapping[str, Any]] | None = None,
    ) -> trace.Span | None:
        """Record the outcome and end the span (even if recording the outcome fails).

        A step tracked after the fact has no span yet: it starts now with the start and end
        attributes together, and the outcome may be the start attributes' own bag (one
        attribute pass instead of two). ``reported``: (error.type, message, stack trace,
        extra event attributes) of an error reported without raising (a tool's
        ``tool_error``, ``track_error``)."""
        span = self.span
        if span is None:
            if self._timed and self.span_name is None:
                return None  # suppressed
            if self.start_ns is None:
                self.start_ns = end_ns  # tracked after the fact, with no duration given
            span = self._open(outcome)
            if span is None:
                return None
            outcome = None  # already on the span
        try:
            if outcome is not None and (outcome.values or outcome.truncated or outcome.user):
                values = outcome.finish()
                if self.recording.openinference:
                    openinference_keys(values, starting=False, agent=self.kind == AGENT)
                values = self._limited(values, outcome.user)
                if len(values) == 1:  # a tool's result, an agent's answer: no mapping pass
                    for key, value in values.items():
                        span.set_attribute(key, value)
                else:
                    span.set_attributes(values)
            if exception is not None:
                record_exception(span, exception, self.recording.content)
            elif reported is not None:
                error_type, message, stacktrace, extra = reported
                limits = self.recording.content.limits
                add_exception_event(span, error_type, message, stacktrace, extra, limits)
                mark_error(span, error_type, message, limits)
        finally:
            span.end(end_time=end_ns)
        return span

    def _limited(self, values: dict[str, Any], user: Mapping[str, Any] | None) -> dict[str, Any]:
        """``values`` (the span's own attributes, about to be set) with the user keys that
        fit the span's count limit, the rest in the overflow attribute, every string within
        the value length limit (``limits.py``): the SDK never has to evict or cut."""
        recording = self.recording
        self._core += len(values)
        if user:
            if self._user is None:
                self._user = UserKeys()
            values = place_user_keys(
                values, user, recording.content, recording.report, self._user, self._core
            )
        length = recording.content.limits.value_length
        if length is not None:
            fit_lengths(values, length)
        return values

    def _record(
        self,
        end_ns: int,
        arguments: int | None,
        confidence: float | None,
        empty: bool | None,
        reasons: tuple[str, ...],
        cost: float,
        input_tokens: int | None,
        output_tokens: int | None,
        total_tokens: int | None,
        token_details: Mapping[str, int] | None = None,
    ) -> Step | None:
        """This step's record (the :class:`Step` fields after ``error_type``), handed to
        its session; with no session, no one hears it and none is made."""
        session = self.session
        if session is None:
            return None
        step: Step = _new_step(Step, (
            self.kind, self.name, self._step_span_id(),
            self.start_ns or end_ns, end_ns, self.error_type, arguments, confidence, empty,
            reasons, cost, input_tokens, output_tokens, total_tokens, token_details,
        ))
        session.step_ended(step)
        return step

    def _step_span_id(self) -> int:
        """The span a step record points at (0: none)."""
        span = self.span
        return span.get_span_context().span_id if span is not None else 0


class ToolCall(Invocation):
    """A tool call. In a with-block, set ``result`` (and optionally ``cost``,
    ``token_count``) before it ends; an exception leaving the block fails the call."""

    kind = TOOL
    carries_state = True
    __slots__ = ("_arguments", "agent_name", "cost", "error", "result", "token_count")

    def __init__(
        self,
        recording: Recording,
        session: SessionScope | None,
        *,
        name: str,
        agent_name: str | None,
        context: otel_context.Context | None,
        arguments: Any = None,
        call_id: Any = None,
        description: Any = None,
        reasoning: Any = None,
        metadata: Any = None,
        tool_type: str | None = None,
        planned: tuple[int, int | None] | None = None,
    ) -> None:
        attributes, self._arguments = attrs_of.tool_start(
            recording.content,
            recording.report,
            name=name,
            agent_name=agent_name,
            arguments=arguments,
            call_id=call_id,
            tool_type=tool_type,
            description=description,
            reasoning=reasoning,
            metadata=metadata,
        )
        Invocation.__init__(
            self, recording, session, name, f"{sc.OP_EXECUTE_TOOL} {name}", attributes, context,
            SpanKind.INTERNAL, planned,
        )
        self.agent_name = agent_name
        self.result: Any = _UNSET
        self.error: BaseException | None = None
        self.cost: Any = None
        self.token_count: Any = None

    def stop(
        self,
        result: Any = _UNSET,
        *,
        error: Any = None,
        cost: Any = None,
        token_count: Any = None,
    ) -> Step | None:
        """The tool returned ``result``, or reported ``error`` without raising (a
        ``tool_error`` dict, string or exception: status ERROR, an ``exception`` event and
        ``sentrial.tool.error``)."""
        if self.ended:
            return None
        if self.error is not None and error is None:
            return self.fail(self.error)
        self.ended = True
        end_ns = time.time_ns()
        recording = self.recording
        policy = recording.content
        # Strict mode raises a misuse once the span has ended.
        held = Deferred(recording.report) if getattr(recording.report, "strict", False) else None
        report = held or recording.report
        outcome = self._attrs if self.span is None else Attributes()  # see _close
        reported = None
        if error is not None:
            error_type, message = attrs_of.tool_error_details(error)
            if policy.capture:
                outcome.put_encoded(
                    sc.SENTRIAL_TOOL_ERROR,
                    check_content(policy.json("error", error), "tool_error", report),
                )
                message = policy.text("error", message).value
            else:
                message = error_type  # the tool's error payload is content (SEMCONV: C)
            self.error_type = error_type
            reported = (error_type, message, None, {sc.GEN_AI_TOOL_NAME: self.name})
        else:
            if result is _UNSET:
                result = self.result
            if result is not _UNSET and result is not None and policy.capture:
                outcome.put_encoded(
                    sc.GEN_AI_TOOL_CALL_RESULT, attrs_of.tool_result(policy, result, report)
                )
        usable_cost, tokens = attrs_of.add_cost_and_tokens(
            outcome,
            self.cost if cost is None else cost,
            self.token_count if token_count is None else token_count,
            report,
        )
        self._close(outcome, end_ns, reported=reported)
        step = self._ended(end_ns, usable_cost, tokens)
        if held is not None:
            held.raise_first()
        return step

    def fail(self, error: BaseException) -> Step | None:
        if self.ended:
            return None
        self.ended = True
        end_ns = time.time_ns()
        self.error_type = type(error).__qualname__
        outcome = self._attrs if self.span is None else Attributes()  # see _close
        usable_cost, tokens = attrs_of.add_cost_and_tokens(
            outcome, self.cost, self.token_count, self.recording.report
        )
        self._close(outcome, end_ns, exception=error)
        return self._ended(end_ns, usable_cost, tokens)

    def _finished(self, end_ns: int) -> Step | None:
        return self._ended(end_ns, 0.0, None)

    def _ended(self, end_ns: int, cost: float, tokens: int | None) -> Step | None:
        if self._timed:  # a duration measured: tracked after the fact, a tool has none
            elapsed = end_ns - (self.start_ns or end_ns)
            seconds = elapsed / 1e9 if elapsed > 0 else 0.0
            self.recording.metrics.tool_ended(self.name, self.agent_name, seconds, self.error_type)
        if self.session is None:
            return None
        return self._record(
            end_ns, arguments_hash(self._arguments), None, None, (), cost, None, None, tokens
        )


class LlmCall(Invocation):
    """An LLM call; ``finish(...)`` (Sentrial's names) or ``stop(...)`` records the response."""

    kind = LLM
    carries_state = True
    __slots__ = (
        "_known_seconds", "agent_name", "first_chunk_ns", "inference_slot", "input_messages",
        "model", "operation", "provider",
    )

    def __init__(
        self,
        recording: Recording,
        session: SessionScope | None,
        *,
        operation: str,
        provider: str,
        model: str,
        agent_name: str | None,
        context: otel_context.Context | None,
        stream: bool = False,
        params: Mapping[str, Any] | None = None,
        input_messages: Any = None,
        system_instructions: Any = None,
        record_span: bool = True,
        planned: tuple[int, int | None] | None = None,
        duration_s: float | None = None,
    ) -> None:
        """``duration_s``: the duration of a call tracked after it happened (the span is
        backdated by it)."""
        attributes = attrs_of.llm_start(
            operation=operation,
            provider=provider,
            request_model=model,
            agent_name=agent_name,
            stream=stream,
            params=params,
        )
        if input_messages is not None or system_instructions is not None:
            attrs_of.llm_input(
                attributes, recording.content, recording.report,
                input_messages=input_messages, system_instructions=system_instructions,
            )
        Invocation.__init__(
            self, recording, session, model, f"{operation} {model}" if record_span else None,
            attributes, context, SpanKind.CLIENT, planned, None,
            time.time_ns() - int(duration_s * 1e9) if duration_s is not None else None,
        )
        self.operation = operation
        self.provider = provider
        self.model = model
        self.agent_name = agent_name
        self.input_messages: Any = None
        """Input messages set after the start, recorded at the end."""
        self.first_chunk_ns: int | None = None
        self._known_seconds = duration_s
        self.inference_slot: InferenceSlot | None = None
        """Where another instrumentation's span of this very call (the provider SDK's,
        started in the context of the call) makes itself known (``rollup.py``). A with-block
        puts one in the context it makes current; the LangChain handler, in the provider
        call's."""

    @property
    def described_by(self) -> int | None:
        """The span id of another instrumentation's span of this call: it records the
        call's metrics and has the usage on its span; this call still counts it in its
        session, once."""
        slot = self.inference_slot
        return slot.span_id if slot is not None else None

    def __enter__(self) -> Any:
        self.start()
        if self.span is not None:
            self.inference_slot = InferenceSlot()
            current = with_slot(trace.set_span_in_context(self.span), self.inference_slot)
            self._token = otel_context.attach(current)
        return self

    def span_at_end(self) -> None:
        """A call started without a span, for another instrumentation's span that never
        came, gets its own when it ends, from the call's start."""
        if self.span is None and self.span_name is None and not self.ended:
            self.span_name = f"{self.operation} {self.model}"

    def stop(  # type: ignore[override]
        self,
        output: Any = None,
        *,
        input_messages: Any = None,
        system_instructions: Any = None,
        input_tokens: Any = None,
        output_tokens: Any = None,
        cache_read_tokens: Any = None,
        cache_write_tokens: Any = None,
        reasoning_tokens: Any = None,
        cost: Any = None,
        finish_reasons: Any = None,
        response_model: Any = None,
        response_id: Any = None,
        time_to_first_chunk: Any = None,
        usage_known: bool = True,
        metadata: Any = None,
    ) -> Step | None:
        """The response: output (text or messages), usage, finish reasons. Without a
        ``cost``, the price table's (cache-aware), when any token count is known.

        ``input_tokens`` includes ``cache_read_tokens`` and ``cache_write_tokens``, and
        ``output_tokens`` includes ``reasoning_tokens`` (the GenAI conventions' counting).
        Without ``time_to_first_chunk``, the time of the first :meth:`chunk` call."""
        if self.ended:
            return None
        self.ended = True
        end_ns = time.time_ns()
        recording = self.recording
        # Strict mode raises a misuse once the span has ended.
        held = Deferred(recording.report) if getattr(recording.report, "strict", False) else None
        report = held or recording.report
        policy = recording.content
        other = self.inference_slot.call if self.inference_slot is not None else None
        if other is not None and input_tokens is None and output_tokens is None:
            # Given no usage: the other instrumentation's span of this call has it.
            tokens = other.tokens
            input_tokens, output_tokens = tokens.get(INPUT), tokens.get(OUTPUT)
            if cache_read_tokens is None:
                cache_read_tokens = tokens.get(CACHE_READ)
            if cache_write_tokens is None:
                cache_write_tokens = tokens.get(CACHE_WRITE)
            if reasoning_tokens is None:
                reasoning_tokens = tokens.get(REASONING)
            usage_known = usage_known or INPUT in tokens or OUTPUT in tokens
        tokens_in = attrs_of.checked_tokens(input_tokens, "prompt_tokens", report)
        tokens_out = attrs_of.checked_tokens(output_tokens, "completion_tokens", report)
        details = None
        if cache_read_tokens is not None or cache_write_tokens is not None or reasoning_tokens is not None:
            details = attrs_of.token_details(
                report, cache_read=cache_read_tokens, cache_write=cache_write_tokens,
                reasoning=reasoning_tokens,
            )
        usable_cost = attrs_of.checked_number(cost, "estimated_cost", report)
        if usable_cost is None and (tokens_in is not None or tokens_out is not None):
            usable_cost = cost_usd(
                self.model, tokens_in, tokens_out, self.provider,
                cache_read_tokens=details.get(sc.USAGE_CACHE_READ) if details else None,
                cache_write_tokens=details.get(sc.USAGE_CACHE_WRITE) if details else None,
            )
        if time_to_first_chunk is not None:
            ttfc = attrs_of.checked_number(time_to_first_chunk, "time_to_first_chunk", report)
        elif self.first_chunk_ns is not None:
            ttfc = max(self.first_chunk_ns - (self.start_ns or end_ns), 0) / 1e9
        else:
            ttfc = None
        reasons = attrs_of.finish_reasons_of(finish_reasons, report)
        outcome = self._attrs if self.span is None else Attributes()  # see _close
        if input_messages is None:
            input_messages = self.input_messages
        if input_messages is not None or system_instructions is not None:
            attrs_of.llm_input(
                outcome, policy, report,
                input_messages=input_messages, system_instructions=system_instructions,
            )
        attrs_of.llm_end(
            outcome,
            policy,
            report,
            response_model=response_model if response_model is not None else self.model,
            response_id=response_id,
            output=output,
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            token_details=details,
            finish_reasons=reasons,
            cost=usable_cost,
            time_to_first_chunk=ttfc,
        )
        if not usage_known:
            outcome.values[sc.SENTRIAL_USAGE_UNKNOWN] = True
        if self.described_by is not None and self.span is not None:
            # The other span is our span's child and has the usage: backends that sum
            # gen_ai.usage.* over spans (Phoenix, Langfuse) count the call once.
            values = outcome.values
            for key in [key for key in values if key.startswith(sc.GEN_AI_USAGE_PREFIX)]:
                del values[key]
            values[sc.SENTRIAL_USAGE_ON_CHILD] = True
        if metadata is not None:
            attrs_of.add_metadata(outcome, policy, metadata, report)
        self._close(outcome, end_ns)
        step = self._ended(
            end_ns, tokens_in, tokens_out, usable_cost or 0.0, reasons, output, details, ttfc
        )
        if held is not None:
            held.raise_first()
        return step

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
        cache_write_tokens: Any = None,
        reasoning_tokens: Any = None,
        time_to_first_chunk: Any = None,
        metadata: Any = None,
    ) -> Step | None:
        """Record the response and end the call, in the Sentrial SDK's names (see
        :meth:`stop` for how the token counts add up); like :meth:`stop`, the step
        recorded (None if the call had ended already or belongs to no session).
        ``track_llm_call`` comes through here too: one translation of the names."""
        return self.stop(
            output,
            input_messages=input_messages,
            system_instructions=system_instructions,
            input_tokens=prompt_tokens,
            output_tokens=completion_tokens,
            cache_read_tokens=cache_read_tokens,
            cache_write_tokens=cache_write_tokens,
            reasoning_tokens=reasoning_tokens,
            cost=estimated_cost,
            finish_reasons=finish_reason,
            response_model=response_model,
            time_to_first_chunk=time_to_first_chunk,
            metadata=metadata,
        )

    def chunk(self) -> None:
        """A streamed chunk arrived: the first call's time becomes the call's
        ``gen_ai.response.time_to_first_chunk`` (later calls cost one comparison)."""
        if self.first_chunk_ns is None:
            self.first_chunk_ns = time.time_ns()

    def _finished(self, end_ns: int) -> Step | None:
        return self._ended(end_ns, None, None, 0.0, (), None, None, None)

    def _step_span_id(self) -> int:
        if self.span is None and self.described_by is not None:
            return self.described_by  # the call's only span is the other instrumentation's
        return Invocation._step_span_id(self)

    def _ended(
        self,
        end_ns: int,
        tokens_in: int | None,
        tokens_out: int | None,
        cost: float,
        reasons: tuple[str, ...],
        output: Any,
        details: Mapping[str, int] | None,
        time_to_first_chunk: float | None,
    ) -> Step | None:
        seconds = self._known_seconds
        if self._timed:
            elapsed = end_ns - (self.start_ns or end_ns)
            seconds = elapsed / 1e9 if elapsed > 0 else 0.0
        if self.described_by is None:  # else the other instrumentation recorded them
            self.recording.metrics.llm_ended(
                self.operation, self.provider, self.model, tokens_in, tokens_out, seconds,
                agent_name=self.agent_name, error_type=self.error_type, token_details=details,
                time_to_first_chunk=time_to_first_chunk,
            )
        if self.session is None:
            return None
        return self._record(
            end_ns, None, None, attrs_of.is_empty_output(output), reasons, cost, tokens_in,
            tokens_out, None, details,
        )


class Decision(Invocation):
    """A decision between alternatives, recorded when it was taken (after the fact)."""

    kind = DECISION
    carries_state = True
    __slots__ = ("_cost", "_tokens", "confidence")

    def __init__(
        self,
        recording: Recording,
        session: SessionScope | None,
        *,
        agent_name: str | None,
        reasoning: Any,
        context: otel_context.Context | None,
        alternatives: Any = None,
        confidence: Any = None,
        chosen: Any = None,
        cost: Any = None,
        token_count: Any = None,
        metadata: Any = None,
        planned: tuple[int, int | None] | None = None,
    ) -> None:
        report = recording.report
        attributes, self.confidence = attrs_of.decision(
            recording.content,
            report,
            agent_name=agent_name,
            reasoning=reasoning,
            alternatives=alternatives,
            confidence=confidence,
            chosen=chosen,
            metadata=metadata,
        )
        self._cost, self._tokens = attrs_of.add_cost_and_tokens(attributes, cost, token_count, report)
        Invocation.__init__(
            self, recording, session, agent_name or "",
            f"{sc.DECISION_SPAN_NAME} {agent_name}" if agent_name else sc.DECISION_SPAN_NAME,
            attributes, context, SpanKind.INTERNAL, planned,
        )

    def _finished(self, end_ns: int) -> Step | None:
        return self._record(
            end_ns, None, self.confidence, None, (), self._cost, None, None, self._tokens
        )


class AgentRun(Invocation):
    """An agent's run, ``invoke_agent {name}``: a LangChain agent, or a session's root
    (``root.SessionRoot``)."""

    kind = AGENT
    __slots__ = ()

    def __init__(
        self,
        recording: Recording,
        session: SessionScope | None,
        *,
        agent_name: str,
        context: otel_context.Context | None,
        input_messages: Any = None,
        metadata: Any = None,
        extra: Mapping[str, Any] | None = None,
        planned: tuple[int, int | None] | None = None,
        links: Sequence[Link] | None = None,
        start_ns: int | None = None,
    ) -> None:
        """``input_messages`` are already in the parts schema; ``extra``: further start
        attributes (None values are left out)."""
        attributes = attrs_of.agent_start(
            recording.content, recording.report,
            agent_name=agent_name, input_messages=input_messages, metadata=metadata,
        )
        for key, value in (extra or {}).items():
            attributes.put(key, value)
        Invocation.__init__(
            self, recording, session, agent_name, f"{sc.OP_INVOKE_AGENT} {agent_name}",
            attributes, context, SpanKind.INTERNAL, planned, links, start_ns,
        )

    def stop(self, *, output_messages: Any = None) -> Step | None:  # type: ignore[override]
        """The agent answered: ``output_messages`` in the parts schema (content)."""
        return self._stop_with(
            sc.GEN_AI_OUTPUT_MESSAGES, "assistant_output", output_messages or None
        )

    def _finished(self, end_ns: int) -> Step | None:
        return self._record(end_ns, None, None, None, (), 0.0, None, None, None)


class Retrieval(Invocation):
    """A retriever's query, ``retrieval {source}`` (not a step of its own)."""

    __slots__ = ()

    def stop(self, *, documents: Any = None) -> Step | None:  # type: ignore[override]
        """The retriever returned ``documents`` (content)."""
        return self._stop_with(sc.GEN_AI_RETRIEVAL_DOCUMENTS, "tool_output", documents)


class ErrorRecord(Invocation):
    """An error tracked when no span of the session can hold it: a span named ``error``."""

    __slots__ = ()

    def stop(  # type: ignore[override]
        self, *, error_type: str, message: str, stacktrace: str | None, tool_name: str | None
    ) -> Step | None:
        if self.ended:
            return None
        self.ended = True
        self._close(
            None, time.time_ns(),
            reported=(error_type, message, stacktrace, {sc.GEN_AI_TOOL_NAME: tool_name}),
        )
        return None
