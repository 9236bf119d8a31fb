"""``OpenTelemetryCallbackHandler``: LangChain callbacks -> spans (SEMCONV.md shapes).

One handler serves the auto-instrumentation (``LangChainInstrumentor``) and, subclassed,
the Sentrial-compatible ``SentrialCallbackHandler``. Rules it keeps:

* Each run is one invocation of the engine's lifecycle (``_internal/spans/invocations.py``):
  chat models are LLM calls, tools tool calls, agents agent runs, exactly as hand-tracked
  steps, so both kinds of spans have the same shape, totals, metrics and step records.
* Parents come from ``parent_run_id`` through the shared, locked run registry
  (``_runs.RUNS``); only a top-level run looks at the current context (the caller's span,
  the current Sentrial session root). Callbacks never attach a context, with one exception
  owned by ``_context``: the LLM start inside a wrapped ``stream`` step, detached by it.
* The first of our handlers to start a run owns it: with the manual handler and the
  auto-instrumentation both on, each run is one span and its usage is counted once.
* A chat model whose provider SDK another instrumentation traces (the official OpenAI
  instrumentation, OpenLLMetry, OpenInference) gets no inference span of ours: the
  provider's span is the call's one span (the GenAI conventions' policy), nested where ours
  would be. The run puts a ``rollup.InferenceSlot`` in the provider call's context; the
  provider's span fills it, and the run counts the call in its session once, without
  metrics of its own. If no such span comes, the run's span is made at its end; if one
  comes under a span of ours anyway (a client we did not recognise), ours keeps no
  ``gen_ai.usage.*`` and says ``sentrial.usage.on_child`` (docs/other-instrumentations.md).
* No error of ours reaches LangChain: ``raise_error = False`` and every callback body is
  guarded; failures are logged on the ``sentrial`` logger, and a run's span ends even when
  reading its outcome failed.
* Every span ends: a run LangChain reports no end for (a cancelled call) is ended by the
  hooks in ``_context`` or by its parent's end (:meth:`end_run`); a stream its consumer
  closed ends without error, marked ``sentrial.stream.consumer_stopped``.
* LangGraph threads (``_threads``): an interrupted run is marked
  ``sentrial.langchain.interrupted``; outside a session the run resuming its thread links
  to it.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from sentrial_otel import semconv as sc
from sentrial_otel._internal.content.policy import ContentPolicy
from sentrial_otel._internal.errors import handle_internal_errors
from sentrial_otel._internal.misuse import MisuseReporter, flag_argument
from sentrial_otel._internal.spans.attributes import Attributes, text_message
from sentrial_otel._internal.spans.invocations import (
    AgentRun,
    Invocation,
    LlmCall,
    Retrieval,
    ToolCall,
)
from sentrial_otel._internal.spans.limits import limits_of
from sentrial_otel._internal.spans.metrics import AgentMetrics
from sentrial_otel._internal.spans.recording import Recording
from sentrial_otel._internal.spans.rollup import InferenceSlot, with_slot
from sentrial_otel._internal.spans.session import SessionHandle, current_session
from sentrial_otel._internal.spans.steps import Step
from sentrial_otel.config import capture_content_from_env, genai_latest_from_env
from sentrial_otel.instrumentation.langchain import _context
from sentrial_otel.instrumentation.langchain import _messages as lc
from sentrial_otel.instrumentation.langchain._classify import (
    ChainKind,
    classify_chain,
    is_control_flow,
    is_interrupt,
    run_name,
)
from sentrial_otel.instrumentation.langchain._history import Prompt, prompt_of
from sentrial_otel.instrumentation.langchain._runs import RUNS, RunRecord, RunRegistry
from sentrial_otel.instrumentation.langchain._traced_clients import provider_call_traced
from sentrial_otel.instrumentation.langchain._threads import INTERRUPTED, resumes

if TYPE_CHECKING:
    _HandlerBase = BaseCallbackHandler
else:
    # LangGraph calls its lifecycle callbacks (on_interrupt) only on handlers of its own
    # class. Importing it costs nothing more: instrumenting imports LangGraph already.
    try:
        from langgraph.callbacks import GraphCallbackHandler as _HandlerBase
    except ImportError:
        _HandlerBase = BaseCallbackHandler

F = TypeVar("F", bound=Callable[..., Any])
Starter = Callable[[otel_context.Context, "SessionHandle | None"], Invocation]
"""Builds a run's invocation from the context it starts in and the session it belongs to."""


def _callback(method: F) -> F:
    """A LangChain callback: an error of ours is logged and never reaches LangChain."""
    return handle_internal_errors(f"the LangChain callback {method.__name__}")(method)


def _end_anyway(invocation: Invocation) -> None:
    """In the ``finally`` of an end callback: end the run's invocation even when reading
    its outcome failed (the error is still logged by ``_callback``): a span that never
    ends is never exported. (A plain ``finally``: a generator-based context manager costs
    four Python calls, in every end callback.)"""
    if not invocation.ended:
        invocation.stop()


def _consumer_stopped(record: RunRecord, error: BaseException) -> bool:
    """Whether the run ended because the consumer of its stream stopped reading: the stream
    closed (``GeneratorExit``), or LangGraph cancelled the run as it closed."""
    if isinstance(error, GeneratorExit):
        return True
    consumer = record.consumer
    return (
        consumer is not None
        and isinstance(error, asyncio.CancelledError)
        and consumer.has_stopped()
    )


def _settle(record: RunRecord, error: BaseException) -> None:
    """End a run that raised ``error``: a failure, unless it is control flow (a LangGraph
    interrupt or ``Command``) or its consumer stopped reading (``_consumer_stopped``)."""
    if is_interrupt(error):
        record.top().interrupted = True
    invocation = record.invocation
    if invocation is None:
        return
    if _consumer_stopped(record, error):
        invocation.stop_marked(sc.SENTRIAL_STREAM_CONSUMER_STOPPED)
    elif not is_control_flow(error):
        invocation.fail(error)
    elif is_interrupt(error):
        invocation.stop_marked(sc.SENTRIAL_LANGCHAIN_INTERRUPTED)
    else:
        invocation.stop()


class OpenTelemetryCallbackHandler(_HandlerBase):
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
        nest_body_spans: while this handler lives, make a tool's or node's span current
            inside its body, so spans the body makes nest under it (the instrumentor does
            this for the handler it installs).
        latest_conventions: the GenAI conventions v0.1.0: a top-level chain or graph is
            an ``invoke_agent`` span (``gen_ai.agent.name``) instead of ``invoke_workflow``
            (default: as ``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental``
            says).
        dialects: extra attribute dialects (``{"openinference"}``: the keys Phoenix and
            Langfuse read; ``_internal/spans/dialects.py``).
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
        nest_body_spans: bool = False,
        latest_conventions: bool | None = None,
        dialects: Collection[str] = (),
    ) -> None:
        super().__init__()
        report = MisuseReporter(strict=False)
        self.tracer = tracer
        self.content = content or ContentPolicy(
            capture=capture_content_from_env(), limits=limits_of(tracer)
        )
        self.emit_plumbing_spans = flag_argument(
            emit_plumbing_spans, "emit_plumbing_spans", report, False
        )
        self.track_llm_calls = flag_argument(track_llm_calls, "track_llm_calls", report, True)
        self.runs = registry if registry is not None else RUNS
        self.latest_conventions = (
            genai_latest_from_env() if latest_conventions is None else latest_conventions
        )
        self.metrics = (
            metrics if metrics is not None
            else AgentMetrics(latest_conventions=self.latest_conventions)
        )
        self.recording = Recording(tracer, self.content, report, self.metrics, dialects=dialects)
        if nest_body_spans:
            # Released when the handler is collected.
            _context.acquire()
            weakref.finalize(self, _context.release)

    # --- hooks for subclasses -------------------------------------------------------------
    def _top_level_context(self) -> otel_context.Context:
        """The context a run with no known parent starts in: whatever is current."""
        return otel_context.get_current()

    def _session_for(self, context: otel_context.Context) -> SessionHandle | None:
        """The Sentrial session a top-level run starting in ``context`` belongs to: the
        current session, when the run joins its trace."""
        session = current_session()
        if session is None:
            return None
        parent = trace.get_current_span(context).get_span_context()
        return session if parent.is_valid and parent.trace_id == session.trace_id else None

    def _step_ended(self, step: Step) -> None:
        """Called with the step of each LLM run this handler finished (for its totals)."""

    # --- run bookkeeping ------------------------------------------------------------------
    def _begin(
        self,
        run_id: UUID,
        parent: RunRecord | None,
        kind: str,
        starter: Starter | None,
        agent_name: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        resume: bool = False,
    ) -> RunRecord | None:
        """Start the run's invocation (none with ``starter=None``: the run is suppressed);
        None if another handler owns the run. The run's conversation id (from its
        ``metadata``, else its session's) is a start attribute, so samplers see it. A
        top-level run outside a session that ``resume``-s its thread (its input continues
        it) starts with a link to the thread's interrupted run. ``parent``: the record of
        the run's parent (``self.runs.get(parent_run_id)``: callers have looked it up)."""
        if self.runs.is_claimed(run_id):
            return None
        links: tuple[trace.Link, ...] = ()
        conversation = lc.conversation_id(metadata)
        if parent is not None:
            context, session = parent.child_context, parent.session
        else:
            context = self._top_level_context()
            session = self._session_for(context)
            if resume and session is None and conversation is not None:
                links = INTERRUPTED.links_for(conversation)
        invocation = None
        if starter is not None:
            invocation = starter(context, session)
            if conversation is not None:
                invocation.add_start_attribute(sc.GEN_AI_CONVERSATION_ID, conversation)
            if links:
                invocation.add_start_links(links)
            invocation.start()
        span = invocation.span if invocation is not None else None
        record = RunRecord(
            run_id=run_id,
            owner=self,
            kind=kind,
            span=span,
            child_context=trace.set_span_in_context(span, context) if span is not None else context,
            agent_name=agent_name or (parent.agent_name if parent is not None else None),
            session=session,
            invocation=invocation,
            parent=parent,
            conversation_id=conversation,
            consumer=_context.CONSUMER.get(),
        )
        if not self.runs.claim(record):
            if span is not None:
                span.end()  # a duplicate: the run is another handler's
            return None
        return record

    def _finish(self, run_id: UUID) -> Invocation | None:
        """The invocation of a run this handler owns, now out of the registry."""
        record = self.runs.release(run_id, self)
        return record.invocation if record is not None else None

    @_callback
    def end_run(self, run_id: UUID, error: BaseException) -> None:
        """End a run of ours that raised ``error``: from LangChain's error callbacks, or from
        the hooks in ``_context`` when LangChain calls none (a cancelled ``ainvoke``). An
        error LangChain may leave unreported below this run (anything not an
        ``Exception``: cancellation, a closed stream, ``KeyboardInterrupt``) ends the runs
        still open below it the same way, children first."""
        record = self.runs.release(run_id, self)
        if record is None:
            return
        if not isinstance(error, Exception):
            for below in self.runs.open_descendants(record):
                if self.runs.release(below.run_id, below.owner) is not None:
                    _settle(below, error)
        _settle(record, error)

    def _top_level_ended(self, record: RunRecord) -> None:
        """A top-level run finished: say it was interrupted, and remember it for the resume
        of its thread (or forget the thread's earlier interrupt: nothing is pending now)."""
        span = record.span
        if span is None:
            return
        if record.interrupted:
            span.set_attribute(sc.SENTRIAL_LANGCHAIN_INTERRUPTED, True)
        thread = record.conversation_id
        if thread is None or record.session is not None:
            return  # inside a session, the session relates its runs
        if record.interrupted:
            INTERRUPTED.remember(thread, span.get_span_context())
        else:
            INTERRUPTED.forget(thread)

    @staticmethod
    def _agent_name_of(parent: RunRecord | None) -> str | None:
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
        recording = self.recording
        if kind is ChainKind.WORKFLOW and self.latest_conventions:
            kind = ChainKind.AGENT  # v0.1.0: the workflow span folded into invoke_agent
        if kind is ChainKind.AGENT:
            input_messages = lc.agent_input(inputs) if self.content.capture else None

            def start_agent(context: otel_context.Context, session: SessionHandle | None) -> Invocation:
                return AgentRun(
                    recording, session, agent_name=name, context=context,
                    input_messages=input_messages or None,
                )

            self._begin(
                run_id, parent, "agent", start_agent, name, metadata,
                parent is None and resumes(inputs),
            )
            return
        attrs = Attributes()
        if kind is ChainKind.WORKFLOW:
            span_name = f"{sc.OP_INVOKE_WORKFLOW} {name}"
            attrs.put(sc.GEN_AI_OPERATION_NAME, sc.OP_INVOKE_WORKFLOW)
            attrs.put(sc.GEN_AI_WORKFLOW_NAME, name)
        elif kind is ChainKind.NODE or self.emit_plumbing_spans:
            span_name = name
            attrs.put(sc.SENTRIAL_LANGCHAIN_RUN_TYPE, kind.value)
            attrs.put(sc.GEN_AI_AGENT_NAME, parent.agent_name if parent is not None else None)
        else:
            self._begin(run_id, parent, "chain", None, None, metadata)
            return

        def starter(context: otel_context.Context, session: SessionHandle | None) -> Invocation:
            return Invocation(
                recording, session, name=name, span_name=span_name, attributes=attrs,
                context=context,
            )

        self._begin(
            run_id, parent, "chain", starter, None, metadata,
            parent is None and resumes(inputs),
        )

    @_callback
    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        record = self.runs.release(run_id, self)
        if record is None or record.invocation is None:
            return
        invocation = record.invocation
        try:
            if record.parent is None:
                self._top_level_ended(record)
            if isinstance(invocation, AgentRun):
                messages = lc.agent_output(outputs) if self.content.capture else None
                invocation.stop(output_messages=messages)
        finally:
            _end_anyway(invocation)

    @_callback
    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self.end_run(run_id, error)

    # --- LLMs and chat models -------------------------------------------------------------
    def _start_llm(
        self,
        serialized: dict[str, Any] | None,
        run_id: UUID,
        parent: RunRecord | None,
        metadata: dict[str, Any] | None,
        kwargs: Mapping[str, Any],
        operation: str,
        prompt: Prompt | None,
    ) -> None:
        """Start an LLM run; ``prompt`` is None when content is not captured."""
        metadata = metadata or {}
        params = kwargs.get("invocation_params") or {}
        model = lc.request_model(metadata, params, serialized)
        provider = lc.provider_name(metadata, model)
        agent_name = self._agent_name_of(parent)
        recording = self.recording
        encoded = prompt is not None and prompt.input_json is not None

        # The provider's own span, when another instrumentation traces it, is the call's.
        record_span = self.track_llm_calls and not provider_call_traced(provider)

        def starter(context: otel_context.Context, session: SessionHandle | None) -> Invocation:
            call = LlmCall(
                recording,
                session,
                operation=operation,
                provider=provider,
                model=model,
                agent_name=agent_name,
                context=context,
                stream=params.get("stream") is True,
                params=lc.request_params(metadata, params),
                input_messages=prompt.input if prompt is not None and not encoded else None,
                system_instructions=prompt.system if prompt is not None and not encoded else None,
                record_span=record_span,
            )
            if encoded:  # the attributes llm_input writes, in its order (nothing was cut)
                system_json, input_json = prompt.system_json, prompt.input_json  # type: ignore[union-attr]
                if system_json is not None:
                    call.add_start_attribute(sc.GEN_AI_SYSTEM_INSTRUCTIONS, system_json.value)
                call.add_start_attribute(sc.GEN_AI_INPUT_MESSAGES, input_json.value)  # type: ignore[union-attr]
            return call

        record = self._begin(run_id, parent, "llm", starter, agent_name, metadata)
        if record is not None and isinstance(record.invocation, LlmCall):
            slot = record.invocation.inference_slot = InferenceSlot()
            record.child_context = with_slot(record.child_context, slot)
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
        parent = self.runs.get(parent_run_id)
        prompt = None
        if self.content.capture:
            prompt = prompt_of(
                messages[0] if messages else [],
                parent.top().history() if parent is not None else None,
                self.content.encoder("llm_input"),
            )
        self._start_llm(serialized, run_id, parent, metadata, kwargs, sc.OP_CHAT, prompt)

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
        prompt = None
        if self.content.capture:
            prompt = Prompt(None, [text_message(sc.ROLE_USER, text) for text in prompts[:1]])
        self._start_llm(
            serialized, run_id, self.runs.get(parent_run_id), metadata, kwargs,
            sc.OP_TEXT_COMPLETION, prompt,
        )

    @_callback
    def on_llm_new_token(self, token: Any, *, run_id: UUID, **kwargs: Any) -> None:
        record = self.runs.get(run_id)
        if record is None or record.owner is not self:
            return
        call = record.invocation
        if not isinstance(call, LlmCall) or call.first_chunk_ns is not None:
            return
        call.chunk()  # its time is the call's time to first chunk
        if call.span is not None:
            # stream() does not say so in the start callback's parameters.
            call.span.set_attribute(sc.GEN_AI_REQUEST_STREAM, True)

    @_callback
    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        call = self._finish(run_id)
        if not isinstance(call, LlmCall):
            return
        try:
            usage = lc.usage_of(response)
            if call.span is None and call.described_by is None and self.track_llm_calls:
                call.span_at_end()  # the provider's span was expected and never came
            generations = response.generations[0] if getattr(response, "generations", None) else []
            messages, reasons = lc.output_messages(generations)
            step = call.stop(
                messages or None,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                cache_read_tokens=usage.cache_read_tokens,
                cache_write_tokens=usage.cache_write_tokens,
                reasoning_tokens=usage.reasoning_tokens,
                finish_reasons=reasons,
                response_model=lc.response_model(response),
                response_id=lc.response_id(response),
                usage_known=usage.known,
            )
            if step is not None:
                self._step_ended(step)
        finally:
            _end_anyway(call)

    @_callback
    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self.end_run(run_id, error)

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
        parent = self.runs.get(parent_run_id)
        call_id = kwargs.get("tool_call_id") or self._announced_call_id(parent, name)
        agent_name = self._agent_name_of(parent)
        recording = self.recording

        def starter(context: otel_context.Context, session: SessionHandle | None) -> Invocation:
            return ToolCall(
                recording,
                session,
                name=name,
                agent_name=agent_name,
                context=context,
                arguments=inputs if inputs is not None else input_str,
                call_id=call_id,
                description=description or None,
            )

        self._begin(run_id, parent, "tool", starter, None, metadata)

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

    @staticmethod
    def _announced_call_id(parent: RunRecord | None, tool: str) -> str | None:
        if parent is None or parent.announced_tool_call is None:
            return None
        announced_tool, call_id = parent.announced_tool_call
        if announced_tool != tool:
            return None
        parent.announced_tool_call = None
        return call_id

    @_callback
    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        call = self._finish(run_id)
        if not isinstance(call, ToolCall):
            return
        try:
            if getattr(output, "type", None) == "tool" and getattr(output, "status", None) == "error":
                # The tool's error was handled (handle_tool_error) and returned as its result.
                call.stop(error=str(getattr(output, "content", "")))
            else:
                call.stop(lc.tool_output(output) if self.content.capture else None)
        finally:
            _end_anyway(call)

    @_callback
    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self.end_run(run_id, error)

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
        provider = metadata.get("ls_vector_store_provider")
        source = provider[:128] if isinstance(provider, str) and provider else name
        attrs = Attributes()
        attrs.put(sc.GEN_AI_OPERATION_NAME, sc.OP_RETRIEVAL)
        attrs.put(sc.GEN_AI_DATA_SOURCE_ID, source)
        parent = self.runs.get(parent_run_id)
        attrs.put(sc.GEN_AI_AGENT_NAME, self._agent_name_of(parent))
        if self.content.capture and query is not None:
            attrs.put_encoded(sc.GEN_AI_RETRIEVAL_QUERY_TEXT, self.content.text("tool_input", query))
        recording = self.recording

        def starter(context: otel_context.Context, session: SessionHandle | None) -> Invocation:
            return Retrieval(
                recording, session, name=source, span_name=f"{sc.OP_RETRIEVAL} {source}",
                attributes=attrs, context=context, span_kind=SpanKind.CLIENT,
            )

        record = self._begin(run_id, parent, "retriever", starter, None, metadata)
        _context.retriever_started(record)  # even None: the slot is that call's first run

    @_callback
    def on_retriever_end(self, documents: Sequence[Any], *, run_id: UUID, **kwargs: Any) -> None:
        call = self._finish(run_id)
        if not isinstance(call, Retrieval):
            return
        try:
            call.stop(documents=lc.documents(documents) if self.content.capture else None)
        finally:
            _end_anyway(call)

    @_callback
    def on_retriever_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self.end_run(run_id, error)

    # --- LangGraph lifecycle events -------------------------------------------------------
    # LangGraph calls these on handlers of its GraphCallbackHandler class, ours included
    # when it has the class. An interrupt() also ends its node with a GraphInterrupt (see
    # _settle); the event covers interrupt_before/interrupt_after breakpoints too.
    @_callback
    def on_interrupt(self, event: Any) -> None:
        """LangGraph paused on an interrupt: its top-level run ends interrupted."""
        record = self.runs.get(getattr(event, "run_id", None))
        if record is not None:
            record.top().interrupted = True

    def on_resume(self, event: Any) -> None:
        """LangGraph resumed from a checkpoint (the run's start already linked to the
        interrupted run, when it knew it)."""
