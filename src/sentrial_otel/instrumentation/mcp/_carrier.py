"""What travels with an MCP request in its ``params._meta``: trace context and the session.

* W3C trace context (``traceparent``, ``tracestate``, and ``baggage`` when the application's
  propagator has it), as the MCP conventions ask ("Instrumentations SHOULD propagate trace
  context inside MCP request ``params._meta``"). mcp 2.x injects it itself, from the span
  current when it sends; on mcp 1.x, which has no OpenTelemetry of its own, we inject it.
* The session's identity under one namespaced key, :data:`SESSION_META_KEY`: the attributes
  every span of the session carries (``sentrial.session.id``, ``user.id``,
  ``gen_ai.conversation.id``, ``session.id``), so the server's spans carry them too. Not
  baggage: baggage would follow every HTTP call the tool makes to third parties, user id
  included. The MCP spec reserves only ``io.modelcontextprotocol/*`` and ``*.mcp/*``-style
  prefixes; a server that does not know the key ignores it (``_meta`` allows extra keys).

Keys the caller put in ``meta`` themselves always win.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry import propagate, trace

from sentrial_otel import semconv as sc
from sentrial_otel._internal.spans.stamping import SESSION_INDEX

SESSION_META_KEY = "dev.sentrial/session"

# What a server accepts from the wire: only the session's identifying keys, only strings,
# each at most this long (ids, not content).
SESSION_KEYS = (sc.SENTRIAL_SESSION_ID, sc.USER_ID, sc.GEN_AI_CONVERSATION_ID, sc.SESSION_ID)
MAX_ID_LENGTH = 256


def current_session_stamp() -> dict[str, str] | None:
    """The identifying attributes of the session whose trace the current span is in."""
    span_context = trace.get_current_span().get_span_context()
    if not span_context.is_valid:
        return None
    stamp = SESSION_INDEX.attributes_for(span_context.trace_id)
    if not stamp:
        return None
    return {key: value for key in SESSION_KEYS if isinstance(value := stamp.get(key), str)}


def outgoing_meta(meta: Mapping[str, Any] | None, *, trace_context: bool) -> dict[str, Any] | None:
    """The ``meta`` to send with a request: the caller's, plus trace context when
    ``trace_context`` (mcp 1.x) and the current session's identity. The caller's keys win.

    Returns ``meta`` itself when there is nothing to add.
    """
    carrier: dict[str, Any] = {}
    if trace_context:
        propagate.inject(carrier)
    stamp = current_session_stamp()
    if stamp:
        carrier[SESSION_META_KEY] = stamp
    if not carrier:
        return dict(meta) if meta is not None else None
    if meta:
        carrier.update(meta)
    return carrier


def session_stamp_from(meta: Mapping[str, Any] | None) -> dict[str, str] | None:
    """The session identity a request carries, validated; None when it carries none."""
    if not isinstance(meta, Mapping):
        return None
    sent = meta.get(SESSION_META_KEY)
    if not isinstance(sent, Mapping):
        return None
    stamp = {
        key: value
        for key in SESSION_KEYS
        if isinstance(value := sent.get(key), str) and 0 < len(value) <= MAX_ID_LENGTH
    }
    return stamp if sc.SENTRIAL_SESSION_ID in stamp else None


def parent_context_from(meta: Mapping[str, Any] | None) -> Any:
    """The caller's context from the trace context in ``meta``, or None when it has none
    (then a server span parents to whatever is current, as mcp 2.x's own does)."""
    if not isinstance(meta, Mapping) or "traceparent" not in meta:
        return None
    try:
        context = propagate.extract(meta)
    except (TypeError, ValueError):
        return None
    if not trace.get_current_span(context).get_span_context().is_valid:
        return None
    return context
