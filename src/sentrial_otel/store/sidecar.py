"""The summary sidecar: session summaries kept by the writers, so listing need not parse spans.

``LocalStoreExporter`` already holds the spans of each batch it appends, so it sums them up
per trace (a partial :class:`SessionSummary` each) and appends one sidecar line per data
line, to ``.summaries/<data file>``::

    [offset of the data line, its length, [summary row, ...]]

The byte range is what makes the sidecar trustworthy without any coordination: listing
uses the rows of the entries that tile the data file from byte 0 without a hole, and parses
only the data past that point. Holes appear when a line has no entry: a writer crashed
between its two writes, an older sentrial-otel or the collector's file exporter wrote it,
or the entry itself was torn. Entries after a hole are ignored (their data is parsed
instead), so no span is ever counted twice.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

from sentrial_otel import semconv as sc
from sentrial_otel.store.layout import SUMMARY_DIR
from sentrial_otel.store.records import STATUS_ERROR, SpanEvent, SpanRecord
from sentrial_otel.store.scores import iter_scores
from sentrial_otel.store.sessions import SessionSummary


def sidecar_path(data_file: Path) -> Path:
    """Where the summaries of ``data_file`` are kept."""
    return data_file.parent / SUMMARY_DIR / data_file.name


# --- writing -----------------------------------------------------------------------------
def batch_summaries(spans: Sequence[ReadableSpan]) -> list[SessionSummary]:
    """The partial summary of each trace in one export batch."""
    by_trace: dict[int, SessionSummary] = {}
    for span in spans:
        context = span.get_span_context()
        trace_id = context.trace_id if context else 0
        summary = by_trace.get(trace_id)
        if summary is None:
            summary = by_trace[trace_id] = SessionSummary(f"{trace_id:032x}")
        summary.add_span(_summary_view(span))
    return list(by_trace.values())


def score_summaries(document: dict[str, Any]) -> list[SessionSummary]:
    """The partial summary of each trace scored in one stored logs document."""
    by_trace: dict[str, SessionSummary] = {}
    for score in iter_scores(document):
        summary = by_trace.get(score.trace_id)
        if summary is None:
            summary = by_trace[score.trace_id] = SessionSummary(score.trace_id)
        summary.add_score(score)
    return list(by_trace.values())


def _summary_view(span: ReadableSpan) -> SpanRecord:
    # Only what SessionSummary.add_span reads (no hex ids, and events only on a root with
    # findings): this runs in the export thread for every span. A plain dict of the
    # attributes reads faster than the SDK's BoundedAttributes, which add_span queries a
    # dozen times.
    parent = span.parent
    attributes = dict(span.attributes) if span.attributes else {}
    events = []
    if sc.SENTRIAL_SESSION_ISSUES in attributes:
        events = [SpanEvent(event.name, event.timestamp, dict(event.attributes or {}))
                  for event in span.events if event.name == sc.SENTRIAL_ISSUE_EVENT]
    return SpanRecord(
        trace_id="",
        span_id="",
        parent_span_id=f"{parent.span_id:016x}" if parent else "",
        name=span.name,
        kind=0,
        start_ns=span.start_time or 0,
        end_ns=span.end_time or 0,
        attributes=attributes,
        status_code=STATUS_ERROR if span.status.status_code is StatusCode.ERROR else 0,
        events=events,
    )


def encode_entry(offset: int, length: int, summaries: Iterable[SessionSummary]) -> bytes:
    """One sidecar line for the data line at ``offset`` of ``length`` bytes."""
    rows = [summary.to_row(with_files=False) for summary in summaries]
    return json.dumps([offset, length, rows], separators=(",", ":")).encode() + b"\n"


# --- reading -----------------------------------------------------------------------------
def read_covered(data_file: Path) -> tuple[int, list[list[Any]]]:
    """``(end, rows)``: the rows of the entries tiling ``data_file`` from byte 0 up to ``end``.

    ``(0, [])`` when there is no sidecar, or when entries overlap: two lines cannot share
    bytes, so the data file was emptied and written again and the sidecar describes lines
    that are gone. Read this BEFORE looking at the data file's size: an entry is written
    after its data line, so every entry read then has its data on disk.
    """
    entries: list[tuple[int, int, list[list[Any]]]] = []
    try:
        with open(sidecar_path(data_file), "rb") as handle:
            for line in handle:
                entry = _parse_entry(line)
                if entry is not None:
                    entries.append(entry)
    except OSError:
        return 0, []
    # Concurrent writers append entries in the order they finish, not in data order.
    entries.sort(key=lambda entry: entry[0])
    end = 0
    rows: list[list[Any]] = []
    for offset, length, entry_rows in entries:
        if offset < end:
            return 0, []  # overlapping entries: stale, see above
        if offset != end:
            break  # a hole: the data from here on is parsed instead
        end += length
        rows.extend(entry_rows)
    return end, rows


def _parse_entry(line: bytes) -> tuple[int, int, list[list[Any]]] | None:
    if not line.endswith(b"\n"):
        return None  # torn by a crash mid-write: its data line counts as a hole
    try:
        offset, length, rows = json.loads(line)
    except (ValueError, TypeError):
        return None
    if not (isinstance(offset, int) and isinstance(length, int) and isinstance(rows, list)):
        return None
    return offset, length, rows


def rename_with(data_file: Path, target: Path) -> None:
    """Move the sidecar of ``data_file`` along with it (at rotation); missing is fine."""
    try:
        os.replace(sidecar_path(data_file), sidecar_path(target))
    except OSError:
        pass
