"""Every session of a store, summed up, from the cheapest source each data file offers.

1. The writers' summary sidecar (``sidecar.py``): no span is parsed. Whatever data the
   sidecar does not cover yet (lines in flight, or left by a crash) is parsed when small.
2. Otherwise the reader-built index (``index.py``): for files written by an older
   sentrial-otel or the collector's file exporter. Built once, then incremental.

A session may straddle files, so the per-file partial summaries are merged per trace.
"""

from __future__ import annotations

import heapq
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from sentrial_otel.store.index import ParseProgress, file_summaries, summarize_spans
from sentrial_otel.store.reader import StoreReader, ends_a_line
from sentrial_otel.store.sessions import ROW_FIELDS, SessionFilter, SessionSummary
from sentrial_otel.store.sidecar import read_covered

# Beyond this many uncovered bytes, parsing them on every listing would cost more than
# building (once) the reader index of the whole file. In-flight lines are far smaller.
TAIL_PARSE_LIMIT = 1024 * 1024

# Row positions of the strings shared by many sessions, interned to one object each
# (json.loads makes a fresh copy per row: ~50 bytes a field a session).
_SHARED_STRINGS = tuple(ROW_FIELDS.index(name) for name in ("agent", "user", "convo",
                                                             "root_status"))


def load_summaries(
    directory: str | os.PathLike[str], progress: ParseProgress | None = None
) -> list[SessionSummary]:
    """Every session of the store, one merged summary each, oldest start first."""
    return sorted(_merged(directory, progress).values(), key=_age)


def select_summaries(
    directory: str | os.PathLike[str],
    session_filter: SessionFilter,
    limit: int | None = None,
    progress: ParseProgress | None = None,
) -> tuple[list[SessionSummary], int]:
    """The matching sessions, newest first, and how many matched in all: filtered before
    sorting, and only ``limit`` of them kept (a heap, not a sort of the whole store)."""
    matching = [s for s in _merged(directory, progress).values() if session_filter.matches(s)]
    if limit is None:
        return sorted(matching, key=_age, reverse=True), len(matching)
    return heapq.nlargest(limit, matching, key=_age), len(matching)


def _age(summary: SessionSummary) -> tuple[int, str]:
    return summary.start_ns, summary.trace_id


def _merged(
    directory: str | os.PathLike[str], progress: ParseProgress | None
) -> dict[str, SessionSummary]:
    reader = StoreReader(directory)
    merged: dict[str, SessionSummary] = {}
    for data_file in reader.files():
        for summary in _file_summaries(reader, data_file, progress):
            existing = merged.get(summary.trace_id)
            if existing is None:
                merged[summary.trace_id] = summary
            else:
                existing.merge(summary)
    reader.finish()
    # Scores of a session none of whose spans are stored (sent elsewhere, or not yet
    # exported) stay on disk, but there is no session here to list. Dropped in place: a
    # filtered copy of 100,000 entries would cost megabytes at the peak.
    for trace_id in [trace_id for trace_id, summary in merged.items() if not summary.span_count]:
        del merged[trace_id]
    return merged


def _file_summaries(
    reader: StoreReader, data_file: Path, progress: ParseProgress | None
) -> Iterable[SessionSummary]:
    covered, rows = read_covered(data_file)  # first: see read_covered
    try:
        size = os.stat(data_file).st_size
    except FileNotFoundError:
        return ()  # rotated or removed since it was listed
    if (
        covered == 0
        or size - covered > TAIL_PARSE_LIMIT
        # Emptied, cut or rewritten since the writers summed it up: the summaries are of
        # spans that are gone. The reader index re-reads what the file holds now.
        or covered > size
        or not ends_a_line(data_file, covered)
    ):
        return file_summaries(reader, data_file, progress).values()
    files = [data_file.name]  # shared: merge() builds a new list, never appends
    summaries: dict[str, SessionSummary] = {}
    for summary in _from_rows(rows, files):
        known = summaries.get(summary.trace_id)
        if known is None:
            summaries[summary.trace_id] = summary
        else:
            known.merge(summary)
    if size > covered:
        summarize_spans(reader, data_file, covered, summaries, progress)
    return summaries.values()


def _from_rows(rows: list[list[Any]], files: list[str]) -> Iterator[SessionSummary]:
    intern = sys.intern
    for row in rows:
        for position in _SHARED_STRINGS:
            value = row[position]
            if isinstance(value, str):
                row[position] = intern(value)
        summary = SessionSummary.from_row(row)
        summary.files = files
        yield summary
