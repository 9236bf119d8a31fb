"""Does the collector accept our exports? One empty OTLP export, with the engine's headers.

A TCP connection only says something listens; an export request says whether the collector
takes our requests, which is where a missing or wrong API key shows (HTTP 401, gRPC
``UNAUTHENTICATED``). The request holds no spans, so it adds nothing to any backend.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Mapping

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from sentrial_otel.config import PROTOCOL_GRPC

_REFUSED_KEY = ("the collector refused the API key (set SENTRIAL_API_KEY, or the "
                "authorization header in OTEL_EXPORTER_OTLP_HEADERS, to a key it accepts)")


def probe_export(endpoint: str, protocol: str, headers: Mapping[str, str],
                 timeout: float) -> tuple[bool | None, str]:
    """(accepted, what happened) for one empty traces export to ``endpoint``.

    ``accepted`` is True when the collector took it, False when it refused our credentials,
    None when the request could not tell (no OTLP answer, another error).
    """
    if protocol == PROTOCOL_GRPC:
        return _probe_grpc(endpoint, headers, timeout)
    return _probe_http(endpoint, headers, timeout)


def _probe_http(endpoint: str, headers: Mapping[str, str], timeout: float
                ) -> tuple[bool | None, str]:
    request = urllib.request.Request(
        endpoint, data=ExportTraceServiceRequest().SerializeToString(), method="POST",
        headers={**headers, "Content-Type": "application/x-protobuf"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return True, f"an empty export was accepted (HTTP {response.status})"
    except urllib.error.HTTPError as error:
        if error.code in (401, 403):
            return False, f"HTTP {error.code}: {_REFUSED_KEY}"
        return None, f"an empty export got HTTP {error.code} {error.reason}"
    except OSError as error:
        return None, f"the export request failed ({getattr(error, 'reason', error)})"


def _probe_grpc(endpoint: str, headers: Mapping[str, str], timeout: float
                ) -> tuple[bool | None, str]:
    try:
        import grpc
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import (
            TraceServiceStub,
        )
    except ImportError:
        return None, "cannot probe over gRPC: pip install 'sentrial-otel[grpc]'"
    target = endpoint.split("://", 1)[-1].rstrip("/")
    secure = endpoint.startswith("https://")
    channel = (grpc.secure_channel(target, grpc.ssl_channel_credentials()) if secure
               else grpc.insecure_channel(target))
    try:
        TraceServiceStub(channel).Export(
            ExportTraceServiceRequest(), timeout=timeout,
            metadata=[(key.lower(), value) for key, value in headers.items()],
        )
        return True, "an empty export was accepted (gRPC OK)"
    except grpc.RpcError as error:
        code = error.code()
        if code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED):
            return False, f"gRPC {code.name}: {_REFUSED_KEY}"
        return None, f"an empty export got gRPC {code.name} ({error.details()})"
    finally:
        channel.close()
