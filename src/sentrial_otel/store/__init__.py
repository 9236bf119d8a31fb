"""The local session store: OTLP/JSON lines on disk, readable by the collector and the CLI.

Writing: :class:`LocalStoreExporter` (a ``SpanExporter``) and
:class:`LocalStoreLogExporter` (scores, log records, into the same files). Reading: :class:`StoreReader`
streams requests or :class:`SpanRecord` s; :func:`list_sessions`, :func:`find_session`
and :func:`load_session` answer the CLI's questions from per-file session summaries,
kept by the writers (``sidecar.py``) or, for files without them, by the reader
(``index.py``).
"""

from sentrial_otel.store.exporter import DEFAULT_MAX_FILE_BYTES, LocalStoreExporter
from sentrial_otel.store.layout import StoreError, data_files
from sentrial_otel.store.log_exporter import LocalStoreLogExporter
from sentrial_otel.store.listing import load_summaries
from sentrial_otel.store.otlp_json import decode_line, encode_line
from sentrial_otel.store.query import (
    SessionNotFound,
    SessionPage,
    find_session,
    list_page,
    list_sessions,
    load_session,
    requests_for_traces,
)
from sentrial_otel.store.reader import StoreReader
from sentrial_otel.store.records import SpanEvent, SpanRecord
from sentrial_otel.store.scores import StoredScore
from sentrial_otel.store.sessions import (
    STATUSES,
    Finding,
    SessionFilter,
    SessionSummary,
    StoredSession,
    parse_time,
)

__all__ = [
    "DEFAULT_MAX_FILE_BYTES",
    "STATUSES",
    "Finding",
    "LocalStoreExporter",
    "LocalStoreLogExporter",
    "SessionFilter",
    "SessionNotFound",
    "SessionPage",
    "SessionSummary",
    "SpanEvent",
    "SpanRecord",
    "StoreError",
    "StoreReader",
    "StoredScore",
    "StoredSession",
    "data_files",
    "decode_line",
    "encode_line",
    "find_session",
    "list_page",
    "list_sessions",
    "load_session",
    "load_summaries",
    "parse_time",
    "requests_for_traces",
]
