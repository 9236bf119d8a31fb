"""Other instrumentations' LLM spans count in the session whose trace they are in.

An application that runs the official OpenAI instrumentation, OpenLLMetry or OpenInference
beside our sessions gets LLM spans we did not make (SEMCONV.md "Spans of other
instrumentations inside a session"). :class:`SessionUsageProcessor`, installed next to the
stamping processor on every provider our sessions and the LangChain instrumentor use,
watches them: an inference span (``gen_ai.operation.name`` chat, text_completion,
embeddings or generate_content, or OpenInference's ``openinference.span.kind=LLM``) that
starts in the trace of a session open here hands that session a :class:`~steps.Step` when
it ends, as our own LLM calls do. So it adds to the totals on the root, the LLM-call count,
the session metrics and what the detectors see. Its tokens are read from whichever keys it
carries (:data:`TOKEN_KEYS`); its cost is its own when it carries one, else the price
table's.

Each call is counted once:

* our own spans never count here: our invocations count themselves (their starts are
  marked by ``STAMPED_AT_START``, and their instrumentation scope is ours);
* a call one of our LLM runs makes through an instrumented client: the run puts an
  :class:`InferenceSlot` in the context of the provider call; another instrumentation's
  inference span started there fills the slot instead of counting, and the run counts the
  call once (``instrumentation/langchain/_handler.py``);
* an inference span nested directly in another open one (a framework's span and the
  provider's): only the outer one counts, with the inner one's tokens if it has none;
* two spans with the same ``gen_ai.response.id`` in one session (two instrumentations of
  one client): the first.

Only spans that end while their session is open count: a stream read to its end after the
session ended comes too late for the root's totals. Spans go through this processor only
on the providers it was added to; an instrumentation given a provider of its own that we
never saw is not counted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, NamedTuple

from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import StatusCode

from sentrial_otel import semconv as sc
from sentrial_otel._internal.forksafe import module_lock
from sentrial_otel._internal.logs import logger
from sentrial_otel._internal.spans.pricing import cost_usd
from sentrial_otel._internal.spans.recording import SessionScope
from sentrial_otel._internal.spans.stamping import STAMPED_AT_START
from sentrial_otel._internal.spans.steps import LLM, Step

INPUT: Final = "input"
OUTPUT: Final = "output"
# The breakdowns, named as a Step's token_details are (what follows "gen_ai.usage.").
CACHE_READ: Final = sc.USAGE_CACHE_READ
CACHE_WRITE: Final = sc.USAGE_CACHE_WRITE
REASONING: Final = sc.USAGE_REASONING

TOKEN_KEYS: Final[tuple[tuple[str, tuple[str, ...]], ...]] = (
    (INPUT, (sc.GEN_AI_USAGE_INPUT_TOKENS, sc.LLM_TOKEN_COUNT_PROMPT,
             sc.GEN_AI_USAGE_PROMPT_TOKENS)),
    (OUTPUT, (sc.GEN_AI_USAGE_OUTPUT_TOKENS, sc.LLM_TOKEN_COUNT_COMPLETION,
              sc.GEN_AI_USAGE_COMPLETION_TOKENS)),
    (CACHE_READ, (sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, sc.LLM_TOKEN_COUNT_CACHE_READ)),
    (CACHE_WRITE, (sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS,
                   sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS, sc.LLM_TOKEN_COUNT_CACHE_WRITE)),
    (REASONING, (sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS, sc.GEN_AI_USAGE_REASONING_TOKENS,
                 sc.LLM_TOKEN_COUNT_REASONING)),
)
"""Each kind of token count, and the keys it is read from, the first present winning:
the GenAI conventions' key, OpenInference's, older OpenLLMetry releases'. A new kind is a
new row; :class:`ForeignCall` carries every kind found."""

_MODEL_KEYS: Final = (sc.GEN_AI_RESPONSE_MODEL, sc.GEN_AI_REQUEST_MODEL, sc.LLM_MODEL_NAME)
_PROVIDER_KEYS: Final = (sc.GEN_AI_PROVIDER_NAME, sc.GEN_AI_SYSTEM, sc.LLM_PROVIDER, sc.LLM_SYSTEM)
_COST_KEYS: Final = (sc.SENTRIAL_COST_USD, sc.LLM_COST_TOTAL, sc.GEN_AI_USAGE_COST)
_OUR_SCOPE: Final = "sentrial_otel"
# Spans seen starting and not yet ended are forgotten past this many (spans never ended).
MAX_OPEN_SPANS: Final = 10_000


class ForeignCall(NamedTuple):
    """What an inference span of another instrumentation says about its call."""

    request_model: str
    model: str
    """The model it was priced by: the response model, else the requested one."""
    provider: str | None
    tokens: Mapping[str, int]
    """Token counts by kind (:data:`TOKEN_KEYS`), only the kinds it reported."""
    cost: float | None
    """The cost the span carries itself, if any."""
    response_id: str | None
    finish_reasons: tuple[str, ...]
    error_type: str | None

    def priced(self) -> float:
        """Its own cost, else the price table's when any token count is known."""
        if self.cost is not None:
            return self.cost
        tokens = self.tokens
        if INPUT not in tokens and OUTPUT not in tokens:
            return 0.0
        return cost_usd(
            self.model, tokens.get(INPUT), tokens.get(OUTPUT), self.provider,
            cache_read_tokens=tokens.get(CACHE_READ), cache_write_tokens=tokens.get(CACHE_WRITE),
        )


def is_inference(attributes: Mapping[str, Any]) -> bool:
    """Whether a span's (start) attributes say it is one call to a model."""
    return (
        attributes.get(sc.GEN_AI_OPERATION_NAME) in sc.INFERENCE_OPERATIONS
        or attributes.get(sc.OI_SPAN_KIND) == sc.OI_KIND_LLM
    )


def _first(attributes: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = attributes.get(key)
        if value is not None:
            return value
    return None


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return int(value) if 0 <= value < 2**63 else None


def read_call(span: ReadableSpan) -> ForeignCall:
    """The call an ended inference span describes."""
    # One copy: every lookup on the SDK's attribute mapping is a few Python calls.
    attributes = dict(span.attributes or {})
    tokens: dict[str, int] = {}
    for kind, keys in TOKEN_KEYS:
        count = _count(_first(attributes, keys))
        if count is not None:
            tokens[kind] = count
    request_model = attributes.get(sc.GEN_AI_REQUEST_MODEL) or attributes.get(sc.LLM_MODEL_NAME)
    model = _first(attributes, _MODEL_KEYS)
    provider = _first(attributes, _PROVIDER_KEYS)
    cost = _first(attributes, _COST_KEYS)
    reasons = attributes.get(sc.GEN_AI_RESPONSE_FINISH_REASONS)
    response_id = attributes.get(sc.GEN_AI_RESPONSE_ID)
    error_type = None
    if span.status.status_code is StatusCode.ERROR:
        error_type = str(attributes.get(sc.ERROR_TYPE) or sc.ERROR_TYPE_OTHER)
    return ForeignCall(
        request_model=str(request_model or model or "unknown")[:256],
        model=str(model or "unknown"),
        provider=provider if isinstance(provider, str) and provider else None,
        tokens=tokens,
        cost=float(cost) if isinstance(cost, (int, float)) and not isinstance(cost, bool)
        and 0 <= cost < float("inf") else None,
        response_id=str(response_id) if response_id else None,
        finish_reasons=tuple(str(r) for r in reasons) if isinstance(reasons, (list, tuple)) else (),
        error_type=error_type,
    )


def step_of(call: ForeignCall, span: ReadableSpan) -> Step:
    """The session's step for another instrumentation's call."""
    end_ns = span.end_time or 0
    return Step(
        kind=LLM,
        name=call.request_model,
        span_id=span.context.span_id if span.context is not None else 0,
        start_ns=span.start_time or end_ns,
        end_ns=end_ns,
        error_type=call.error_type,
        arguments_hash=None,
        confidence=None,
        empty_output=None,
        finish_reasons=call.finish_reasons,
        cost=call.priced(),
        input_tokens=call.tokens.get(INPUT),
        output_tokens=call.tokens.get(OUTPUT),
        total_tokens=None,
        token_details={k: n for k, n in call.tokens.items() if k not in (INPUT, OUTPUT)} or None,
    )


# --- one of our LLM runs around an instrumented client ----------------------------------------
class InferenceSlot:
    """Put in the context of a provider call one of our LLM runs makes: the first inference
    span of another instrumentation that starts in it claims it (``span_id``) and leaves
    its call here when it ends (``call``), instead of counting on its own."""

    __slots__ = ("call", "span_id")

    def __init__(self) -> None:
        self.span_id: int | None = None
        self.call: ForeignCall | None = None


_SLOT_KEY: Final = otel_context.create_key("sentrial-inference-slot")


def with_slot(context: otel_context.Context, slot: InferenceSlot) -> otel_context.Context:
    """``context`` with ``slot`` for the inference spans started in it."""
    return otel_context.set_value(_SLOT_KEY, slot, context)


def slot_in(context: otel_context.Context | None) -> InferenceSlot | None:
    """The slot of ``context`` (None: the current context), if any."""
    slot = otel_context.get_value(_SLOT_KEY, context)
    return slot if isinstance(slot, InferenceSlot) else None


# --- which session a trace's spans count in ----------------------------------------------------
_IDS_LOCK = module_lock(globals(), "_IDS_LOCK")


class SessionsByTrace:
    """Trace id -> the session open in this process whose trace it is, and the response ids
    its counted LLM spans had (kept apart, made on the first: an open session costs the
    table one entry)."""

    def __init__(self) -> None:
        self._by_trace: dict[int, SessionScope] = {}
        self._response_ids: dict[int, set[str]] = {}

    def open(self, trace_id: int, session: SessionScope) -> None:
        self._by_trace[trace_id] = session

    def close(self, trace_id: int) -> None:
        self._by_trace.pop(trace_id, None)
        if self._response_ids:
            with _IDS_LOCK:
                self._response_ids.pop(trace_id, None)

    def get(self, trace_id: int) -> SessionScope | None:
        return self._by_trace.get(trace_id)  # atomic under the GIL: no lock on the hot path

    def first_time(self, trace_id: int, response_id: str | None) -> bool:
        """Whether no span of this session counted this response yet."""
        if response_id is None:
            return True
        with _IDS_LOCK:
            seen = self._response_ids.setdefault(trace_id, set())
            if response_id in seen:
                return False
            seen.add(response_id)
            return True

    def __len__(self) -> int:
        return len(self._by_trace)


OPEN_SESSIONS = SessionsByTrace()


class _Open:
    """An inference span of another instrumentation that started in a session's trace."""

    __slots__ = ("ended", "inner", "outer")

    def __init__(self, outer: _Open | None) -> None:
        self.outer = outer
        self.inner: ForeignCall | None = None
        """The call of an inference span nested in this one, ended first."""
        self.ended = False


def _bounded_put(spans: dict[int, Any], span_id: int, value: Any) -> None:
    spans[span_id] = value
    if len(spans) > MAX_OPEN_SPANS:
        try:
            spans.pop(next(iter(spans)), None)
        except (StopIteration, RuntimeError):  # emptied or changed by another thread
            pass


class SessionUsageProcessor(SpanProcessor):
    """Counts other instrumentations' inference spans in their session (see the module)."""

    def __init__(self, sessions: SessionsByTrace = OPEN_SESSIONS) -> None:
        self._sessions = sessions
        self._open: dict[int, _Open] = {}
        self._in_slot: dict[int, InferenceSlot] = {}

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        if STAMPED_AT_START.get():
            return  # one of our own steps: it counts itself
        context = span.get_span_context()
        if context is None:
            return
        slot = slot_in(parent_context)
        if slot is None and self._sessions.get(context.trace_id) is None:
            return
        if not is_inference(span.attributes or {}):
            return
        if span.instrumentation_scope is not None and span.instrumentation_scope.name.startswith(
            _OUR_SCOPE
        ):
            return
        if slot is not None:
            if slot.span_id is None:
                slot.span_id = context.span_id
            _bounded_put(self._in_slot, context.span_id, slot)
            return
        parent = span.parent
        outer = self._open.get(parent.span_id) if parent is not None else None
        _bounded_put(self._open, context.span_id, _Open(outer))

    def on_end(self, span: ReadableSpan) -> None:
        if not (self._open or self._in_slot):
            return
        context = span.context
        if context is None:
            return
        slot = self._in_slot.pop(context.span_id, None)
        if slot is not None:
            if slot.call is None:
                slot.call = read_call(span)
            return
        opened = self._open.pop(context.span_id, None)
        if opened is None:
            return
        opened.ended = True
        call = read_call(span)
        outer = opened.outer
        if outer is not None and not outer.ended:
            # The same call as the span around it, which counts when it ends.
            if outer.inner is None:
                outer.inner = call
            return
        if not call.tokens and opened.inner is not None:
            inner = opened.inner
            call = call._replace(tokens=inner.tokens, cost=call.cost if call.cost is not None
                                 else inner.cost)
        session = self._sessions.get(context.trace_id)
        if session is None:
            logger.debug(
                "sentrial: an LLM span (%s) ended after its session did; it is not in the "
                "session's totals", span.name,
            )
            return
        if not self._sessions.first_time(context.trace_id, call.response_id):
            return
        session.step_ended(step_of(call, span))

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
