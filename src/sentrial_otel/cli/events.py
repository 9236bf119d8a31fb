"""One stored span as an *event* of a session: what ``show`` prints and ``replay`` steps.

Content attributes are JSON strings on the wire (SEMCONV.md); they are decoded here for
display and for ``--json`` output.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import click

from sentrial_otel import semconv as sc
from sentrial_otel.cli.formatting import (
    cost_text,
    count_text,
    duration_text,
    iso_time,
    status_text,
    value_text,
)
from sentrial_otel.store.records import SpanRecord, parse_json_attribute
from sentrial_otel.store.scores import StoredScore
from sentrial_otel.store.sessions import Finding, StoredSession

KIND_SESSION = "session"
KIND_TOOL = "tool"
KIND_DECISION = "decision"
KIND_LLM = "llm"
KIND_AGENT = "agent"
KIND_OTHER = "span"

# (label, attribute) pairs shown under an event, in this order, when present.
_DETAILS: tuple[tuple[str, str], ...] = (
    ("input", sc.GEN_AI_INPUT_MESSAGES),
    ("system", sc.GEN_AI_SYSTEM_INSTRUCTIONS),
    ("arguments", sc.GEN_AI_TOOL_CALL_ARGUMENTS),
    ("result", sc.GEN_AI_TOOL_CALL_RESULT),
    ("output", sc.GEN_AI_OUTPUT_MESSAGES),
    ("reasoning", sc.SENTRIAL_TOOL_REASONING),
    ("reasoning", sc.SENTRIAL_DECISION_REASONING),
    ("alternatives", sc.SENTRIAL_DECISION_ALTERNATIVES),
    ("chosen", sc.SENTRIAL_DECISION_CHOSEN),
    ("confidence", sc.SENTRIAL_DECISION_CONFIDENCE),
    ("tool error", sc.SENTRIAL_TOOL_ERROR),
    ("failure", sc.SENTRIAL_SESSION_FAILURE_REASON),
    ("error type", sc.ERROR_TYPE),
)


def event_kind(span: SpanRecord, root: SpanRecord | None) -> str:
    """What the span stands for in the session."""
    if span is root:
        return KIND_SESSION
    operation = span.attributes.get(sc.GEN_AI_OPERATION_NAME)
    if operation == sc.OP_EXECUTE_TOOL:
        return KIND_TOOL
    if operation in sc.INFERENCE_OPERATIONS or (
        span.attributes.get(sc.OI_SPAN_KIND) == sc.OI_KIND_LLM
    ):
        return KIND_LLM
    if span.attributes.get(sc.SENTRIAL_SPAN_KIND) == sc.SPAN_KIND_DECISION:
        return KIND_DECISION
    if operation == sc.OP_INVOKE_AGENT:
        return KIND_AGENT
    return KIND_OTHER


def span_tokens(span: SpanRecord) -> int | None:
    """Tokens the span reports (the session total on a root), or None."""
    attrs = span.attributes
    for key in (sc.SENTRIAL_SESSION_TOTAL_TOKENS, sc.SENTRIAL_USAGE_TOTAL_TOKENS):
        if isinstance(attrs.get(key), int):
            return int(attrs[key])
    parts = [attrs.get(sc.GEN_AI_USAGE_INPUT_TOKENS), attrs.get(sc.GEN_AI_USAGE_OUTPUT_TOKENS)]
    if any(isinstance(p, int) for p in parts):
        return sum(p for p in parts if isinstance(p, int))
    return None


def span_cost(span: SpanRecord) -> float | None:
    """Cost in USD the span reports (the session total on a root), or None."""
    for key in (sc.SENTRIAL_SESSION_COST_USD, sc.SENTRIAL_COST_USD):
        value = span.attributes.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


def event_title(span: SpanRecord, kind: str) -> str:
    """``TOOL search_orders``, ``LLM chat gpt-4o (openai)``, ``DECISION agent`` ..."""
    attrs = span.attributes
    if kind == KIND_TOOL:
        return f"TOOL {attrs.get(sc.GEN_AI_TOOL_NAME, span.name)}"
    if kind == KIND_LLM:
        provider = attrs.get(sc.GEN_AI_PROVIDER_NAME)
        return f"LLM {span.name}" + (f" ({provider})" if provider else "")
    if kind == KIND_DECISION:
        return f"DECISION {attrs.get(sc.GEN_AI_AGENT_NAME, '')}".rstrip()
    if kind == KIND_SESSION:
        return f"SESSION {attrs.get(sc.GEN_AI_AGENT_NAME, span.name)}"
    if kind == KIND_AGENT:
        return f"AGENT {attrs.get(sc.GEN_AI_AGENT_NAME, span.name)}"
    return span.name


@dataclass
class EventView:
    """One event as ``show`` and ``replay`` print it, before it is laid out as lines (for a
    pipe) or as a node of a tree (for a terminal)."""

    span: SpanRecord
    kind: str
    offset_s: float
    title: str
    duration: str
    error: bool
    details: list[tuple[str, str, str]] = field(default_factory=list)
    """``(label, text, colour)``; the text may run over several lines."""
    usage: str | None = None
    issues: list[str] = field(default_factory=list)
    """The kinds of the findings about this step, in order (marked on its title line)."""


def event_view(
    span: SpanRecord,
    kind: str,
    session_start_ns: int,
    findings: Sequence[Finding] = (),
    compact: bool = False,
) -> EventView:
    """What there is to say about one event: title, details, tokens, cost and the findings
    about it. ``compact``: JSON values on one line, however long."""
    view = EventView(
        span=span, kind=kind, offset_s=(span.start_ns - session_start_ns) / 1e9,
        title=event_title(span, kind), duration=duration_text(span.duration_ns),
        error=span.is_error,
    )
    for label, key in _DETAILS:
        if key in span.attributes:
            value = parse_json_attribute(span.attributes[key])
            if key == sc.SENTRIAL_DECISION_ALTERNATIVES and isinstance(value, list):
                text = ", ".join(map(str, value))
            elif key == sc.SENTRIAL_DECISION_CONFIDENCE and isinstance(value, float):
                text = f"{value:.2f}"
            else:
                text = value_text(value, compact)
            view.details.append((label, text, "cyan"))
    if span.status_message and span.is_error:
        view.details.append(("error", span.status_message, "red"))
    for event in span.events:
        if event.name == sc.EXCEPTION_EVENT:
            view.details.append((
                "exception",
                f"{event.attributes.get(sc.EXCEPTION_TYPE, '')}: "
                f"{event.attributes.get(sc.EXCEPTION_MESSAGE, '')}",
                "red",
            ))
    for finding in findings:
        view.issues.append(finding.kind)
        view.details.append(("issue", finding_text(finding), "yellow"))
    usage = []
    tokens, cost = span_tokens(span), span_cost(span)
    inputs = span.attributes.get(sc.GEN_AI_USAGE_INPUT_TOKENS)
    outputs = span.attributes.get(sc.GEN_AI_USAGE_OUTPUT_TOKENS)
    if kind == KIND_LLM and isinstance(inputs, int) and isinstance(outputs, int):
        usage.append(f"{inputs} in / {count_text(outputs, 'out token')}")
    elif tokens is not None:
        usage.append(count_text(tokens, "token"))
    if cost is not None:
        usage.append(cost_text(cost))
    view.usage = " · ".join(usage) or None
    return view


def event_views(session: StoredSession, compact: bool = False) -> list[EventView]:
    """Every event of the session, in time order (root first), each with the findings
    about it (a finding about no stored step, or the whole session, goes to the root)."""
    start = session.summary.start_ns
    events = ordered_events(session)
    span_ids = {span.span_id for span, _ in events}
    by_span: dict[str, list[Finding]] = {}
    for finding in session.findings:
        at = finding.span_id if finding.span_id in span_ids else ""
        by_span.setdefault(at, []).append(finding)
    views = []
    for span, kind in events:
        findings = by_span.get(span.span_id, [])
        if kind == KIND_SESSION:
            findings = by_span.get("", []) + findings
        views.append(event_view(span, kind, start, findings, compact))
    return views


def issues_text(issues: dict[str, int] | None) -> str:
    """``slow_step tool_loop×3``: the kinds found, with how many when more than one."""
    return " ".join(kind + (f"×{count}" if count > 1 else "")
                    for kind, count in sorted((issues or {}).items()))


def finding_text(finding: Finding) -> str:
    """``tool_loop: search called 3 times with the same arguments``."""
    return f"{finding.kind}: {finding.detail}" if finding.detail else finding.kind


def issue_mark(kinds: list[str]) -> str:
    """``⚠ tool_loop, slow_step``: what a step's title line says of its findings."""
    return "⚠ " + ", ".join(dict.fromkeys(kinds))


def event_lines(view: EventView) -> list[str]:
    """The event as plain text: a title line, then one indented line per detail."""
    title = click.style(view.title, bold=True)
    status = f"  {click.style('✗ error', fg='red')}" if view.error else ""
    if view.issues:
        status += f"  {click.style(issue_mark(view.issues), fg='yellow')}"
    lines = [f"+{view.offset_s:8.3f}s  {title}  ({view.duration}){status}"]
    indent = " " * 12
    for label, text, colour in view.details:
        continued = "\n" + indent + " " * (len(label) + 2)
        lines.append(f"{indent}{click.style(label + ':', fg=colour)} "
                     f"{text.replace(chr(10), continued)}")
    if view.usage:
        lines.append(f"{indent}{view.usage}")
    return lines


def event_json(span: SpanRecord, kind: str, session_start_ns: int) -> dict[str, Any]:
    """The event for ``--json``: content attributes decoded from their JSON strings."""
    return {
        "kind": kind,
        "name": span.name,
        "span_id": span.span_id,
        "parent_span_id": span.parent_span_id or None,
        "offset_s": round((span.start_ns - session_start_ns) / 1e9, 9),
        "duration_s": round(span.duration_ns / 1e9, 9),
        "error": span.status_message or (True if span.is_error else None),
        "tokens": span_tokens(span),
        "cost_usd": span_cost(span),
        "attributes": {k: parse_json_attribute(v) for k, v in span.attributes.items()},
        "events": [
            {"name": e.name, "offset_s": round((e.time_ns - session_start_ns) / 1e9, 9),
             "attributes": e.attributes}
            for e in span.events
        ],
    }


def score_text(score: StoredScore) -> str:
    """``helpfulness 0.9 (good): answered at once``."""
    text = score.name
    if score.value is not None:
        text += f" {score.value}"
    if score.label is not None:
        text += f" ({score.label})" if score.value is not None else f" {score.label}"
    if score.explanation:
        text += f": {score.explanation}"
    return text


def score_json(score: StoredScore, session_start_ns: int) -> dict[str, Any]:
    """A score for ``show --json``: the explanation too, and when it came."""
    return {**score.to_json(), "time": iso_time(score.time_ns),
            "offset_s": round((score.time_ns - session_start_ns) / 1e9, 9)}


def finding_json(finding: Finding, session_start_ns: int) -> dict[str, Any]:
    return {"kind": finding.kind, "span_id": finding.span_id or None,
            "detail": finding.detail or None,
            "offset_s": round((finding.time_ns - session_start_ns) / 1e9, 9)}


def session_header(session: StoredSession) -> list[str]:
    """The lines above the events: identity, outcome, totals, findings and scores."""
    summary = session.summary
    lines = [
        click.style(f"Session {summary.display_id}", bold=True) + f"  (trace {summary.trace_id})",
        f"  agent {summary.agent or '-'} · user {summary.user or '-'}"
        + (f" · conversation {summary.convo}" if summary.convo else ""),
        f"  {status_text(summary.status)} · {duration_text(summary.duration_ns)} · "
        f"{count_text(summary.llm_calls, 'LLM call')} · "
        f"{count_text(summary.tool_calls, 'tool call')} · "
        f"{count_text(summary.decisions, 'decision')} · {count_text(summary.tokens, 'token')} · "
        f"{cost_text(summary.cost)}",
    ]
    if summary.issue_count:
        lines.append("  " + click.style(f"⚠ {count_text(summary.issue_count, 'issue')}: "
                                        f"{issues_text(summary.issues)}", fg="yellow"))
    for score in session.scores:
        lines.append(f"  {click.style('score', fg='magenta')} {score_text(score)}")
    return lines


def ordered_events(session: StoredSession) -> list[tuple[SpanRecord, str]]:
    """The session's spans with their kinds, in time order (root first)."""
    root = session.root
    return [(span, event_kind(span, root)) for span in session.spans]
