"""Getting spans out of the process without ever holding up the agent.

The SDK's BatchSpanProcessor logs one warning per dropped span when its queue is full (log
spam exactly when things are already bad) and gives shutdown 30 s by default. This batch
processor keeps the same shape (bounded queue, worker thread, batches) and adds what an
agent needs: drops counted and reported once, a bounded shutdown budget after which
in-flight retries are abandoned, and a readable summary of what was not delivered.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from opentelemetry.context import Context, attach, detach, set_value
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from sentrial_otel._internal.errors import handle_internal_errors
from sentrial_otel._internal.forksafe import in_fork_children
from sentrial_otel._internal.export.send_thread import SendThread
from sentrial_otel._internal.logs import logger

try:  # the key moved between OpenTelemetry releases
    from opentelemetry.context import _SUPPRESS_INSTRUMENTATION_KEY
except ImportError:  # pragma: no cover
    _SUPPRESS_INSTRUMENTATION_KEY = "suppress_instrumentation"  # type: ignore[assignment]


# Shutdown must not raise; what fails there is worth a debug line only.
_QUIET_SHUTDOWN = handle_internal_errors("a delivery shutdown step", level=logging.DEBUG)
WORKER_THREAD_PREFIX = "sentrial-otel-"
_WORKER_THREAD_NAME = WORKER_THREAD_PREFIX + "delivery"
_SEND_THREAD_NAME = WORKER_THREAD_PREFIX + "delivery-send"
# The OTLP exporters log a warning per retry of every batch; while the collector is down
# that is a line every second or two. Inside our own export calls those lines are replaced
# by our once-only warning and the exit summary (sentrial at DEBUG level lets them through).
_EXPORTER_LOGGERS = (
    "opentelemetry.exporter.otlp.common.http",
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.http.metric_exporter",
    "opentelemetry.exporter.otlp.proto.http._log_exporter",
    "opentelemetry.exporter.otlp.proto.http._common",
    "opentelemetry.exporter.otlp.proto.grpc.exporter",
    "opentelemetry.exporter.otlp.proto.grpc.trace_exporter",
    "opentelemetry.exporter.otlp.proto.grpc.metric_exporter",
    "opentelemetry.exporter.otlp.proto.grpc._log_exporter",
    "opentelemetry.exporter.otlp.proto.common._internal",
    "opentelemetry.sdk.metrics._internal.export",
)
_inside_our_export = threading.local()
# What both OTLP encoders (the SDK's and otlp_encoding.py) log for an attribute they leave out.
_LEFT_OUT_ATTRIBUTE = "Failed to encode key %s: %s"


class _QuietOurExportsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        ours = getattr(_inside_our_export, "active", False)
        if ours and record.msg == _LEFT_OUT_ATTRIBUTE and isinstance(record.args, tuple):
            # An attribute left out of its span, the export going on: said by the processor
            # once (left_out_attribute), not taken for the reason of a failed export.
            _inside_our_export.left_out = record.args
        elif ours and record.levelno >= logging.ERROR:
            # Why the export failed, for our own once-only warning (see failure_reason).
            _inside_our_export.last_error = record.getMessage()
        return not ours or logger.isEnabledFor(logging.DEBUG)


_QUIET_FILTER = _QuietOurExportsFilter()
# What the OTLP exporters log when the collector refuses the credentials.
_REFUSED_MARKERS = ("code: 401", "code: 403", "UNAUTHENTICATED", "PERMISSION_DENIED")


def failure_reason() -> str:
    """Why the last export on this thread failed, as text for our warning ("" if unknown);
    a refused API key is said in so many words."""
    reason = getattr(_inside_our_export, "last_error", "")
    _inside_our_export.last_error = ""
    if not reason:
        return ""
    if any(marker in reason for marker in _REFUSED_MARKERS):
        return f" (the collector refused the API key: {reason})"
    return f" ({reason})"


def left_out_attribute() -> tuple | None:
    """(key, error) of the last attribute an encoder left out on this thread, if any."""
    left_out = getattr(_inside_our_export, "left_out", None)
    _inside_our_export.left_out = None
    return left_out


def quiet_exporter_logs() -> None:
    """Install the filter (once) on the exporters' loggers."""
    for name in _EXPORTER_LOGGERS:
        target = logging.getLogger(name)
        if _QUIET_FILTER not in target.filters:
            # First in line: the SDK's DuplicateFilter on the same logger would hide a trace
            # export's error that repeats a metrics export's (same format string) from us.
            target.filters.insert(0, _QUIET_FILTER)


@contextlib.contextmanager
def our_export() -> Iterator[None]:
    """Mark this thread as inside one of our exports, and keep other instrumentation out."""
    previous = getattr(_inside_our_export, "active", False)
    _inside_our_export.active = True
    token = attach(set_value(_SUPPRESS_INSTRUMENTATION_KEY, True))
    try:
        yield
    finally:
        detach(token)
        _inside_our_export.active = previous


def _failed_export() -> SpanExportResult:
    return SpanExportResult.FAILURE


@dataclass
class DeliveryStats:
    """Counts of what happened to the spans handed to one processor."""

    queued: int = 0
    exported: int = 0
    failed: int = 0
    dropped_queue_full: int = 0
    dropped_after_shutdown: int = 0
    abandoned_at_shutdown: int = 0
    # Root spans of sessions still open at exit that the exit budget did not reach.
    not_ended_at_exit: int = 0

    @property
    def undelivered(self) -> int:
        return (
            self.failed
            + self.dropped_queue_full
            + self.dropped_after_shutdown
            + self.abandoned_at_shutdown
            + self.not_ended_at_exit
        )

    def summary(self) -> str:
        parts = [f"{self.exported} delivered"]
        if self.failed:
            parts.append(f"{self.failed} failed to export")
        if self.dropped_queue_full:
            parts.append(f"{self.dropped_queue_full} dropped (queue full)")
        if self.abandoned_at_shutdown:
            parts.append(f"{self.abandoned_at_shutdown} still queued at shutdown")
        if self.dropped_after_shutdown:
            parts.append(f"{self.dropped_after_shutdown} ended after shutdown")
        if self.not_ended_at_exit:
            parts.append(f"{self.not_ended_at_exit} sessions not ended within the exit budget")
        return ", ".join(parts)


class DeliveryProcessor(SpanProcessor):
    """A batching span processor with counted drops and a bounded shutdown."""

    def __init__(
        self,
        exporter: SpanExporter,
        *,
        destination: str,
        schedule_delay_s: float = 5.0,
        max_export_batch_size: int = 512,
        max_queue_size: int = 2048,
        shutdown_timeout_s: float = 5.0,
        on_undelivered: Callable[[DeliveryStats, str], None] | None = None,
    ) -> None:
        """``on_undelivered(stats, destination)`` is called once, at shutdown, when some
        spans were not delivered (after the warning; its errors are ignored)."""
        self.exporter = exporter
        # An exporter that can encode a batch ahead of sending it (otlp_http.py) has its
        # requests sent from a second thread while the worker encodes the next batch.
        self._prepare_export = getattr(exporter, "prepare_export", None)
        self._sender: SendThread | None = None
        self._on_undelivered = on_undelivered
        self.destination = destination
        self.stats = DeliveryStats()
        self._delay = max(schedule_delay_s, 0.0)
        self._batch_size = max(max_export_batch_size, 1)
        self._max_queue = max(max_queue_size, self._batch_size)
        self._shutdown_timeout = shutdown_timeout_s
        self._exit_deadline: float | None = None  # set by process/exit.py
        self._queue: collections.deque[ReadableSpan] = collections.deque()
        self._lock = threading.Lock()
        self._export_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._stopped = False
        self._in_flight = 0
        # force_flush callers waiting for the worker to export what was queued before them.
        self._flush_waiters: list[threading.Event] = []
        self._warned_full = False
        self._warned_failure = False
        self._warned_left_out = False
        quiet_exporter_logs()
        self._start_worker()
        # A forked child (gunicorn --preload, multiprocessing) inherits the queue but not the
        # worker thread: give it a fresh one and an empty queue.
        in_fork_children(self, DeliveryProcessor._after_fork)

    def _start_worker(self) -> None:
        if callable(self._prepare_export):
            self._sender = SendThread(_SEND_THREAD_NAME)
        self._worker = threading.Thread(target=self._run, name=_WORKER_THREAD_NAME, daemon=True)
        self._worker.start()

    def _after_fork(self) -> None:
        self._lock = threading.Lock()
        self._export_lock = threading.Lock()
        self._wake = threading.Event()
        self._queue.clear()
        self._in_flight = 0
        self._flush_waiters = []
        self.stats = DeliveryStats()
        self._sender = None  # the parent's send thread did not survive the fork either
        if not self._stopping:
            self._start_worker()

    # --- SpanProcessor -------------------------------------------------------------------
    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        pass

    def on_end(self, span: ReadableSpan) -> None:
        context = span.context
        if context is not None and not context.trace_flags.sampled:
            return
        warn = full_batch = False
        with self._lock:
            if self._stopping:
                self.stats.dropped_after_shutdown += 1
                return
            queue = self._queue
            if len(queue) < self._max_queue:
                queue.append(span)
                self.stats.queued += 1
                full_batch = len(queue) >= self._batch_size
            else:
                self.stats.dropped_queue_full += 1
                warn, self._warned_full = not self._warned_full, True
        if warn:
            logger.warning(
                "sentrial: the export queue to %s is full (%d spans); new spans are dropped "
                "and counted until it drains. The summary at exit gives the total.",
                self.destination,
                self._max_queue,
            )
        elif full_batch and not self._wake.is_set():
            # Once per wake-up, not once per span: setting an Event takes its lock.
            self._wake.set()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Have the worker export everything queued so far; False if that did not finish
        within the timeout.

        The caller never exports itself, so the timeout holds even while an export attempt
        hangs on an unresponsive collector (that attempt keeps the worker busy, not the
        caller); the spans are still delivered when the worker gets through.
        """
        timeout_s = max(timeout_millis, 0) / 1000
        if self._sender is not None and threading.current_thread() is self._sender.thread:
            # From inside a send (the exporter's own code): it cannot wait for itself.
            return not self._queue and not self._in_flight
        if threading.current_thread() is self._worker or not self._worker.is_alive():
            return self._flush_here(time.monotonic() + timeout_s)
        done = threading.Event()
        with self._lock:
            if not self._queue and not self._in_flight:
                return True
            self._flush_waiters.append(done)
        self._wake.set()
        return done.wait(timeout_s)

    def _flush_here(self, deadline: float) -> bool:
        # No worker to ask (a flush from the export thread itself, or after shutdown): export
        # here, one batch at a time, once the send handed last has been answered.
        if self._sender is not None:
            if not self._sender.wait_idle(max(deadline - time.monotonic(), 0)):
                return False
        while time.monotonic() < deadline:
            if not self._export_batch(ahead=False):
                return True
        return not self._queue

    # --- at process exit (process/exit.py) -----------------------------------------------
    def make_room(self, spans: int) -> None:
        """Let the queue take ``spans`` more: the roots of the sessions ended at exit are
        never dropped for a full queue (they exist already; the budget bounds the wait)."""
        with self._lock:
            self._max_queue += max(spans, 0)

    def wait_for_queue(self) -> None:
        """Return once no other code holds the queue's lock."""
        with self._lock:
            pass

    def finish_by(self, deadline: float) -> None:
        """Make :meth:`shutdown` end by this ``time.monotonic()`` deadline, the exit's."""
        self._exit_deadline = deadline

    def shutdown(self) -> None:
        """Deliver what is queued within the budget, then give up on the rest."""
        if self._stopping:
            return
        deadline = time.monotonic() + self._shutdown_timeout
        if self._exit_deadline is not None:
            deadline = min(deadline, self._exit_deadline)
        self._stopping = True
        self._wake.set()
        # The worker drains the queue until the deadline.
        self._worker.join(max(deadline - time.monotonic(), 0))
        with self._lock:
            # Still queued, plus the batches taken from the queue and not yet answered (one
            # encoded and waiting, one whose request is still retrying: it is aborted below);
            # their sends, if they end later, count nothing (_send).
            left = len(self._queue) + self._in_flight
            self._queue.clear()
            self.stats.abandoned_at_shutdown += left
            self._stopped = True
        # Ends an export still retrying (the OTLP exporters abort their backoff on this).
        with _QUIET_SHUTDOWN:
            self.exporter.shutdown()
        if self.stats.undelivered:
            logger.warning(
                "sentrial: %d spans were not delivered to %s (%s).",
                self.stats.undelivered,
                self.destination,
                self.stats.summary(),
            )
            if self._on_undelivered is not None:
                with _QUIET_SHUTDOWN:
                    self._on_undelivered(self.stats, self.destination)

    # --- worker --------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(self._delay)
            self._wake.clear()
            with self._lock:
                waiters, self._flush_waiters = self._flush_waiters, []
                owed = len(self._queue)
            if waiters:
                # Everything queued before the flush calls, not what arrives meanwhile (an
                # agent producing faster than the collector takes would keep them waiting).
                while owed > 0 and not self._stopping:
                    exported = self._export_batch()
                    if not exported:
                        break
                    owed -= exported
                self._wait_sent()
                for waiter in waiters:
                    waiter.set()
                continue
            while self._export_batch() and not self._stopping:
                if len(self._queue) < self._batch_size:
                    break
        # Shutdown: drain until the queue is empty (the caller bounds how long it waits).
        while self._export_batch() and not self._stopped:
            pass
        self._wait_sent()
        if self._sender is not None:
            self._sender.close()
        with self._lock:
            waiters, self._flush_waiters = self._flush_waiters, []
        for waiter in waiters:
            waiter.set()

    def _export_batch(self, *, ahead: bool = True) -> int:
        """Export one batch; how many spans it held (0: there was nothing to export).

        ``ahead``: with a send thread, encode the batch here and hand its request to that
        thread (after the previous request has been answered), returning meanwhile."""
        with self._export_lock:
            with self._lock:
                if not self._queue:
                    return 0
                batch = [
                    self._queue.popleft() for _ in range(min(self._batch_size, len(self._queue)))
                ]
                self._in_flight += len(batch)
            if ahead and self._sender is not None:
                send = self._encode(batch)
                self._sender.hand(lambda: self._send(batch, send))
            else:
                self._send(batch, self._encode(batch))
        return len(batch)

    def _wait_sent(self) -> None:
        """Wait until the request handed to the send thread last has been answered."""
        if self._sender is not None:
            self._sender.wait_idle()

    def _encode(self, batch: Sequence[ReadableSpan]) -> Callable[[], SpanExportResult]:
        """The call that exports ``batch``, its encoding done now if the exporter can."""
        if not callable(self._prepare_export):
            return lambda: self.exporter.export(batch)
        try:
            with our_export():
                send = self._prepare_export(batch)
        except Exception:  # noqa: BLE001 - an exporter bug must not kill the worker
            logger.debug("sentrial: exporter raised", exc_info=True)
            send = _failed_export
        self._say_left_out_attribute()
        return send

    def _say_left_out_attribute(self) -> None:
        """Warn, once, of an attribute the encoder could not carry (an int past int64, a
        lone surrogate): the span went out without it."""
        left_out = left_out_attribute()
        if left_out is None or self._warned_left_out or len(left_out) != 2:
            return
        self._warned_left_out = True
        key, error = left_out
        logger.warning(
            "sentrial: the attribute %r could not be encoded (%s) and was left out of its span "
            "to %s; OTLP carries str, bool, float, 64-bit int and bytes values and sequences "
            "of them. Later ones are left out without a warning (the sentrial logger at "
            "DEBUG level shows each).", key, error, self.destination,
        )

    def _send(self, batch: Sequence[ReadableSpan], export: Callable[[], SpanExportResult]) -> None:
        try:
            with our_export():
                result = export()
        except Exception:  # noqa: BLE001 - an exporter bug must not kill the worker
            logger.debug("sentrial: exporter raised", exc_info=True)
            result = SpanExportResult.FAILURE
        reason = failure_reason()
        self._say_left_out_attribute()
        with self._lock:
            if self._stopped:
                return  # counted as abandoned by shutdown()
            self._in_flight -= len(batch)
            if result is SpanExportResult.SUCCESS:
                self.stats.exported += len(batch)
            else:
                self.stats.failed += len(batch)
        if result is SpanExportResult.SUCCESS:
            if self._warned_failure:
                logger.info("sentrial: export to %s works again", self.destination)
                self._warned_failure = False
            return
        if not self._warned_failure:
            self._warned_failure = True
            logger.warning(
                "sentrial: could not export spans to %s%s; the agent is not affected. "
                "Failed spans are counted and reported at exit.",
                self.destination,
                reason,
            )
