"""The SDK's OTLP/HTTP span exporter with our encoder in place of its own.

Everything but the encoding stays the SDK's: endpoint, headers, compression, timeout and
the ``OTEL_EXPORTER_OTLP_*`` variables, the request size limit, retries with backoff and
``Retry-After``, the abort at shutdown, its own metrics. Encoding is most of an export's
time and ``otlp_encoding.SpanEncoder`` writes the same bytes about three times faster.

The split between encoding and sending is the SDK's private ``_client.export(bytes)``
(opentelemetry-exporter-otlp-proto-http 1.45); on a release it was not checked against,
or where it is not there, every export is the SDK's own, encoder included.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.exporter.otlp.proto.http.version import __version__ as _EXPORTER_VERSION
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult

from sentrial_otel._internal.export.otlp_encoding import SpanEncoder

try:
    from opentelemetry.exporter.otlp.proto.http._common import (
        RequestPayloadTooLargeError,
        _is_request_too_large,
    )
except ImportError:  # pragma: no cover - an older exporter: its own export is used
    RequestPayloadTooLargeError = _is_request_too_large = None  # type: ignore[assignment,misc]

# The releases whose private ``_client`` (its arguments, its result, when it compresses)
# was checked against ours: tests/test_otlp_http_export.py and test_otel_floor.py. Any
# other keeps the SDK's own export, slower but never wrong; add a release once checked.
_CHECKED_RELEASES = ("1.45",)

# The SDK exporter's logger, so that its lines and ours read (and are quieted) alike.
_logger = logging.getLogger("opentelemetry.exporter.otlp.proto.http.trace_exporter")


def _takes_bytes_alone(method: Any) -> bool:
    """Whether ``method(data)`` is a call its signature allows (a private method may
    change its arguments from one release to the next)."""
    try:
        inspect.signature(method).bind(b"")
    except (TypeError, ValueError):
        return False
    return True


def _can_send_encoded(exporter: Any) -> bool:
    """Whether this SDK exporter sends already-encoded bytes through a separate client."""
    send = getattr(getattr(exporter, "_client", None), "export", None)
    return (
        ".".join(_EXPORTER_VERSION.split(".")[:2]) in _CHECKED_RELEASES
        and _is_request_too_large is not None
        and callable(send)
        and _takes_bytes_alone(send)
        and callable(getattr(getattr(exporter, "_metrics", None), "export_operation", None))
        and hasattr(exporter, "_max_request_size")
        and hasattr(exporter, "_shutdown")
    )


class OtlpHttpSpanExporter(OTLPSpanExporter):
    """``OTLPSpanExporter`` (same arguments) whose batches are encoded by ``SpanEncoder``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._encoder = SpanEncoder()
        self.encodes_itself = _can_send_encoded(self)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.prepare_export(spans)()

    def prepare_export(self, spans: Sequence[ReadableSpan]) -> Callable[[], SpanExportResult]:
        """Encode ``spans`` now; the call returned sends them (``export(spans)`` is
        ``prepare_export(spans)()``). The delivery processor encodes the next batch while
        the previous one's request waits for its answer (``send_thread.py``)."""
        if not self.encodes_itself or self._shutdown:
            return partial(super().export, spans)
        try:
            data = self._encoder.encode(spans)
        except Exception as error:  # noqa: BLE001 - as the SDK: a failed export, said once
            return partial(self._send, len(spans), b"", error)
        return partial(self._send, len(spans), data, None)

    def _send(self, count: int, data: bytes, encoding_error: Exception | None) -> SpanExportResult:
        # The SDK's export (1.45) step for step, but for the encoding done beforehand.
        if self._shutdown:
            _logger.warning("Exporter already shutdown, ignoring batch")
            return SpanExportResult.FAILURE
        with self._metrics.export_operation(count) as result:
            if encoding_error is not None:
                _logger.error("Failed to encode span batch: %s", encoding_error)
                result.error = encoding_error
                return SpanExportResult.FAILURE
            if _is_request_too_large(data, self._max_request_size):
                _logger.warning(
                    "Dropping span batch: serialized size %d bytes exceeds max_request_size "
                    "%d bytes.", len(data), self._max_request_size,
                )
                result.error = RequestPayloadTooLargeError(
                    f"Serialized span request size {len(data)} bytes exceeds "
                    f"max_request_size {self._max_request_size} bytes."
                )
                return SpanExportResult.FAILURE
            sent = self._client.export(data)
            if not sent.success:
                result.error = sent.error
                if sent.status_code is not None:
                    result.error_attrs = {"http.response.status_code": sent.status_code}
                return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS
