"""Reading a store back: every file in write order, one line at a time.

Memory stays bounded by the largest line (one export batch), whatever the store's size.
A line a writer was cut off in the middle of (a crash, a full disk) is skipped; if a later
writer appended after such a fragment, the whole request at the end of that line is still
recovered. Skipped lines are reported in ONE warning per reader.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)

from sentrial_otel.store.layout import data_files
from sentrial_otel.store.otlp_json import document_to_request, iter_span_dicts
from sentrial_otel.store.records import SpanRecord

# In the package's logger tree, which the docs and users configure (see misuse.py).
logger = logging.getLogger("sentrial.store")

_REQUEST_STARTS = (b'{"resourceSpans"', b'{"resourceLogs"')


class StoreReader:
    """Streams the spans of a store directory.

    Args:
        directory: the store directory (a missing one reads as empty).
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.skipped_lines = 0
        self.complete_offset = 0
        """After :meth:`documents`: the byte offset just past the file's last whole line."""
        self._warned = False

    def files(self) -> list[Path]:
        """The store's data files, oldest first."""
        return data_files(self.directory)

    def documents(
        self, path: Path, start: int = 0, must_contain: bytes | None = None
    ) -> Iterator[tuple[dict[str, Any], int]]:
        """Each complete line of ``path`` from byte ``start`` on, parsed as JSON.

        Yields ``(document, offset after the line)``. Lines that cannot be parsed are
        skipped and counted; see :meth:`finish`. With ``must_contain``, lines without
        those bytes are passed over unparsed (a cheap pre-filter, e.g. on a trace id).
        """
        self.complete_offset = start
        try:
            handle = open(path, "rb")  # noqa: SIM115 - closed below, generator
        except FileNotFoundError:
            return  # rotated or removed since it was listed
        with handle:
            handle.seek(start)
            offset = start
            for line in handle:
                offset += len(line)
                if not line.endswith(b"\n"):
                    self._skip()  # torn last line: a writer stopped mid-line
                    break
                self.complete_offset = offset
                if must_contain is not None and must_contain not in line:
                    continue
                document = _parse(line)
                if document is None:
                    self._skip()
                    continue
                yield document, offset

    def span_records(self) -> Iterator[SpanRecord]:
        """Every span of the store as a :class:`SpanRecord`, in write order."""
        for path in self.files():
            for document, _ in self.documents(path):
                for span in iter_span_dicts(document):
                    yield SpanRecord.from_dict(span)
        self.finish()

    def requests(self) -> Iterator[ExportTraceServiceRequest]:
        """Every span line of the store decoded as an ``ExportTraceServiceRequest``."""
        for path in self.files():
            for document, _ in self.documents(path):
                if "resourceSpans" in document:  # not a line of scores (log records)
                    yield document_to_request(document)
        self.finish()

    def finish(self) -> None:
        """Log the one warning about skipped lines, if any were skipped."""
        if self.skipped_lines and not self._warned:
            self._warned = True
            logger.warning(
                "sentrial: skipped %d incomplete or corrupt line(s) in the store %s "
                "(a writer was probably interrupted mid-write); the rest was read",
                self.skipped_lines,
                self.directory,
            )

    def _skip(self) -> None:
        self.skipped_lines += 1


def ends_a_line(path: Path, offset: int) -> bool:
    """Whether the byte just before ``offset`` is a newline (offset 0 always is).

    What summaries of a file's first ``offset`` bytes rest on: a file emptied, cut or
    rewritten since they were made rarely keeps a line end at exactly that place.
    """
    if offset <= 0:
        return offset == 0
    try:
        with open(path, "rb") as handle:
            handle.seek(offset - 1)
            return handle.read(1) == b"\n"
    except OSError:
        return False


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        document = json.loads(line)
    except ValueError:
        # A fragment left by an interrupted writer, followed by a whole request that a
        # later writer appended: recover that request.
        start = max(line.rfind(marker) for marker in _REQUEST_STARTS)
        if start <= 0:
            return None
        try:
            document = json.loads(line[start:])
        except ValueError:
            return None
    return document if isinstance(document, dict) else None
