"""``OpenTelemetryCallbackHandler``: LangChain callbacks -> spans (SEMCONV.md shapes).

One handler serves the auto-instrumentation (``LangChainInstrumentor``) and, subclassed,
the Sentrial-compatible ``SentrialCallbackHandler``. Rules it keeps:

* Parents come from ``parent_run_id`` through the shared, locked run registry
  (``_runs.RUNS``); only a top-level run looks at the current context (the caller's span,
  the current Sentrial session root). Callbacks never attach a context, with one exception
  owned by ``_context``: the LLM start inside a wrapped ``stream`` step, detached by it.
* The first of our handlers to start a run owns it: with the manual handler and the
  auto-instrumentation both on, each run is one span and its usage is counted once.
* LLM/tool/retriever attributes are built by ``sentrial_otel._internal.spans.attributes`` exactly as for
  hand-tracked events, so both kinds of spans have the same shape.
* No error of ours reaches LangChain: ``raise_error = False`` and every callback body is
  guarded; failures are logged on the ``sentrial`` logger.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from sentrial_otel import semconv as sc
from sentrial_otel._internal.content.policy import ContentPolicy
from sentrial_otel._internal.errors import handle_internal_errors
from sentrial_otel._internal.misuse import MisuseReporter
from sentrial_otel._internal.spans import attributes as events
from sentrial_otel._internal.spans.failures import record_exception
from sentrial_otel._internal.spans.metrics import AgentMetrics
from sentrial_otel._internal.spans.pricing import cost_usd
from sentrial_otel._internal.spans.session import SessionHandle, current_session
from sentrial_otel.config import capture_content_from_env
from sentrial_otel.instrumentation.langchain import _context
from sentrial_otel.instrumentation.langchain import _messages as lc
from sentrial_otel.instrumentation.langchain._classify import (
    ChainKind,
    classify_chain,
    is_control_flow,
    run_name,
)
from sentrial_otel.instrumentation.langchain._runs import RUNS, RunRecord, RunRegistry

F = TypeVar("F", bound=Callable[..., Any])


def _callback(method: F) -> F:
    """A LangChain callback: an error of ours is logged and never reaches LangChain."""
    return handle_internal_errors(f"the LangChain callback {method.__name__}")(method)


@contextlib.contextmanager
def _ending(span: trace.Span) -> Iterator[trace.Span]:
    """Enrich a span and end it even if the enrichment fails (the error is still logged
    by ``_callback``): a span that never ends is never exported."""
    try:
        yield span
    finally:
        span.end()


def _error_type(error: BaseException) -> str | None:
    """``error.type`` for a metric; None for LangGraph control flow (not a failure)."""
    return None if is_control_flow(error) else type(error).__qualname__


class OpenTelemetryCallbackHandler(BaseCallbackHandler):
    """Builds OpenTelemetry spans from LangChain run callbacks.

    Args:
        tracer: where spans go.
        content: what content may be recorded (default: capture per
            ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``).
        emit_plumbing_spans: keep inner chains (``__start__``, routers, middleware, the
            runnables inside a node) as plain INTERNAL spans instead of suppressing them.
        track_llm_calls: emit LLM spans (usage is counted either way).
        registry: the run registry (tests may pass their own).
        metrics: where LLM and tool durations and token usage are recorded (default: the
            instruments of the global meter provider, a no-op unless the app set one).
    """

    raise_error = False
    # Callbacks run in the caller's thread and order, also for async runs: a parent's
    # start is always seen before its children's.
    run_inline = True

    def __init__(
        self,
        tracer: trace.Tracer,
        content: ContentPolicy | None = None,
        *,
        emit_plumbing_spans: bool = False,
        track_llm_calls: bool = True,
        registry: RunRegistry | None = None,
        metrics: AgentMetrics | None = None,
    ) -> None:
        super().__init__()
        self.tracer = tracer
        self.content = content or ContentPolicy(capture=capture_content_from_env())
        self.emit_plumbing_spans = emit_plumbing_spans
        self.track_llm_calls = track_llm_calls
        self.runs = registry if registry is not None else RUNS
        self.metrics = metrics if metrics is not None else AgentMetrics()
        self.report = MisuseReporter(strict=False)

    # --- hooks for subclasses -------------------------------------------------------------
    def _top_level_context(self) -> otel_context.Context:
        """The context a run with no known parent starts in: whatever is current."""
        return otel_context.get_current()

    def _session_for(self, span: trace.Span | None) -> SessionHandle | None:
        """The Sentrial session a top-level run belongs to (its totals get LLM usage)."""
        session = current_session()
        if session is None or span is None:
            return None
        if span.get_span_context().trace_id == session.trace_id:
            return session
        return None

    def _count_llm(
        self, record: RunRecord, cost: float, input_tokens: int | None, output_tokens: int | None
    ) -> None:
        """Called once per finished LLM run this handler owns."""

    # --- run bookkeeping ------------------------------------------------------------------
    def _begin(
        self,
        run_id: UUID,
        parent_run_id: UUID | None,
        kind: str,
        name: str | None,
        attributes: Mapping[str, Any],
        span_kind: SpanKind = SpanKind.INTERNAL,
        agent_name: str | None = None,
    ) -> RunRecord | None:
        """Start (or, with ``name=None``, suppress) the span of a run; None if not ours."""
        if self.runs.is_claimed(run_id):
            return None
        parent = self.runs.get(parent_run_id)
        context = parent.child_context if parent is not None else self._top_level_context()
        span: trace.Span | None = None
        if name is not None:
            span = self.tracer.start_span(name, context, span_kind, dict(attributes))
        record = RunRecord(
            run_id=run_id,
            owner=self,
            kind=kind,
            span=span,
            child_context=trace.set_span_in_context(span, context) if span is not None else context,
            agent_name=agent_name or (parent.agent_name if parent is not None else None),
            session=parent.session if parent is not None else self._session_for(span),
        )
        if not self.runs.claim(record):
            if span is not None:
                span.end()
            return None
        return record

    def _finish(self, run_id: UUID) -> RunRecord | None:
        return self.runs.release(run_id, self)

    def _fail(self, run_id: UUID, error: BaseException) -> RunRecord | None:
        record = self._finish(run_id)
        if record is None or record.span is None:
            return record
        with _ending(record.span) as span:
            if not is_control_flow(error):
                record_exception(span, error, self.content)
        return record

    def _llm_metrics(
        self,
        record: RunRecord,
        input_tokens: int | None,
        output_tokens: int | None,
        error_type: str | None = None,
    ) -> None:
        # Recorded with or without an LLM span (track_llm_calls=False still counts usage).
        self.metrics.llm_ended(
            record.name, record.provider, record.model, input_tokens, output_tokens,
            time.monotonic() - record.started, record.agent_name, error_type,
        )

    def _tool_metrics(self, record: RunRecord, error_type: str | None) -> None:
        self.metrics.tool_ended(
            record.name, record.agent_name, time.monotonic() - record.started, error_type
        )

    def _agent_name_of(self, parent_run_id: UUID | None) -> str | None:
        parent = self.runs.get(parent_run_id)
        return parent.agent_name if parent is not None else None

    # --- chains (agents, workflows, graph nodes, plumbing) --------------------------------
    @_callback
    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        metadata = metadata or {}
        name = run_name(serialized, kwargs)
        parent = self.runs.get(parent_run_id)
        kind = classify_chain(
            name, tags, metadata, parent is None, parent is not None and parent.kind == "agent"
        )
        attrs = events.Attributes()
        agent_name = None
        span_name: str | None
        if kind is ChainKind.AGENT:
            agent_name = name
            span_name = f"{sc.OP_INVOKE_AGENT} {name}"
            attrs.put(sc.GEN_AI_OPERATION_NAME, sc.OP_INVOKE_AGENT)
            attrs.put(sc.GEN_AI_AGENT_NAME, name)
            if self.content.capture:
                messages = lc.agent_input(inputs)
                if messages:
                    attrs.put_encoded(
                        sc.GEN_AI_INPUT_MESSAGES, self.content.json("user_input", messages)
                    )
        elif kind is ChainKind.WORKFLOW:
            span_name = f"{sc.OP_INVOKE_WORKFLOW} {name}"
            attrs.put(sc.GEN_AI_OPERATION_NAME, sc.OP_INVOKE_WORKFLOW)
            attrs.put(sc.GEN_AI_WORKFLOW_NAME, name)
        elif kind is ChainKind.NODE or self.emit_plumbing_spans:
            span_name = name
            attrs.put(sc.SENTRIAL_LANGCHAIN_RUN_TYPE, kind.value)
            attrs.put(sc.GEN_AI_AGENT_NAME, parent.agent_name if parent is not None else None)
        else:
            span_name = None
        record_kind = "agent" if kind is ChainKind.AGENT else "chain"
        self._begin(
            run_id, parent_run_id, record_kind, span_name, attrs.finish(), agent_name=agent_name
        )

    @_callback
    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        record = self._finish(run_id)
        if record is None or record.span is None:
            return
        with _ending(record.span) as span:
            if self.content.capture and record.kind == "agent":
                messages = lc.agent_output(outputs)
                if messages:
                    encoded = self.content.json("assistant_output", messages)
                    span.set_attribute(sc.GEN_AI_OUTPUT_MESSAGES, encoded.value)
                    if encoded.truncated:
                        span.set_attribute(sc.SENTRIAL_CONTENT_TRUNCATED, True)

    @_callback
    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._fail(run_id, error)

    # --- LLMs and chat models -------------------------------------------------------------
    def _start_llm(
        self,
        serialized: dict[str, Any] | None,
        run_id: UUID,
        parent_run_id: UUID | None,
        metadata: dict[str, Any] | None,
        kwargs: Mapping[str, Any],
        operation: str,
        system: Any,
        messages: Any,
    ) -> None:
        metadata = metadata or {}
        params = kwargs.get("invocation_params") or {}
        model = lc.request_model(metadata, params, serialized)
        provider = lc.provider_name(metadata, model)
        agent_name = self._agent_name_of(parent_run_id)
        attrs = events.llm_start(
            operation=operation,
            provider=provider,
            request_model=model,
            agent_name=agent_name,
            stream=params.get("stream") is True,
            params=lc.request_params(metadata, params),
        )
        if self.content.capture:
            events.llm_end(
                attrs, self.content, self.report,
                input_messages=messages, system_instructions=system,
            )
        name = f"{operation} {model}" if self.track_llm_calls else None
        record = self._begin(
            run_id, parent_run_id, "llm", name, attrs.finish(), SpanKind.CLIENT, agent_name
        )
        if record is not None:
            record.model = model
            record.provider = provider
            record.name = operation
            # Inside a model's stream()/astream(): the span is current for the provider call.
            _context.llm_started(record)

    @_callback
    def on_chat_model_start(
        self,
        serialized: dict[str, Any] | None,
        messages: list[list[Any]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        system, others = lc.split_system(messages[0] if messages else [])
        self._start_llm(
            serialized, run_id, parent_run_id, metadata, kwargs, sc.OP_CHAT, system, others
        )

    @_callback
    def on_llm_start(
        self,
        serialized: dict[str, Any] | None,
        prompts: list[str],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        messages = [
            {"role": sc.ROLE_USER, "parts": [{"type": "text", "content": prompt}]}
            for prompt in prompts[:1]
        ]
        self._start_llm(
            serialized, run_id, parent_run_id, metadata, kwargs, sc.OP_TEXT_COMPLETION, None,
            messages,
        )

    @_callback
    def on_llm_new_token(self, token: Any, *, run_id: UUID, **kwargs: Any) -> None:
        record = self.runs.get(run_id)
        if record is None or record.owner is not self or record.first_chunk_at is not None:
            return
        record.first_chunk_at = time.monotonic()
        if record.span is not None:
            record.span.set_attribute(sc.GEN_AI_REQUEST_STREAM, True)

    @_callback
    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        record = self._finish(run_id)
        if record is None:
            return
        if record.span is None:
            self._end_llm(record, response)
            return
        with _ending(record.span):
            self._end_llm(record, response)

    def _end_llm(self, record: RunRecord, response: Any) -> None:
        usage = lc.usage_of(response)
        generations = response.generations[0] if getattr(response, "generations", None) else []
        messages, reasons = lc.output_messages(generations)
        cost = (
            cost_usd(record.model, usage.input_tokens, usage.output_tokens, record.provider)
            if usage.known
            else 0.0
        )
        ttfc = (
            record.first_chunk_at - record.started if record.first_chunk_at is not None else None
        )
        attrs = events.Attributes()
        tokens_in, tokens_out = events.llm_end(
            attrs,
            self.content,
            self.report,
            response_model=lc.response_model(response) or record.model,
            response_id=lc.response_id(response),
            output=messages or None,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read_tokens=usage.cache_read_tokens,
            reasoning_tokens=usage.reasoning_tokens,
            finish_reasons=reasons,
            cost=cost,
            time_to_first_chunk=ttfc,
        )
        if not usage.known:
            attrs.put(sc.SENTRIAL_USAGE_UNKNOWN, True)
        if record.span is not None:
            record.span.set_attributes(attrs.finish())
        if record.session is not None:
            record.session.add_usage(
                cost=cost, input_tokens=tokens_in or 0, output_tokens=tokens_out or 0, llm_calls=1
            )
        self._count_llm(record, cost, tokens_in, tokens_out)
        self._llm_metrics(record, tokens_in, tokens_out)

    @_callback
    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        record = self._fail(run_id, error)
        if record is not None:
            self._llm_metrics(record, None, None, _error_type(error))

    # --- tools ----------------------------------------------------------------------------
    @_callback
    def on_tool_start(
        self,
        serialized: dict[str, Any] | None,
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        name = run_name(serialized, kwargs, "tool")
        description = serialized.get("description") if isinstance(serialized, Mapping) else None
        call_id = kwargs.get("tool_call_id") or self._announced_call_id(parent_run_id, name)
        attrs, _, _ = events.tool_call(
            self.content,
            self.report,
            tool_name=name,
            agent_name=self._agent_name_of(parent_run_id),
            tool_input=inputs if inputs is not None else input_str,
            call_id=call_id,
            description=description or None,
            has_output=False,
        )
        record = self._begin(
            run_id, parent_run_id, "tool", f"{sc.OP_EXECUTE_TOOL} {name}", attrs.finish()
        )
        if record is not None:
            record.name = name

    @_callback
    def on_agent_action(
        self, action: Any, *, run_id: UUID, parent_run_id: UUID | None = None, **kwargs: Any
    ) -> None:
        # A classic AgentExecutor runs its tools without their tool call id; it announces
        # each action (with the id, for tool-calling agents) right before running the tool.
        record = self.runs.get(run_id)
        call_id = getattr(action, "tool_call_id", None)
        if record is not None and isinstance(call_id, str):
            record.announced_tool_call = (str(getattr(action, "tool", "")), call_id)

    def _announced_call_id(self, parent_run_id: UUID | None, tool: str) -> str | None:
        parent = self.runs.get(parent_run_id)
        if parent is None or parent.announced_tool_call is None:
            return None
        announced_tool, call_id = parent.announced_tool_call
        if announced_tool != tool:
            return None
        parent.announced_tool_call = None
        return call_id

    @_callback
    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        record = self._finish(run_id)
        if record is None:
            return
        # The tool's error was handled (handle_tool_error) and returned as its result.
        handled_error = (
            getattr(output, "type", None) == "tool" and getattr(output, "status", None) == "error"
        )
        self._tool_metrics(record, sc.ERROR_TYPE_TOOL_ERROR if handled_error else None)
        if record.span is None:
            return
        with _ending(record.span) as span:
            if handled_error:
                message = str(getattr(output, "content", ""))[:256]
                span.set_status(Status(StatusCode.ERROR, message))
                span.set_attribute(sc.ERROR_TYPE, sc.ERROR_TYPE_TOOL_ERROR)
            elif self.content.capture:
                events.set_tool_result(span, self.content, lc.tool_output(output))

    @_callback
    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        record = self._fail(run_id, error)
        if record is not None:
            self._tool_metrics(record, _error_type(error))

    # --- retrievers -----------------------------------------------------------------------
    @_callback
    def on_retriever_start(
        self,
        serialized: dict[str, Any] | None,
        query: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        metadata = metadata or {}
        name = run_name(serialized, kwargs, "retriever")
        source = metadata.get("ls_vector_store_provider") or name
        attrs = events.Attributes()
        attrs.put(sc.GEN_AI_OPERATION_NAME, sc.OP_RETRIEVAL)
        attrs.put(sc.GEN_AI_DATA_SOURCE_ID, str(source)[:128])
        attrs.put(sc.GEN_AI_AGENT_NAME, self._agent_name_of(parent_run_id))
        if self.content.capture and query is not None:
            attrs.put_encoded(sc.GEN_AI_RETRIEVAL_QUERY_TEXT, self.content.text("tool_input", query))
        self._begin(
            run_id, parent_run_id, "retriever", f"{sc.OP_RETRIEVAL} {source}", attrs.finish(),
            SpanKind.CLIENT,
        )

    @_callback
    def on_retriever_end(self, documents: Sequence[Any], *, run_id: UUID, **kwargs: Any) -> None:
        record = self._finish(run_id)
        if record is None or record.span is None:
            return
        with _ending(record.span) as span:
            if self.content.capture:
                encoded = self.content.json("tool_output", lc.documents(documents))
                span.set_attribute(sc.GEN_AI_RETRIEVAL_DOCUMENTS, encoded.value)
                if encoded.truncated:
                    span.set_attribute(sc.SENTRIAL_CONTENT_TRUNCATED, True)

    @_callback
    def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self._fail(run_id, error)

    # --- LangGraph lifecycle events -------------------------------------------------------
    # LangGraph's graph callback manager is a BaseCallbackManager too, so it carries this
    # handler and calls these. Interrupts already end their node span without an error
    # (see ``is_control_flow``); nothing more to record.
    def on_interrupt(self, event: Any) -> None:
        """LangGraph paused on an interrupt (control flow, not an error)."""

    def on_resume(self, event: Any) -> None:
        """LangGraph resumed from a checkpoint."""
