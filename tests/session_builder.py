"""Build realistic agent sessions by hand with the OpenTelemetry API (SEMCONV.md shapes).

The engine writes these spans in production; the store and CLI tests need the same shapes
without depending on it, with explicit times so order and durations are deterministic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from sentrial_otel import semconv as sc

SECOND = 1_000_000_000
BASE_NS = 1_750_000_000 * SECOND  # 2025-06-15T15:06:40Z


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def make_provider(exporter: SpanExporter) -> TracerProvider:
    """A real SDK provider writing every span synchronously to ``exporter``."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


@dataclass
class SessionSpec:
    """What one built session looks like (what tests assert against)."""

    session_id: str
    agent: str = "support-agent"
    user: str = "user-1"
    convo: str | None = None
    outcome: str = "success"  # success | failed | abandoned
    start_ns: int = BASE_NS
    tools: int = 2
    llm_calls: int = 1
    decisions: int = 1
    step_ns: int = SECOND // 2
    findings: tuple[tuple[str, int | None, str], ...] = ()
    """``(kind, step, detail)``: detected issues the root carries; ``step`` counts the
    children in time order from 0 (tools, then decisions, then LLM calls); None: the session."""


def add_findings(root: trace.Span, findings: list[tuple[str, str | None, str]]) -> None:
    """Put findings on a session's root span as SEMCONV.md "Detected issues" says, through
    the OpenTelemetry API (what the detectors do when a session ends).

    ``findings``: ``(kind, hex span id of the offending step or None, detail)``.
    """
    kinds = list(dict.fromkeys(kind for kind, _, _ in findings))
    root.set_attribute(sc.SENTRIAL_SESSION_ISSUES, kinds)
    root.set_attribute(sc.SENTRIAL_SESSION_ISSUE_COUNT, len(findings))
    for kind, span_id, detail in findings:
        attributes = {sc.SENTRIAL_ISSUE_KIND: kind, sc.SENTRIAL_ISSUE_DETAIL: detail}
        if span_id:
            attributes[sc.SENTRIAL_ISSUE_SPAN_ID] = span_id
        root.add_event(sc.SENTRIAL_ISSUE_EVENT, attributes)


def record_session(provider: TracerProvider, spec: SessionSpec) -> None:
    """Emit one session: root, then tool / decision / LLM children in time order."""
    tracer = provider.get_tracer("tests.session_builder")
    common = {sc.SENTRIAL_SESSION_ID: spec.session_id, sc.USER_ID: spec.user}
    if spec.convo:
        common[sc.GEN_AI_CONVERSATION_ID] = spec.convo
        common[sc.SESSION_ID] = spec.convo
    root = tracer.start_span(
        f"invoke_agent {spec.agent}",
        kind=SpanKind.INTERNAL,
        start_time=spec.start_ns,
        attributes={
            sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_AGENT,
            sc.GEN_AI_AGENT_NAME: spec.agent,
            sc.SENTRIAL_SESSION_NAME: f"{spec.agent}:{spec.session_id[:8]}",
            sc.GEN_AI_INPUT_MESSAGES: _json(
                [{"role": "user", "parts": [{"type": "text", "content": "Where is my order?"}]}]
            ),
            **common,
        },
    )
    context = trace.set_span_in_context(root)
    now = spec.start_ns
    tokens = 0
    cost = 0.0
    steps: list[str] = []  # hex span ids of the children, in time order
    for i in range(spec.tools):
        span = tracer.start_span(
            "execute_tool search_orders", context=context, start_time=now,
            attributes={
                sc.GEN_AI_OPERATION_NAME: sc.OP_EXECUTE_TOOL,
                sc.GEN_AI_TOOL_NAME: "search_orders",
                sc.GEN_AI_TOOL_TYPE: sc.TOOL_TYPE_FUNCTION,
                sc.GEN_AI_AGENT_NAME: spec.agent,
                sc.GEN_AI_TOOL_CALL_ARGUMENTS: _json({"order_id": f"A{i}"}),
                sc.GEN_AI_TOOL_CALL_RESULT: _json({"status": "shipped", "n": i}),
                sc.SENTRIAL_TOOL_REASONING: "The user asked about an order",
                sc.SENTRIAL_COST_USD: 0.001,
                sc.SENTRIAL_USAGE_TOTAL_TOKENS: 10,
                **common,
            },
        )
        now += spec.step_ns
        span.end(end_time=now)
        steps.append(f"{span.get_span_context().span_id:016x}")
        tokens += 10
        cost += 0.001
    for _ in range(spec.decisions):
        span = tracer.start_span(
            f"decision {spec.agent}", context=context, start_time=now,
            attributes={
                sc.SENTRIAL_SPAN_KIND: sc.SPAN_KIND_DECISION,
                sc.GEN_AI_AGENT_NAME: spec.agent,
                sc.SENTRIAL_DECISION_REASONING: "Order shipped, tell the user",
                sc.SENTRIAL_DECISION_ALTERNATIVES: ["escalate", "reply"],
                sc.SENTRIAL_DECISION_CHOSEN: "reply",
                sc.SENTRIAL_DECISION_CONFIDENCE: 0.9,
                **common,
            },
        )
        now += spec.step_ns
        span.end(end_time=now)
        steps.append(f"{span.get_span_context().span_id:016x}")
    for _ in range(spec.llm_calls):
        span = tracer.start_span(
            "chat gpt-4o", context=context, kind=SpanKind.CLIENT, start_time=now,
            attributes={
                sc.GEN_AI_OPERATION_NAME: sc.OP_CHAT,
                sc.GEN_AI_PROVIDER_NAME: "openai",
                sc.GEN_AI_REQUEST_MODEL: "gpt-4o",
                sc.GEN_AI_USAGE_INPUT_TOKENS: 100,
                sc.GEN_AI_USAGE_OUTPUT_TOKENS: 20,
                sc.SENTRIAL_COST_USD: 0.002,
                sc.GEN_AI_OUTPUT_MESSAGES: _json([{
                    "role": "assistant", "finish_reason": "stop",
                    "parts": [{"type": "text", "content": "It has shipped."}],
                }]),
                **common,
            },
        )
        now += spec.step_ns
        span.end(end_time=now)
        steps.append(f"{span.get_span_context().span_id:016x}")
        tokens += 120
        cost += 0.002

    if spec.findings:
        add_findings(root, [(kind, steps[step] if step is not None else None, detail)
                            for kind, step, detail in spec.findings])
    root.set_attribute(sc.SENTRIAL_SESSION_COST_USD, cost)
    root.set_attribute(sc.SENTRIAL_SESSION_TOTAL_TOKENS, tokens)
    if spec.outcome == "success":
        root.set_attribute(sc.SENTRIAL_SESSION_SUCCESS, True)
        root.set_attribute(
            sc.GEN_AI_OUTPUT_MESSAGES,
            _json([{"role": "assistant", "finish_reason": "stop",
                    "parts": [{"type": "text", "content": "It has shipped."}]}]),
        )
    elif spec.outcome == "failed":
        root.set_attribute(sc.SENTRIAL_SESSION_SUCCESS, False)
        root.set_attribute(sc.SENTRIAL_SESSION_FAILURE_REASON, "payment API down")
        root.set_attribute(sc.ERROR_TYPE, sc.ERROR_TYPE_SESSION_FAILED)
        root.set_status(Status(StatusCode.ERROR, "payment API down"))
    else:
        root.set_attribute(sc.SENTRIAL_SESSION_ABANDONED, True)
        root.set_attribute(sc.ERROR_TYPE, sc.ERROR_TYPE_ABANDONED)
        root.set_status(Status(StatusCode.ERROR, "abandoned at exit"))
    root.end(end_time=now + spec.step_ns)


def spans_per_session(spec: SessionSpec) -> int:
    """How many spans :func:`record_session` emits for ``spec``."""
    return 1 + spec.tools + spec.decisions + spec.llm_calls
