"""A real OTLP receiver for tests: OTLP/HTTP (protobuf or JSON) or OTLP/gRPC on 127.0.0.1.

Usage::

    with OtlpReceiver(protocol="http/protobuf") as rx:
        exporter = OTLPSpanExporter(endpoint=rx.traces_endpoint)
        ...
        spans = rx.wait_for_spans(3, timeout=10)
        assert spans[0].attributes["gen_ai.operation.name"] == "invoke_agent"
        scores = rx.wait_for_log_records(1)  # log records (scores), flattened alike
        assert rx.requests[0].headers["authorization"] == "Bearer my-key"

Every request is decoded with ``opentelemetry-proto`` (``Export*ServiceRequest``), so what a
test asserts is what a collector would have seen on the wire. ``rx.endpoint`` is the base URL
the SDK takes in ``OTEL_EXPORTER_OTLP_ENDPOINT`` (it appends ``/v1/traces`` itself for HTTP;
for gRPC use it with ``insecure=True``).

Fault modes, switchable while the receiver runs (each one counts as an *attempt*, never as an
accepted request; ``rx.attempts`` records every try so tests can count retries):

- ``rx.fail_with(503, times=3)``: answer 503 three times, then heal.
  ``rx.fail_with(429, retry_after=1)`` adds ``Retry-After: 1`` (gRPC: ``RetryInfo``).
- ``rx.hang()``: accept the connection, never answer until ``rx.release()`` (or ``stop()``);
  a hung request is then dropped without an answer and is not stored.
- ``rx.limit_body(1024)``: answer 413 (gRPC: ``RESOURCE_EXHAUSTED``) to larger payloads.
  For HTTP the limit applies to the body as sent (compressed, as the collector's
  ``max_request_body_size`` does); for gRPC to the decoded message.
- ``rx.stop()`` / ``rx.start()``: refuse connections, then listen again on the same port.
- ``rx.heal()``: back to healthy.
"""

from __future__ import annotations

import base64
import gzip
import json
import socket
import threading
import time
import zlib
from collections.abc import Iterable, Mapping
from concurrent import futures
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

import grpc
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from google.rpc.error_details_pb2 import RetryInfo
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import (
    metrics_service_pb2,
    metrics_service_pb2_grpc,
)
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1 import trace_pb2

Protocol = Literal["http/protobuf", "grpc"]
Signal = Literal["traces", "metrics", "logs"]

# Request / response message types per signal, and the HTTP path the OTLP spec gives each.
_REQUEST_TYPES: dict[str, type[Message]] = {
    "traces": trace_service_pb2.ExportTraceServiceRequest,
    "metrics": metrics_service_pb2.ExportMetricsServiceRequest,
    "logs": logs_service_pb2.ExportLogsServiceRequest,
}
_RESPONSE_TYPES: dict[str, type[Message]] = {
    "traces": trace_service_pb2.ExportTraceServiceResponse,
    "metrics": metrics_service_pb2.ExportMetricsServiceResponse,
    "logs": logs_service_pb2.ExportLogsServiceResponse,
}
_HTTP_PATHS: dict[str, str] = {
    "/v1/traces": "traces",
    "/v1/metrics": "metrics",
    "/v1/logs": "logs",
}

# How an HTTP status given to fail_with() is answered over gRPC (OTLP spec's mapping).
_HTTP_TO_GRPC: dict[int, grpc.StatusCode] = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.UNIMPLEMENTED,
    413: grpc.StatusCode.RESOURCE_EXHAUSTED,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    500: grpc.StatusCode.INTERNAL,
    502: grpc.StatusCode.UNAVAILABLE,
    503: grpc.StatusCode.UNAVAILABLE,
    504: grpc.StatusCode.UNAVAILABLE,
}

_SPAN_KINDS = {v: k.removeprefix("SPAN_KIND_") for k, v in trace_pb2.Span.SpanKind.items()}
_STATUS_CODES = {
    v: k.removeprefix("STATUS_CODE_") for k, v in trace_pb2.Status.StatusCode.items()
}


# --- Decoded records ------------------------------------------------------------------------


@dataclass(frozen=True)
class EventRecord:
    """One span event (e.g. ``exception``) with plain-Python attributes."""

    name: str
    time_unix_nano: int
    attributes: dict[str, Any]


@dataclass(frozen=True)
class LinkRecord:
    """One span link, ids as lowercase hex."""

    trace_id: str
    span_id: str
    attributes: dict[str, Any]


@dataclass(frozen=True)
class SpanRecord:
    """A span as received, flattened: ids as lowercase hex, enums as names, values as Python.

    ``kind`` is ``"INTERNAL"``, ``"CLIENT"``, ... and ``status_code`` ``"UNSET"``, ``"OK"``
    or ``"ERROR"``. ``parent_span_id`` is ``""`` for a root span.
    """

    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    kind: str
    status_code: str
    status_message: str
    attributes: dict[str, Any]
    events: list[EventRecord]
    links: list[LinkRecord]
    resource: dict[str, Any]
    scope_name: str
    scope_version: str
    start_time_unix_nano: int
    end_time_unix_nano: int

    @property
    def is_root(self) -> bool:
        """True when the span has no parent."""
        return not self.parent_span_id

    @property
    def duration_s(self) -> float:
        """End minus start, in seconds."""
        return (self.end_time_unix_nano - self.start_time_unix_nano) / 1e9


@dataclass(frozen=True)
class ReceivedRequest:
    """One accepted export request.

    ``headers`` has lowercase keys (HTTP headers, or gRPC invocation metadata); ``body`` is
    the decompressed serialized message, for tests that scan raw bytes; ``message`` is the
    decoded ``Export*ServiceRequest``.
    """

    signal: Signal
    protocol: Protocol
    headers: dict[str, str]
    body: bytes
    message: Any
    item_count: int
    received_at: float
    peer: str = ""  # the client's end of the connection, "host:port" (gRPC: its peer string)


@dataclass(frozen=True)
class Attempt:
    """One export attempt, accepted or not: what a fault test counts retries with.

    ``outcome`` is ``"accepted"``, ``"rejected"`` (a fault status was answered), ``"too_large"``,
    ``"hung"`` (never answered) or ``"bad_request"``; ``status`` the HTTP status or gRPC code
    name answered (``None`` for a hung request).
    """

    signal: str
    protocol: Protocol
    outcome: str
    status: int | str | None
    size: int
    headers: dict[str, str]
    at: float
    peer: str = ""  # as in ReceivedRequest: which connection carried the attempt


def any_value_to_python(value: AnyValue) -> Any:
    """Decode an OTLP ``AnyValue`` into str/bool/int/float/bytes/list/dict (None when empty)."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value_to_python(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return attributes_to_dict(value.kvlist_value.values)
    return getattr(value, kind)


def attributes_to_dict(attributes: Iterable[KeyValue]) -> dict[str, Any]:
    """Decode repeated ``KeyValue`` into a plain dict (a later duplicate key wins, as in OTel)."""
    return {kv.key: any_value_to_python(kv.value) for kv in attributes}


@dataclass(frozen=True)
class LogRecordEntry:
    """A log record as received, flattened: ids as lowercase hex (``""`` when unset)."""

    event_name: str
    trace_id: str
    span_id: str
    time_unix_nano: int
    severity_number: int
    body: Any
    attributes: dict[str, Any]
    resource: dict[str, Any]
    scope_name: str


def flatten_logs(message: logs_service_pb2.ExportLogsServiceRequest) -> list[LogRecordEntry]:
    """Flatten resource -> scope -> log record nesting into one entry per record."""
    entries: list[LogRecordEntry] = []
    for resource_logs in message.resource_logs:
        resource = attributes_to_dict(resource_logs.resource.attributes)
        for scope_logs in resource_logs.scope_logs:
            for record in scope_logs.log_records:
                entries.append(LogRecordEntry(
                    event_name=record.event_name,
                    trace_id=record.trace_id.hex(),
                    span_id=record.span_id.hex(),
                    time_unix_nano=record.time_unix_nano,
                    severity_number=record.severity_number,
                    body=any_value_to_python(record.body),
                    attributes=attributes_to_dict(record.attributes),
                    resource=resource,
                    scope_name=scope_logs.scope.name,
                ))
    return entries


def flatten_spans(message: trace_service_pb2.ExportTraceServiceRequest) -> list[SpanRecord]:
    """Flatten resource -> scope -> span nesting into one SpanRecord per span."""
    records: list[SpanRecord] = []
    for resource_spans in message.resource_spans:
        resource = attributes_to_dict(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope
            for span in scope_spans.spans:
                records.append(
                    SpanRecord(
                        name=span.name,
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex(),
                        kind=_SPAN_KINDS.get(span.kind, str(span.kind)),
                        status_code=_STATUS_CODES.get(span.status.code, str(span.status.code)),
                        status_message=span.status.message,
                        attributes=attributes_to_dict(span.attributes),
                        events=[
                            EventRecord(e.name, e.time_unix_nano, attributes_to_dict(e.attributes))
                            for e in span.events
                        ],
                        links=[
                            LinkRecord(
                                link.trace_id.hex(),
                                link.span_id.hex(),
                                attributes_to_dict(link.attributes),
                            )
                            for link in span.links
                        ],
                        resource=resource,
                        scope_name=scope.name,
                        scope_version=scope.version,
                        start_time_unix_nano=span.start_time_unix_nano,
                        end_time_unix_nano=span.end_time_unix_nano,
                    )
                )
    return records


def _count_items(signal: str, message: Any) -> int:
    """Spans, metrics or log records in one request (what the SDK counts as exported)."""
    if signal == "traces":
        return sum(len(ss.spans) for rs in message.resource_spans for ss in rs.scope_spans)
    if signal == "metrics":
        return sum(len(sm.metrics) for rm in message.resource_metrics for sm in rm.scope_metrics)
    return sum(len(sl.log_records) for rl in message.resource_logs for sl in rl.scope_logs)


# --- Fault state ----------------------------------------------------------------------------


@dataclass
class _Faults:
    """What the receiver does to the next request. Only touched under the receiver's lock."""

    status: int | grpc.StatusCode | None = None
    retry_after: float | None = None
    status_times: int | None = None  # None: until healed
    hang_times: int | None = None
    hanging: bool = False
    max_body_bytes: int | None = None
    released: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class _Decision:
    """The fault decision for one request, taken atomically under the lock."""

    action: Literal["accept", "too_large", "status", "hang"]
    status: int | grpc.StatusCode | None = None
    retry_after: float | None = None
    released: threading.Event | None = None


# --- The receiver ---------------------------------------------------------------------------


class OtlpReceiver:
    """An OTLP server on 127.0.0.1 that stores and decodes what it receives. Thread-safe.

    Args:
        protocol: ``"http/protobuf"`` (also accepts OTLP/JSON bodies) or ``"grpc"``.
        host: interface to bind; tests keep the default loopback address.
        port: 0 picks a free port at the first ``start()``; restarts reuse it.
        max_body_bytes: answer 413 / ``RESOURCE_EXHAUSTED`` above this size (see
            :meth:`limit_body`).
    """

    def __init__(
        self,
        protocol: Protocol = "http/protobuf",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        max_body_bytes: int | None = None,
    ) -> None:
        if protocol not in ("http/protobuf", "grpc"):
            raise ValueError(f"protocol must be 'http/protobuf' or 'grpc', not {protocol!r}")
        self.protocol: Protocol = protocol
        self.host = host
        self.port = port
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._requests: list[ReceivedRequest] = []
        self._attempts: list[Attempt] = []
        self._span_count = 0
        self._log_count = 0
        self._spans: list[SpanRecord] = []  # flattened lazily, see spans()
        self._flattened = 0  # how many of _requests are already in _spans
        self._faults = _Faults(max_body_bytes=max_body_bytes)
        self._http: _HttpServer | None = None
        self._http_thread: threading.Thread | None = None
        self._grpc: grpc.Server | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True between start() and stop()."""
        return self._http is not None or self._grpc is not None

    def start(self) -> OtlpReceiver:
        """Listen (on the same port as before, after a stop()). Returns self."""
        if self.running:
            return self
        with self._lock:
            if self._faults.released.is_set():
                self._faults.released = threading.Event()
        if self.protocol == "grpc":
            self._start_grpc()
        else:
            self._start_http()
        return self

    def stop(self) -> None:
        """Stop listening and drop open connections, so clients see a dead collector.

        Stored requests are kept; hung requests are released (and dropped unanswered).
        """
        with self._lock:
            self._faults.released.set()
        if self._http is not None:
            self._http.shutdown()
            self._http.close_all_connections()
            self._http.server_close()
            if self._http_thread is not None:
                self._http_thread.join(timeout=5)
            self._http = None
            self._http_thread = None
        if self._grpc is not None:
            self._grpc.stop(grace=None).wait(timeout=5)
            self._grpc = None

    def __enter__(self) -> OtlpReceiver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def endpoint(self) -> str:
        """Base URL: ``http://127.0.0.1:PORT`` (the value for OTEL_EXPORTER_OTLP_ENDPOINT)."""
        return f"http://{self.host}:{self.port}"

    @property
    def traces_endpoint(self) -> str:
        """Full URL for a traces exporter's ``endpoint=`` argument (HTTP adds /v1/traces)."""
        return self.endpoint if self.protocol == "grpc" else f"{self.endpoint}/v1/traces"

    def _start_http(self) -> None:
        server = _HttpServer((self.host, self.port), _HttpHandler, self)
        self.port = server.server_address[1]
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"otlp-http-receiver:{self.port}",
            daemon=True,
        )
        thread.start()
        self._http, self._http_thread = server, thread

    def _start_grpc(self) -> None:
        # Enough workers that hung calls cannot starve the ones a test still expects answered.
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=32, thread_name_prefix="otlp-grpc-receiver"),
            # Our own size check gives the fault answer; let grpc accept anything up to 64 MiB.
            options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)],
        )
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(
            _GrpcTraceService(self), server
        )
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(
            _GrpcMetricsService(self), server
        )
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(_GrpcLogsService(self), server)
        port = server.add_insecure_port(f"{self.host}:{self.port}")
        if port == 0:
            raise OSError(f"cannot bind gRPC receiver to {self.host}:{self.port}")
        self.port = port
        server.start()
        self._grpc = server

    # -- fault modes -------------------------------------------------------------------------

    def fail_with(
        self,
        status: int | grpc.StatusCode,
        *,
        times: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        """Answer ``status`` (HTTP code, mapped for gRPC; or a grpc.StatusCode) to requests.

        Args:
            times: how many requests get it before healing; None means until :meth:`heal`.
            retry_after: seconds sent as ``Retry-After`` (HTTP) or ``RetryInfo`` (gRPC).
        """
        with self._lock:
            self._faults.status = status
            self._faults.status_times = times
            self._faults.retry_after = retry_after

    def hang(self, *, times: int | None = None) -> None:
        """Leave the next ``times`` requests (all, if None) unanswered until :meth:`release`."""
        with self._lock:
            if self._faults.released.is_set():
                self._faults.released = threading.Event()
            self._faults.hanging = True
            self._faults.hang_times = times

    def release(self) -> None:
        """End :meth:`hang`: requests waiting are dropped unanswered; new ones are served."""
        with self._lock:
            self._faults.hanging = False
            self._faults.released.set()

    def limit_body(self, max_bytes: int | None) -> None:
        """Refuse payloads over ``max_bytes`` with 413 / RESOURCE_EXHAUSTED (None: no limit)."""
        with self._lock:
            self._faults.max_body_bytes = max_bytes

    def heal(self) -> None:
        """Clear every fault mode (status, hang, size limit)."""
        self.release()
        with self._lock:
            self._faults.status = None
            self._faults.status_times = None
            self._faults.retry_after = None
            self._faults.max_body_bytes = None

    def _decide(self, size: int) -> _Decision:
        """Take the fault decision for one request and consume one 'times' if it applies."""
        with self._lock:
            f = self._faults
            if f.max_body_bytes is not None and size > f.max_body_bytes:
                return _Decision("too_large")
            if f.hanging:
                if f.hang_times is not None:
                    f.hang_times -= 1
                    if f.hang_times <= 0:
                        f.hanging = False
                return _Decision("hang", released=f.released)
            if f.status is not None:
                decision = _Decision("status", f.status, f.retry_after)
                if f.status_times is not None:
                    f.status_times -= 1
                    if f.status_times <= 0:
                        f.status = None
                return decision
            return _Decision("accept")

    # -- what arrived ------------------------------------------------------------------------

    @property
    def requests(self) -> list[ReceivedRequest]:
        """Accepted requests of every signal, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def attempts(self) -> list[Attempt]:
        """Every request that reached the receiver, accepted or not (a copy)."""
        with self._lock:
            return list(self._attempts)

    def span_count(self) -> int:
        """How many spans were accepted (cheap; no decoding)."""
        with self._lock:
            return self._span_count

    def spans(self) -> list[SpanRecord]:
        """Every accepted span, flattened, in arrival order (a copy)."""
        with self._lock:
            for request in self._requests[self._flattened :]:
                if request.signal == "traces":
                    self._spans.extend(flatten_spans(request.message))
            self._flattened = len(self._requests)
            return list(self._spans)

    def log_records(self) -> list[LogRecordEntry]:
        """Every accepted log record, flattened, in arrival order."""
        return [entry for request in self.requests if request.signal == "logs"
                for entry in flatten_logs(request.message)]

    def wait_for_log_records(self, n: int, timeout: float = 10.0) -> list[LogRecordEntry]:
        """Block until at least ``n`` log records arrived, then return all of them.

        Raises:
            TimeoutError: fewer than ``n`` arrived within ``timeout`` seconds.
        """
        self._wait_until(lambda: self._log_count >= n, timeout)
        records = self.log_records()
        if len(records) < n:
            raise TimeoutError(f"expected >= {n} log records within {timeout}s, got "
                               f"{len(records)}")
        return records

    def raw_bytes(self) -> bytes:
        """All accepted request bodies (decompressed) joined: for 'this must not leak' scans."""
        with self._lock:
            return b"".join(r.body for r in self._requests)

    def wait_for_spans(self, n: int, timeout: float = 10.0) -> list[SpanRecord]:
        """Block until at least ``n`` spans arrived, then return all of them.

        Raises:
            TimeoutError: fewer than ``n`` arrived within ``timeout`` seconds (the message
                says how many and which).
        """
        self._wait_until(lambda: self._span_count >= n, timeout)
        spans = self.spans()
        if len(spans) < n:
            names = sorted({s.name for s in spans})
            raise TimeoutError(
                f"expected >= {n} spans within {timeout}s, got {len(spans)} {names}"
            )
        return spans

    def _wait_until(self, arrived: Any, timeout: float) -> None:
        """Wait (at most ``timeout`` seconds) until ``arrived()`` holds, under the lock."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while not arrived():
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._arrived.wait(left)

    def wait_for_attempts(self, n: int, timeout: float = 10.0) -> list[Attempt]:
        """Block until at least ``n`` attempts (of any outcome) arrived; raise TimeoutError."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self._attempts) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(
                        f"expected >= {n} attempts within {timeout}s, got {len(self._attempts)}"
                    )
                self._arrived.wait(left)
            return list(self._attempts)

    def clear(self) -> None:
        """Forget everything received so far (fault modes are kept)."""
        with self._lock:
            self._requests.clear()
            self._attempts.clear()
            self._spans.clear()
            self._span_count = 0
            self._log_count = 0
            self._flattened = 0

    def _record(
        self,
        signal: str,
        headers: Mapping[str, str],
        outcome: str,
        status: int | str | None,
        size: int,
        request: ReceivedRequest | None = None,
        peer: str = "",
    ) -> None:
        with self._arrived:
            self._attempts.append(Attempt(
                signal, self.protocol, outcome, status, size, dict(headers), time.time(), peer
            ))
            if request is not None:
                self._requests.append(request)
                if request.signal == "traces":
                    self._span_count += request.item_count
                elif request.signal == "logs":
                    self._log_count += request.item_count
            self._arrived.notify_all()

    def _accept(
        self, signal: str, headers: Mapping[str, str], message: Any, peer: str = ""
    ) -> None:
        body = message.SerializeToString()
        request = ReceivedRequest(
            signal=signal,  # type: ignore[arg-type]
            protocol=self.protocol,
            headers=dict(headers),
            body=body,
            message=message,
            item_count=_count_items(signal, message),
            received_at=time.time(),
            peer=peer,
        )
        status = "OK" if self.protocol == "grpc" else 200
        self._record(signal, headers, "accepted", status, len(body), request, peer)


# --- OTLP/HTTP ------------------------------------------------------------------------------


class _HttpServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its receiver and can cut open keep-alive connections."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], handler: type, receiver: OtlpReceiver) -> None:
        self.receiver = receiver
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that dies mid-request (a SIGKILLed collector) is a normal event in fault
        # tests, not a traceback on stderr.
        pass

    def close_all_connections(self) -> None:
        # Without this a client's keep-alive connection would keep being served after stop().
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _HttpHandler(BaseHTTPRequestHandler):
    """POST /v1/{traces,metrics,logs} with protobuf or JSON, optionally gzip/deflate."""

    protocol_version = "HTTP/1.1"  # keep-alive, as a real collector; we always send a length
    server: _HttpServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass  # tests read rx.attempts, not stderr

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        rx = self.server.receiver
        headers = {k.lower(): v for k, v in self.headers.items()}
        peer = "%s:%s" % self.client_address[:2]
        signal = _HTTP_PATHS.get(self.path.split("?", 1)[0])
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if signal is None:
            rx._record(self.path, headers, "bad_request", 404, len(raw), peer=peer)
            self._answer(404, b"unknown path", "text/plain")
            return

        decision = rx._decide(len(raw))
        if decision.action == "too_large":
            rx._record(signal, headers, "too_large", 413, len(raw), peer=peer)
            self._answer(413, b"payload too large", "text/plain")
            return
        if decision.action == "hang":
            rx._record(signal, headers, "hung", None, len(raw), peer=peer)
            assert decision.released is not None
            decision.released.wait()
            self.close_connection = True  # drop it unanswered, as a wedged collector would
            return
        if decision.action == "status":
            status = decision.status if isinstance(decision.status, int) else 503
            rx._record(signal, headers, "rejected", status, len(raw), peer=peer)
            extra = {}
            if decision.retry_after is not None:
                extra["Retry-After"] = f"{decision.retry_after:g}"
            self._answer(status, HTTPStatus(status).phrase.encode(), "text/plain", extra)
            return

        try:
            message = _decode_http(signal, raw, headers)
        except _DECODE_ERRORS as exc:
            rx._record(signal, headers, "bad_request", 400, len(raw), peer=peer)
            self._answer(400, f"cannot decode: {exc}".encode(), "text/plain")
            return
        rx._accept(signal, headers, message, peer)
        response = _RESPONSE_TYPES[signal]()
        if "json" in headers.get("content-type", ""):
            self._answer(200, json_format.MessageToJson(response).encode(), "application/json")
        else:
            self._answer(200, response.SerializeToString(), "application/x-protobuf")

    def _answer(
        self,
        status: int,
        body: bytes,
        content_type: str,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (extra_headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            self.close_connection = True  # the client gave up (timeout); nothing to answer


# gzip raises OSError/EOFError, zlib its own error, JSON and hex ids ValueError.
_DECODE_ERRORS = (OSError, EOFError, ValueError, zlib.error, DecodeError, json_format.ParseError)


def _decode_http(signal: str, raw: bytes, headers: Mapping[str, str]) -> Message:
    encoding = headers.get("content-encoding", "").lower()
    if encoding == "gzip":
        raw = gzip.decompress(raw)
    elif encoding == "deflate":
        raw = zlib.decompress(raw)
    message = _REQUEST_TYPES[signal]()
    if "json" in headers.get("content-type", ""):
        json_format.ParseDict(_hex_ids_to_base64(json.loads(raw)), message)
    else:
        message.ParseFromString(raw)
    return message


_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"})


def _hex_ids_to_base64(node: Any) -> Any:
    """OTLP/JSON writes ids as hex, protobuf's JSON mapping expects base64 for bytes."""
    if isinstance(node, dict):
        return {
            k: base64.b64encode(bytes.fromhex(v)).decode()
            if k in _ID_KEYS and isinstance(v, str)
            else _hex_ids_to_base64(v)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [_hex_ids_to_base64(v) for v in node]
    return node


# --- OTLP/gRPC ------------------------------------------------------------------------------


def _handle_grpc(rx: OtlpReceiver, signal: str, request: Message, context: Any) -> Message:
    headers: dict[str, str] = {}
    for key, value in context.invocation_metadata():
        headers[key.lower()] = value
    size, peer = request.ByteSize(), context.peer()
    decision = rx._decide(size)
    if decision.action == "too_large":
        rx._record(signal, headers, "too_large", "RESOURCE_EXHAUSTED", size, peer=peer)
        context.abort(grpc.StatusCode.RESOURCE_EXHAUSTED, "payload too large")
    if decision.action == "hang":
        rx._record(signal, headers, "hung", None, size, peer=peer)
        assert decision.released is not None
        decision.released.wait()
        context.abort(grpc.StatusCode.UNAVAILABLE, "receiver released a hung call")
    if decision.action == "status":
        code = decision.status
        if isinstance(code, int):
            code = _HTTP_TO_GRPC.get(code, grpc.StatusCode.UNAVAILABLE)
        assert isinstance(code, grpc.StatusCode)
        rx._record(signal, headers, "rejected", code.name, size, peer=peer)
        if decision.retry_after is not None:
            info = RetryInfo()
            info.retry_delay.FromNanoseconds(int(decision.retry_after * 1e9))
            retry_info = info.SerializeToString()
            context.set_trailing_metadata((("google.rpc.retryinfo-bin", retry_info),))
        context.abort(code, f"receiver fault: {code.name}")
    rx._accept(signal, headers, request, peer)
    return _RESPONSE_TYPES[signal]()


class _GrpcTraceService(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, rx: OtlpReceiver) -> None:
        self._rx = rx

    def Export(self, request: Message, context: Any) -> Message:  # noqa: N802 - grpc name
        return _handle_grpc(self._rx, "traces", request, context)


class _GrpcMetricsService(metrics_service_pb2_grpc.MetricsServiceServicer):
    def __init__(self, rx: OtlpReceiver) -> None:
        self._rx = rx

    def Export(self, request: Message, context: Any) -> Message:  # noqa: N802 - grpc name
        return _handle_grpc(self._rx, "metrics", request, context)


class _GrpcLogsService(logs_service_pb2_grpc.LogsServiceServicer):
    def __init__(self, rx: OtlpReceiver) -> None:
        self._rx = rx

    def Export(self, request: Message, context: Any) -> Message:  # noqa: N802 - grpc name
        return _handle_grpc(self._rx, "logs", request, context)
