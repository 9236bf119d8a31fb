"""``LocalStoreExporter``: spans appended to disk as OTLP/JSON lines, no collector needed.

Several processes may append to one store at once. Each export is one ``os.write`` of a
whole line on an ``O_APPEND`` descriptor, so lines never interleave. Rotation renames the
active file; writers hold a shared ``flock`` on the store's lock file while they append and
the rotating writer holds it exclusively, so no line lands in a file after it was rotated
out (a writer notices the rename by the inode and reopens).

After each data line, the same critical section appends the batch's per-trace summaries
to the data file's sidecar (``sidecar.py``), so ``sessions list`` reads summaries instead
of parsing spans. The sidecar is renamed with its data file; losing an entry (a crash
between the two writes) only makes listing parse that line.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from sentrial_otel.store.layout import (
    ACTIVE_FILE,
    DIR_MODE,
    INDEX_DIR,
    LOCK_FILE,
    open_private,
    prepare_directory,
    rotated_name,
)
from sentrial_otel.store.otlp_json import encode_line
from sentrial_otel.store.sessions import SessionSummary
from sentrial_otel.store.sidecar import (
    batch_summaries,
    encode_entry,
    rename_with,
    sidecar_path,
)

# In the package's logger tree, which the docs and users configure (see misuse.py).
logger = logging.getLogger("sentrial.store")

DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024


class LocalStoreExporter(SpanExporter):
    """Append spans to a local store directory, one OTLP/JSON request per line.

    The lines are those of the OpenTelemetry Collector's ``file`` exporter, so the
    collector's ``otlpjsonfile`` receiver can read the files, and ``sentrial-otel`` can
    list, replay and export them.

    Args:
        directory: the store directory; created owner-only (0o700) if missing.
        max_file_bytes: the active file is rotated once it reaches this size.

    Raises:
        StoreError: at construction, when the directory is a symlink, not a directory
            or not writable. ``export`` itself never raises: it logs (once) and returns
            ``SpanExportResult.FAILURE``.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    ) -> None:
        if max_file_bytes <= 0:
            raise ValueError("max_file_bytes must be positive")
        self.directory: Path = prepare_directory(directory)
        self.max_file_bytes = max_file_bytes
        self._active_path = self.directory / ACTIVE_FILE
        self._lock_path = self.directory / LOCK_FILE
        self._thread_lock = threading.Lock()
        self._fd: int | None = None
        self._sidecar_fd: int | None = None
        self._lock_fd: int | None = None
        self._shutdown = False
        self._failure_logged = False

    # --- SpanExporter -------------------------------------------------------------------
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Append ``spans`` as one line. Never raises."""
        if self._shutdown:
            return SpanExportResult.FAILURE
        if not spans:
            return SpanExportResult.SUCCESS
        try:
            self.write_line(encode_line(spans), self._summaries(spans))
        except Exception as error:  # noqa: BLE001 - an exporter must not raise
            self.log_failure(error)
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def write_line(self, line: bytes, summaries: list[SessionSummary] | None) -> None:
        """Append one encoded store line and its summaries (the log exporter's way in).

        Raises ``OSError`` when it cannot be written.
        """
        with self._thread_lock:
            if self._shutdown:
                raise OSError("the local store exporter is shut down")
            self._append(line, summaries)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Nothing is buffered: every export is already written to the file."""
        return True

    def shutdown(self) -> None:
        """Close the files; later exports fail."""
        with self._thread_lock:
            self._shutdown = True
            for fd in (self._fd, self._sidecar_fd, self._lock_fd):
                if fd is not None:
                    try:
                        os.close(fd)
                    except OSError:
                        pass
            self._fd = self._sidecar_fd = self._lock_fd = None

    # --- internals ----------------------------------------------------------------------
    def _summaries(self, spans: Sequence[ReadableSpan]) -> list[SessionSummary] | None:
        # Summing up must never cost the spans themselves: without an entry, listing
        # parses the line instead.
        try:
            return batch_summaries(spans)
        except Exception as error:  # noqa: BLE001 - an exporter must not raise
            logger.debug("sentrial: could not summarise spans for the local store: %s", error)
            return None

    def _append(self, line: bytes, summaries: list[SessionSummary] | None) -> None:
        with self._flock(fcntl.LOCK_SH):
            fd = self._active_fd()
            written = os.write(fd, line)
            if written != len(line):
                raise OSError(f"short write to {self._active_path}: {written}/{len(line)}")
            # With O_APPEND the kernel placed our line at the end, atomically, and left our
            # offset just past it: that is where our line ends, whoever else is appending.
            end = os.lseek(fd, 0, os.SEEK_CUR)
            if summaries is not None:
                self._append_summaries(end - len(line), len(line), summaries)
            size = os.fstat(fd).st_size
        if size >= self.max_file_bytes:
            self._rotate()

    def _append_summaries(self, offset: int, length: int, summaries: list[SessionSummary]) -> None:
        # The spans are stored already; a missing entry only costs listing a parse of this
        # line, so a failure here must not fail the export.
        try:
            if self._sidecar_fd is None:
                path = sidecar_path(self._active_path)
                path.parent.mkdir(mode=DIR_MODE, exist_ok=True)
                self._sidecar_fd = open_private(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
            os.write(self._sidecar_fd, encode_entry(offset, length, summaries))
        except OSError as error:
            logger.debug("sentrial: could not append session summaries to the store: %s", error)

    def _active_fd(self) -> int:
        """Our descriptor on the active file, reopened if another writer rotated it.

        The sidecar descriptor follows it: both files are renamed together.
        """
        if self._fd is not None:
            try:
                current = os.stat(self._active_path)
                if current.st_ino == os.fstat(self._fd).st_ino:
                    return self._fd
            except FileNotFoundError:
                pass
            self._close_active()
        self._fd = open_private(self._active_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        return self._fd

    def _close_active(self) -> None:
        for fd in (self._fd, self._sidecar_fd):
            if fd is not None:
                os.close(fd)
        self._fd = self._sidecar_fd = None

    def _rotate(self) -> None:
        with self._flock(fcntl.LOCK_EX):
            try:
                size = os.stat(self._active_path).st_size
            except FileNotFoundError:
                return
            if size < self.max_file_bytes:
                return  # another writer rotated it first
            target = rotated_name(self.directory)
            os.rename(self._active_path, target)
            # Carry the file's summaries along so they need not be rebuilt.
            rename_with(self._active_path, target)
            index_dir = self.directory / INDEX_DIR
            try:
                os.replace(index_dir / f"{ACTIVE_FILE}.json", index_dir / f"{target.name}.json")
            except OSError:
                pass
            self._close_active()

    @contextmanager
    def _flock(self, mode: int) -> Iterator[None]:
        if self._lock_fd is None:
            self._lock_fd = open_private(self._lock_path, os.O_RDWR | os.O_CREAT)
        fcntl.flock(self._lock_fd, mode)
        try:
            yield
        finally:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def log_failure(self, error: BaseException, what: str = "spans") -> None:
        """Log a failed write: once as a warning, then at debug level."""
        if not self._failure_logged:
            self._failure_logged = True
            logger.warning(
                "sentrial: could not write %s to the local store %s: %s "
                "(further failures are logged at debug level)",
                what,
                self.directory,
                error,
            )
        else:
            logger.debug("sentrial: local store export failed: %s", error)
