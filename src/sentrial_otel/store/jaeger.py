"""Sessions read back from Jaeger, through its HTTP query API (the one its UI uses).

``JaegerSessions(url)`` is a session source (``cli/sources.py``): it answers the questions
the local store answers (``query.py``): the newest sessions matching a
:class:`SessionFilter`, the one session an id names, and all spans of that session, as the
same :class:`SessionPage` / :class:`SessionSummary` / :class:`Session` objects, so the CLI
prints them the same way.

Jaeger's ``/api/traces`` finds traces by service, time and exact tag values on one span;
the session's root span carries the attributes the filters use (``gen_ai.operation.name``,
``gen_ai.agent.name``, ``user.id``, ``gen_ai.conversation.id``), so those filters become
tags, and the result is then checked with ``SessionFilter.matches``, exactly as for the
store (the detected-issue filters only there: Jaeger cannot search a list). A session's
trace id is derived from its id (``ids.trace_id_for``), so one session is one request.
Jaeger returns its own span model (tags, logs, references, microseconds); ``span_record``
turns one span back into the OTLP shape the rest of the code reads. Jaeger keeps no log
records, so sessions read from it have no scores.
"""

from __future__ import annotations

import json
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from typing import Any

from sentrial_otel import semconv as sc
from sentrial_otel._internal.spans.ids import trace_id_for
from sentrial_otel.store.query import SessionNotFound, SessionPage
from sentrial_otel.store.records import STATUS_ERROR, SpanEvent, SpanRecord
from sentrial_otel.store.sessions import (
    STATUS_ABANDONED,
    STATUS_OPEN,
    StoredSession,
    SessionFilter,
    SessionSummary,
    summarize,
)

# Jaeger's names for what OTLP keeps outside the attributes (its OTLP translator adds them).
_SPAN_KIND_TAG = "span.kind"
_STATUS_CODE_TAG = "otel.status_code"
_STATUS_DESCRIPTION_TAG = "otel.status_description"
_NOT_ATTRIBUTES = {_SPAN_KIND_TAG, _STATUS_CODE_TAG, _STATUS_DESCRIPTION_TAG, "error",
                   "otel.scope.name", "otel.scope.version", "internal.span.format"}
_SPAN_KINDS = {"internal": 1, "server": 2, "client": 3, "producer": 4, "consumer": 5}
# Jaeger's translator turns an array attribute into its JSON text; these are the arrays
# SEMCONV.md defines (other strings stay as they are: content attributes are JSON text).
_ARRAY_ATTRIBUTES = {sc.SENTRIAL_DECISION_ALTERNATIVES, sc.GEN_AI_RESPONSE_FINISH_REASONS,
                     sc.SENTRIAL_SESSION_ISSUES}
_TRACE_ID = re.compile(r"^[0-9a-f]{1,32}$")
# Jaeger returns the traces it stored last (not the newest by start) and some filters are
# checked after fetching (status, issues): ask for more than asked, then sort and cut.
_OVERFETCH = 4
_MIN_FETCH = 200
# With no limit (``sessions issues``): as many traces as Jaeger's UI asks for at most.
_FETCH_ALL = 1500


class JaegerError(RuntimeError):
    """Jaeger could not be asked, or answered something that is not its query API."""


class JaegerQueryAPI:
    """Jaeger's HTTP query API: its services, trace searches and traces by id.

    Args:
        url: the Jaeger UI / query base URL, e.g. ``http://127.0.0.1:16686``.
        timeout: seconds for each HTTP request.
    """

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        parsed = urllib.parse.urlsplit(url.strip())
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise JaegerError(f"{url!r} is not an http(s) URL of Jaeger's query API "
                              "(e.g. http://127.0.0.1:16686)")
        self.url = url.strip().rstrip("/")
        self.timeout = timeout

    @property
    def description(self) -> str:
        return f"Jaeger at {self.url}"

    def services(self) -> list[str]:
        """The service names Jaeger has traces for."""
        data = self._get("services")
        if not isinstance(data, list):
            raise JaegerError(f"{self.description} answered /api/services without a list")
        return sorted(str(name) for name in data)

    def find_traces(self, service: str, tags: Mapping[str, str], limit: int,
                    session_filter: SessionFilter | None) -> list[dict[str, Any]]:
        """Up to ``limit`` traces of ``service`` with a span matching every tag, in the
        filter's time range; Jaeger's JSON."""
        params: dict[str, Any] = {"service": service, "limit": limit}
        if tags:
            params["tags"] = json.dumps(dict(tags), separators=(",", ":"))
        if session_filter is not None:
            # Times before 1970 (--since 99999999d means "ever") are no bound to Jaeger.
            for name, bound in (("start", session_filter.since), ("end", session_filter.until)):
                if bound is not None and bound.timestamp() > 0:
                    params[name] = int(bound.timestamp() * 1e6)
        data = self._get("traces", params)
        return [trace for trace in data or () if isinstance(trace, dict)]

    def trace(self, text: str) -> list[SpanRecord] | None:
        """The spans of the trace ``text`` names (hex, dashes ignored); None if none."""
        trace_id = text.replace("-", "").lower()
        if not _TRACE_ID.match(trace_id):
            return None
        data = self._get(f"traces/{trace_id}", not_found_ok=True)
        return _trace_spans(data[0]) if data else None

    def trace_of_session(self, session_id: str) -> list[SpanRecord] | None:
        """The spans of the first trace with a span tagged with this session id."""
        for service in self.services():
            traces = self.find_traces(service, {sc.SENTRIAL_SESSION_ID: session_id}, 1, None)
            if traces:
                return _trace_spans(traces[0])
        return None

    def _get(self, path: str, params: Mapping[str, Any] | None = None, *,
             not_found_ok: bool = False) -> Any:
        url = f"{self.url}/api/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                body = response.read()
        except urllib.error.HTTPError as error:
            if error.code == 404 and not_found_ok:
                return None
            raise JaegerError(f"{self.description} answered HTTP {error.code} to /api/{path}"
                              f"{_error_detail(error)}") from None
        except (urllib.error.URLError, socket.timeout, OSError) as error:
            reason = getattr(error, "reason", error)
            raise JaegerError(f"cannot reach {self.description} ({reason})") from None
        try:
            document = json.loads(body)
        except ValueError:
            raise JaegerError(f"{self.url} does not answer like Jaeger's query API "
                              f"(/api/{path} is not JSON): is it the Jaeger UI address?"
                              ) from None
        if not isinstance(document, dict) or "data" not in document:
            raise JaegerError(f"{self.url} does not answer like Jaeger's query API "
                              f"(/api/{path} has no 'data')")
        return document["data"]


class JaegerSessions:
    """The sessions stored in one Jaeger, found through its query API: a session source.

    Args:
        url: the Jaeger UI / query base URL, e.g. ``http://127.0.0.1:16686``.
        timeout: seconds for each HTTP request.
    """

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.api = JaegerQueryAPI(url, timeout=timeout)
        self.description = self.api.description
        self._found: dict[str, list[SpanRecord]] = {}  # by find, for load: no second fetch

    # --- questions (cli/sources.py SessionSource) -----------------------------------------
    def list(self, session_filter: SessionFilter, limit: int | None) -> SessionPage:
        """The newest matching sessions, at most ``limit``, and how many matched.

        Jaeger answers at most so many traces per query; when a service reaches that, the
        page's ``note`` says the count covers only the traces Jaeger returned.
        """
        tags = _filter_tags(session_filter)
        per_service = max(limit * _OVERFETCH, _MIN_FETCH) if limit else _FETCH_ALL
        found: dict[str, SessionSummary] = {}
        capped = []
        for service in self.api.services():
            traces = self.api.find_traces(service, tags, per_service, session_filter)
            if len(traces) >= per_service:
                capped.append(service)
            for trace in traces:
                spans = _trace_spans(trace)
                summary = summarize(spans)
                if summary.session_id and session_filter.matches(summary):
                    found.setdefault(summary.trace_id, summary)
        ordered = sorted(found.values(), key=lambda s: s.start_ns, reverse=True)
        note = ""
        if capped:
            note = (f"Jaeger returned its limit of {per_service:,} traces for "
                    f"{', '.join(map(repr, capped))}: sessions in older traces are not counted "
                    "(--since and --until narrow the search).")
        return SessionPage(ordered[:limit] if limit else ordered, len(ordered), note)

    def find(self, id_prefix: str) -> SessionSummary:
        """The session whose id (or trace id) is ``id_prefix``, whole: Jaeger matches whole
        values only.

        Raises:
            SessionNotFound: no session has that id, or the trace is not a session.
            JaegerError: Jaeger did not answer as its query API does.
        """
        session_id = id_prefix.strip()
        if not session_id:
            raise SessionNotFound("empty session id")
        # The trace the id derives to (one request), the id as a trace id, and last a tag
        # search: a session begun inside another trace keeps that trace's id.
        spans = self.api.trace(f"{trace_id_for(session_id):032x}")
        if spans is None:
            spans = self.api.trace(session_id)
        if spans is None:
            spans = self.api.trace_of_session(session_id)
        if spans is None:
            raise SessionNotFound(
                f"no session {session_id!r} in {self.description} (Jaeger matches whole "
                "ids: give the full session id or trace id)")
        summary = summarize(spans)
        if not summary.session_id:
            raise SessionNotFound(
                f"trace {summary.trace_id} in {self.description} is not a sentrial session "
                f"(none of its spans has {sc.SENTRIAL_SESSION_ID})")
        self._found[summary.trace_id] = spans
        return summary

    def load(self, summary: SessionSummary) -> StoredSession:
        """Every span of the session, in start-time order (no scores: Jaeger keeps no logs)."""
        spans = self._found.pop(summary.trace_id, None)
        if spans is None:
            spans = self.api.trace(summary.trace_id) or []
        spans.sort(key=lambda span: (span.start_ns, -span.end_ns))
        return StoredSession(summary=summary, spans=spans)


# --- Jaeger's span model -> SpanRecord --------------------------------------------------------
def span_record(span: Mapping[str, Any]) -> SpanRecord:
    """One span of Jaeger's JSON (``/api/traces``) in the store's OTLP shape."""
    tags = _tag_values(span.get("tags") or ())
    parent = next(
        (ref.get("spanID", "") for ref in span.get("references") or ()
         if ref.get("refType") == "CHILD_OF" and ref.get("traceID") == span.get("traceID")),
        "",
    )
    start_ns = int(span.get("startTime", 0)) * 1000
    status = str(tags.get(_STATUS_CODE_TAG, "")).upper()
    return SpanRecord(
        trace_id=str(span.get("traceID", "")).zfill(32),
        span_id=str(span.get("spanID", "")).zfill(16),
        parent_span_id=str(parent).zfill(16) if parent else "",
        name=str(span.get("operationName", "")),
        kind=_SPAN_KINDS.get(str(tags.get(_SPAN_KIND_TAG, "")), 0),
        start_ns=start_ns,
        end_ns=start_ns + int(span.get("duration", 0)) * 1000,
        attributes={k: v for k, v in tags.items() if k not in _NOT_ATTRIBUTES},
        status_code=STATUS_ERROR if status == "ERROR" else 0,
        status_message=str(tags.get(_STATUS_DESCRIPTION_TAG, "")),
        events=[_event(log) for log in span.get("logs") or ()],
    )


def _trace_spans(trace: Mapping[str, Any]) -> list[SpanRecord]:
    try:
        return [span_record(span) for span in trace.get("spans") or ()]
    except (AttributeError, TypeError, ValueError) as error:
        raise JaegerError(f"a trace from Jaeger is not in its query API's shape ({error})"
                          ) from None


def _event(log: Mapping[str, Any]) -> SpanEvent:
    fields = _tag_values(log.get("fields") or ())
    name = fields.pop("event", "")
    return SpanEvent(name=str(name), time_ns=int(log.get("timestamp", 0)) * 1000,
                     attributes=fields)


def _tag_values(tags: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Jaeger key/type/value triples as plain values (arrays arrive as JSON strings)."""
    values: dict[str, Any] = {}
    for tag in tags:
        value: Any = tag.get("value")
        kind = tag.get("type")
        try:
            if kind == "int64":
                value = int(value)
            elif kind == "float64":
                value = float(value)
            elif kind == "bool":
                value = value if isinstance(value, bool) else str(value).lower() == "true"
        except (TypeError, ValueError):
            pass  # shown as Jaeger gave it
        key = str(tag.get("key", ""))
        if key in _ARRAY_ATTRIBUTES and isinstance(value, str):
            value = _json_array(value)
        values[key] = value
    return values


def _json_array(text: str) -> Any:
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, list) else text


def _filter_tags(session_filter: SessionFilter) -> dict[str, str]:
    """The filters Jaeger can apply itself, as tags that the session's root span carries."""
    # A session without its root (--status open: its process was killed) has no
    # invoke_agent span to find it by: then any span of the trace.
    tags = {} if session_filter.status == STATUS_OPEN else {
        sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_AGENT}
    if session_filter.agent:
        tags[sc.GEN_AI_AGENT_NAME] = session_filter.agent
    if session_filter.user:
        tags[sc.USER_ID] = session_filter.user
    if session_filter.convo:
        tags[sc.GEN_AI_CONVERSATION_ID] = session_filter.convo
    if session_filter.status == STATUS_ABANDONED:
        tags[sc.SENTRIAL_SESSION_ABANDONED] = "true"
    return tags


def _error_detail(error: urllib.error.HTTPError) -> str:
    try:
        document = json.loads(error.read())
        errors = document.get("errors") or []
        message = errors[0].get("msg") if errors else ""
    except (ValueError, AttributeError, OSError):
        message = ""
    return f": {message}" if message else ""
