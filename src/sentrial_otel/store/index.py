"""The reader-built session index: one summary row per session per data file.

The fallback for data files whose writer kept no complete summary sidecar
(``sidecar.py``): files written by an older sentrial-otel or by the collector's file
exporter. Parsing every span of such a file is slow, so the first listing that does it
saves ``.index/<file>.json``: the file's inode, how many bytes of it the rows cover, and
one :class:`SessionSummary` row per trace in those bytes. A file that only grew (the
active file) is indexed incrementally from the covered offset; a file whose inode changed,
that shrank, or that no longer has a line end where the index stopped (rewritten in place)
is re-indexed from the start.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sentrial_otel.store.layout import DIR_MODE, INDEX_DIR, open_private
from sentrial_otel.store.otlp_json import iter_span_dicts
from sentrial_otel.store.reader import StoreReader, ends_a_line
from sentrial_otel.store.records import SpanRecord
from sentrial_otel.store.scores import iter_scores
from sentrial_otel.store.sessions import ROW_FIELDS, SessionSummary

# In the package's logger tree, which the docs and users configure (see misuse.py).
logger = logging.getLogger("sentrial.store")

INDEX_VERSION = 3  # 2: rows of sessions without a stored root name their agent; 3: issues, scores

ParseProgress = Callable[[str, int, int], None]
"""Told ``(data file name, bytes parsed, bytes to parse)`` as a file without summaries is
parsed (the slow first listing of a store the writers kept no summaries for)."""


def _index_path(data_file: Path) -> Path:
    return data_file.parent / INDEX_DIR / f"{data_file.name}.json"


def _load(index_file: Path) -> dict[str, Any] | None:
    try:
        with open(index_file, "rb") as handle:
            index = json.load(handle)
    except (OSError, ValueError):
        return None
    if (
        not isinstance(index, dict)
        or index.get("version") != INDEX_VERSION
        or index.get("fields") != list(ROW_FIELDS)
    ):
        return None
    return index


def _save(index_file: Path, inode: int, covered: int, rows: Iterable[list[Any]]) -> None:
    """Write atomically (temp file + rename); a read-only store simply stays unindexed."""
    try:
        index_file.parent.mkdir(mode=DIR_MODE, exist_ok=True)
        temporary = index_file.with_name(f"{index_file.name}.{os.getpid()}.tmp")
        fd = open_private(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(
                {
                    "version": INDEX_VERSION,
                    "fields": list(ROW_FIELDS),
                    "inode": inode,
                    "covered": covered,
                    "rows": list(rows),
                },
                handle,
                separators=(",", ":"),
            )
        os.replace(temporary, index_file)
    except OSError as error:
        logger.debug("sentrial: could not save the session index %s: %s", index_file, error)


def summarize_spans(
    reader: StoreReader,
    data_file: Path,
    start: int,
    summaries: dict[str, SessionSummary],
    progress: ParseProgress | None = None,
) -> None:
    """Parse ``data_file`` from byte ``start`` on, folding each span and score into
    ``summaries``."""
    name = data_file.name
    to_parse = max(0, _size(data_file) - start) if progress else 0

    def summary_of(trace_id: str) -> SessionSummary:
        known = summaries.get(trace_id)
        if known is None:
            known = summaries[trace_id] = SessionSummary(trace_id, files=[name])
        return known

    for document, offset in reader.documents(data_file, start):
        for span_dict in iter_span_dicts(document):
            span = SpanRecord.from_dict(span_dict)
            summary_of(span.trace_id).add_span(span)
        for score in iter_scores(document):
            summary_of(score.trace_id).add_score(score)
        if progress:
            progress(name, offset - start, to_parse)


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def file_summaries(
    reader: StoreReader, data_file: Path, progress: ParseProgress | None = None
) -> dict[str, SessionSummary]:
    """The per-trace summaries of one data file, from its index (updated if stale)."""
    try:
        info = os.stat(data_file)
    except FileNotFoundError:
        return {}
    index_file = _index_path(data_file)
    index = _load(index_file)
    name = data_file.name
    summaries: dict[str, SessionSummary] = {}
    start = 0
    if (
        index is not None
        and index["inode"] == info.st_ino
        and index["covered"] <= info.st_size
        and ends_a_line(data_file, index["covered"])  # not cut or rewritten in place
    ):
        for row in index["rows"]:
            summary = SessionSummary.from_row(row)
            # The index may have been renamed along with its file at rotation.
            summary.files = [name]
            summaries[summary.trace_id] = summary
        start = index["covered"]
        if start == info.st_size:
            return summaries

    summarize_spans(reader, data_file, start, summaries, progress)
    if reader.complete_offset != start or index is None:
        _save(index_file, info.st_ino, reader.complete_offset,
              (summary.to_row() for summary in summaries.values()))
    return summaries
