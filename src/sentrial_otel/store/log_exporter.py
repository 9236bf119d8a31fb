"""``LocalStoreLogExporter``: log records (scores) appended to the store beside the spans.

One OTLP/JSON ``resourceLogs`` line per export, in the same data files and through the same
writer as :class:`LocalStoreExporter` (appends, locking, rotation, summary sidecar), so a
score is listed with its session as soon as it is written, whichever process wrote it.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk._logs import export as _sdk_logs_export

from sentrial_otel.store.exporter import DEFAULT_MAX_FILE_BYTES, LocalStoreExporter
from sentrial_otel.store.otlp_json import document_line, encode_logs_document
from sentrial_otel.store.sidecar import score_summaries

# The SDK renamed its log exporter classes in 1.39 (LogExporter -> LogRecordExporter; logs
# are not stable there yet), and warns on the old names: take whichever it has.
LogExporterBase: Any = (
    getattr(_sdk_logs_export, "LogRecordExporter", None) or _sdk_logs_export.LogExporter
)
LogExportResult: Any = (
    getattr(_sdk_logs_export, "LogRecordExportResult", None) or _sdk_logs_export.LogExportResult
)


class LocalStoreLogExporter(LogExporterBase):  # type: ignore[misc]
    """Append log records to a local store directory, one OTLP/JSON request per line.

    Args:
        directory: the store directory (created owner-only if missing).
        max_file_bytes: as for :class:`LocalStoreExporter`.

    Raises:
        StoreError: at construction, when the directory cannot be used. ``export`` never
            raises: it logs (once) and returns a failure.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    ) -> None:
        self._writer = LocalStoreExporter(directory, max_file_bytes)
        self.directory = self._writer.directory

    def export(self, batch: Sequence[Any]) -> Any:
        """Append ``batch`` as one line. Never raises."""
        if not batch:
            return LogExportResult.SUCCESS
        try:
            document = encode_logs_document(batch)
            self._writer.write_line(document_line(document), _summaries(document))
        except Exception as error:  # noqa: BLE001 - an exporter must not raise
            self._writer.log_failure(error, "scores")
            return LogExportResult.FAILURE
        return LogExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing is buffered: every export is already written."""
        return True

    def shutdown(self) -> None:
        """Close the files; later exports fail."""
        self._writer.shutdown()


def _summaries(document: dict[str, Any]) -> list[Any] | None:
    # As for spans: without a sidecar entry, listing parses the line instead.
    try:
        return score_summaries(document)
    except Exception:  # noqa: BLE001 - an exporter must not raise
        return None
