"""Questions the CLI asks of a store: which sessions match, one session's spans, and the
stored requests of chosen sessions (to send them on)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)

from sentrial_otel.store.index import ParseProgress
from sentrial_otel.store.listing import load_summaries, select_summaries
from sentrial_otel.store.otlp_json import document_to_request, iter_span_dicts
from sentrial_otel.store.reader import StoreReader
from sentrial_otel.store.records import SpanRecord
from sentrial_otel.store.scores import StoredScore, iter_scores
from sentrial_otel.store.sessions import SessionFilter, SessionSummary, StoredSession


_SHOWN_MATCHES = 5  # of an ambiguous id prefix


class SessionNotFound(LookupError):
    """No session, or more than one, matches the id given."""


@dataclass
class SessionPage:
    """The newest matching sessions (at most the limit asked for), and how many matched."""

    sessions: list[SessionSummary]
    matching: int
    note: str = ""
    """What the source has to say about the answer (Jaeger: it returned only so many
    traces), for stderr; empty when the count is complete."""


def list_page(
    directory: str | os.PathLike[str],
    session_filter: SessionFilter | None = None,
    limit: int | None = None,
    progress: ParseProgress | None = None,
) -> SessionPage:
    """Matching sessions, newest first, at most ``limit`` of them, and their number."""
    sessions, matching = select_summaries(
        directory, session_filter or SessionFilter(), limit, progress
    )
    return SessionPage(sessions, matching)


def list_sessions(
    directory: str | os.PathLike[str],
    session_filter: SessionFilter | None = None,
    limit: int | None = None,
) -> list[SessionSummary]:
    """Matching sessions, newest first, at most ``limit`` of them."""
    return list_page(directory, session_filter, limit).sessions


def find_session(
    directory: str | os.PathLike[str], id_prefix: str, progress: ParseProgress | None = None
) -> SessionSummary:
    """The one session whose session id (or trace id, in any case) is or starts with
    ``id_prefix``."""
    id_prefix = id_prefix.strip()
    if not id_prefix:
        raise SessionNotFound("empty session id")
    summaries = load_summaries(directory, progress)
    trace_prefix = id_prefix.lower()  # stored in lowercase hex; copied from elsewhere in any
    exact = [s for s in summaries if s.session_id == id_prefix or s.trace_id == trace_prefix]
    if len(exact) == 1:
        return exact[0]
    candidates = exact or [
        s for s in summaries
        if s.session_id.startswith(id_prefix) or s.trace_id.startswith(trace_prefix)
    ]
    if not candidates:
        raise SessionNotFound(f"no session matches {id_prefix!r}")
    if len(candidates) > 1:
        shown = ", ".join(s.display_id for s in candidates[:_SHOWN_MATCHES])
        if len(candidates) > _SHOWN_MATCHES:
            shown += f" and {len(candidates) - _SHOWN_MATCHES} more"
        raise SessionNotFound(
            f"{len(candidates)} sessions match {id_prefix!r} ({shown}); give more of the id"
        )
    return candidates[0]


def load_session(directory: str | os.PathLike[str], summary: SessionSummary) -> StoredSession:
    """All stored spans of the session, in start-time order.

    Only the files the index saw the trace in are read, and only lines containing the
    trace id are parsed.
    """
    reader = StoreReader(directory)
    # Spans and log records (scores) both name their trace so.
    needle = f'"traceId":"{summary.trace_id}"'.encode()
    spans: list[SpanRecord] = []
    scores: list[StoredScore] = []
    for name in summary.files:
        for document, _ in reader.documents(Path(directory) / name, must_contain=needle):
            spans.extend(
                SpanRecord.from_dict(span)
                for span in iter_span_dicts(document)
                if span.get("traceId") == summary.trace_id
            )
            scores.extend(s for s in iter_scores(document) if s.trace_id == summary.trace_id)
    reader.finish()
    # At equal starts the enclosing span (which ends later) comes first.
    spans.sort(key=lambda span: (span.start_ns, -span.end_ns))
    scores.sort(key=lambda score: (score.time_ns, score.name))
    return StoredSession(summary=summary, spans=spans, scores=scores)


def requests_for_traces(
    directory: str | os.PathLike[str], trace_ids: set[str]
) -> Iterator[tuple[ExportTraceServiceRequest, int]]:
    """Each stored request cut down to the spans of ``trace_ids``, with its span count."""
    reader = StoreReader(directory)
    for path in reader.files():
        for document, _ in reader.documents(path):
            kept = _keep_traces(document, trace_ids)
            if kept:
                yield document_to_request(document), kept
    reader.finish()


def _keep_traces(document: dict[str, Any], trace_ids: set[str]) -> int:
    """Drop, in place, every span (and emptied scope/resource) not in ``trace_ids``."""
    kept = 0
    resources = []
    for resource_spans in document.get("resourceSpans", ()):
        scopes = []
        for scope_spans in resource_spans.get("scopeSpans", ()):
            spans = [s for s in scope_spans.get("spans", ()) if s.get("traceId") in trace_ids]
            if spans:
                scope_spans["spans"] = spans
                scopes.append(scope_spans)
                kept += len(spans)
        if scopes:
            resource_spans["scopeSpans"] = scopes
            resources.append(resource_spans)
    document["resourceSpans"] = resources
    return kept
