"""Sending already-encoded ``ExportTraceServiceRequest`` s to an OTLP collector, with retries.

The stored spans are already OTLP; re-creating SDK spans to push them through the SDK
exporters would lose nothing but time, so the request bytes are posted as the OTLP/HTTP
exporter posts them, or handed to the collector's gRPC ``TraceService`` stub.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from sentrial_otel.config import PROTOCOL_GRPC, PROTOCOL_HTTP, http_url_for

RETRYABLE_HTTP_STATUSES = frozenset({429, 502, 503, 504})
MAX_BACKOFF_SECONDS = 30.0


class TransientSendError(Exception):
    """Worth retrying: the collector is busy or unreachable right now."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentSendError(Exception):
    """Retrying will not help (bad request, authentication, unknown endpoint...)."""


@dataclass
class SendOutcome:
    """How one request fared: spans accepted, spans rejected, attempts made."""

    accepted: int
    rejected: int
    attempts: int
    error: str | None = None


class OtlpSender:
    """Posts requests over OTLP/HTTP (protobuf) or OTLP/gRPC.

    Args:
        endpoint: ``http(s)://host:port[/path]``; for gRPC ``host:port`` works too.
        protocol: ``http/protobuf`` or ``grpc``.
        headers: extra headers (gRPC metadata keys are lowercased).
        timeout: seconds per attempt.
    """

    def __init__(
        self,
        endpoint: str,
        protocol: str = PROTOCOL_HTTP,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.protocol = protocol
        self.headers = dict(headers or {})
        self.timeout = timeout
        self._channel = None
        if protocol == PROTOCOL_GRPC:
            self._send_once = self._grpc_sender(endpoint)
        elif protocol == PROTOCOL_HTTP:
            self.url = http_url_for(endpoint)
            self._send_once = self._post
        else:
            raise ValueError(f"unsupported protocol {protocol!r}")

    def send(
        self,
        request: ExportTraceServiceRequest,
        span_count: int,
        max_attempts: int = 5,
        initial_backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        on_retry: Callable[[int, float, str], None] | None = None,
    ) -> SendOutcome:
        """Send with exponential backoff on transient failures; never raises.

        ``on_retry(attempt that failed, seconds until the next, why)`` is told before each
        wait, so that a person is not left looking at a silent command.
        """
        delay = initial_backoff
        for attempt in range(1, max_attempts + 1):
            try:
                response = self._send_once(request)
            except TransientSendError as error:
                if attempt == max_attempts:
                    return SendOutcome(0, span_count, attempt, str(error))
                wait = min(error.retry_after or delay, MAX_BACKOFF_SECONDS)
                if on_retry is not None:
                    on_retry(attempt, wait, str(error))
                sleep(wait)
                delay *= 2
                continue
            except PermanentSendError as error:
                return SendOutcome(0, span_count, attempt, str(error))
            rejected = min(span_count, response.partial_success.rejected_spans)
            message = response.partial_success.error_message or None
            return SendOutcome(span_count - rejected, rejected, attempt, message)
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Close the gRPC channel, if any."""
        if self._channel is not None:
            self._channel.close()

    # --- transports ---------------------------------------------------------------------
    def _post(self, request: ExportTraceServiceRequest) -> ExportTraceServiceResponse:
        body = request.SerializeToString()
        headers = {"Content-Type": "application/x-protobuf", **self.headers}
        http_request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(http_request, timeout=self.timeout) as reply:
                payload = reply.read()
        except urllib.error.HTTPError as error:
            detail = f"HTTP {error.code} from {self.url}"
            if error.code in RETRYABLE_HTTP_STATUSES:
                raise TransientSendError(detail, _retry_after(error.headers.get("Retry-After"))) from error
            raise PermanentSendError(detail) from error
        except (urllib.error.URLError, OSError) as error:
            raise TransientSendError(f"cannot reach {self.url}: {error}") from error
        response = ExportTraceServiceResponse()
        try:
            response.ParseFromString(payload)
        except Exception:  # noqa: BLE001 - a 2xx with a non-OTLP body still means accepted
            pass
        return response

    def _grpc_sender(
        self, endpoint: str
    ) -> Callable[[ExportTraceServiceRequest], ExportTraceServiceResponse]:
        import grpc  # only needed for gRPC: the `grpc` extra
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import (
            TraceServiceStub,
        )

        parts = urlsplit(endpoint if "//" in endpoint else f"//{endpoint}")
        target = parts.netloc or endpoint
        if parts.scheme == "https":
            self._channel = grpc.secure_channel(target, grpc.ssl_channel_credentials())
        else:
            self._channel = grpc.insecure_channel(target)
        stub = TraceServiceStub(self._channel)
        metadata = [(k.lower(), v) for k, v in self.headers.items()]
        retryable = {
            grpc.StatusCode.UNAVAILABLE,
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            grpc.StatusCode.DEADLINE_EXCEEDED,
            grpc.StatusCode.ABORTED,
            grpc.StatusCode.CANCELLED,
        }

        def send(request: ExportTraceServiceRequest) -> ExportTraceServiceResponse:
            try:
                return stub.Export(request, metadata=metadata, timeout=self.timeout)
            except grpc.RpcError as error:
                code = error.code()
                detail = f"gRPC {code.name if code else '?'} from {target}: {error.details()}"
                if code in retryable:
                    raise TransientSendError(detail) from error
                raise PermanentSendError(detail) from error

        return send


def _retry_after(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff
