"""Which exporter and endpoint the engine would use, read from the environment.

``doctor`` explains this to the user. It is one small function so it can be swapped for
the engine's own resolution once that exists, without touching the command.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

PROTOCOL_HTTP = "http/protobuf"
PROTOCOL_GRPC = "grpc"
CONTENT_OFF_VALUES = frozenset({"no_content", "false"})


@dataclass(frozen=True)
class ExportSettings:
    """The exporter in effect and the reason for each choice."""

    exporter: str  # "otlp", "local-store", "console" or "none"
    exporter_reason: str
    endpoint: str | None
    endpoint_reason: str
    protocol: str
    protocol_reason: str
    api_key_present: bool
    capture_content: bool
    capture_content_reason: str

    @property
    def host_port(self) -> tuple[str, int] | None:
        """Where the collector should listen, for a reachability check."""
        if not self.endpoint:
            return None
        parts = urlsplit(self.endpoint if "//" in self.endpoint else f"//{self.endpoint}")
        if not parts.hostname:
            return None
        default = 4317 if self.protocol == PROTOCOL_GRPC else 4318
        if parts.scheme == "https" and parts.port is None:
            default = 443
        return parts.hostname, parts.port or default


def read_export_settings(environ: Mapping[str, str] | None = None) -> ExportSettings:
    """Resolve the export settings from ``environ`` (default ``os.environ``).

    Endpoint precedence: ``SENTRIAL_API_URL``, then
    ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` (used as is), then
    ``OTEL_EXPORTER_OTLP_ENDPOINT`` (``/v1/traces`` appended for HTTP); with none of them
    spans go to the local store.
    """
    env = os.environ if environ is None else environ

    protocol, protocol_reason = PROTOCOL_HTTP, "default"
    for key in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        if env.get(key):
            protocol, protocol_reason = env[key].strip(), f"{key} is set"
            break

    endpoint: str | None = None
    endpoint_reason = "no endpoint variable is set"
    if env.get("SENTRIAL_API_URL"):
        endpoint, endpoint_reason = _with_traces_path(env["SENTRIAL_API_URL"], protocol), (
            "SENTRIAL_API_URL is set"
        )
    elif env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        endpoint = env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"].strip()
        endpoint_reason = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set (used as is)"
    elif env.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        endpoint = _with_traces_path(env["OTEL_EXPORTER_OTLP_ENDPOINT"], protocol)
        endpoint_reason = "OTEL_EXPORTER_OTLP_ENDPOINT is set"

    requested = [
        name.strip().lower()
        for name in env.get("OTEL_TRACES_EXPORTER", "").split(",")
        if name.strip()
    ]
    if "none" in requested:
        exporter, exporter_reason = "none", "OTEL_TRACES_EXPORTER=none"
    elif "console" in requested and "otlp" not in requested:
        exporter, exporter_reason = "console", "OTEL_TRACES_EXPORTER=console"
    elif endpoint:
        exporter, exporter_reason = "otlp", f"an OTLP endpoint is configured ({endpoint_reason})"
    else:
        exporter, exporter_reason = "local-store", "no collector endpoint is configured"

    raw = env.get("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT")
    if raw is None or not raw.strip():
        capture, capture_reason = True, "default (captured)"
    else:
        capture = raw.strip().lower() not in CONTENT_OFF_VALUES
        capture_reason = f"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT={raw.strip()}"

    return ExportSettings(
        exporter=exporter,
        exporter_reason=exporter_reason,
        endpoint=endpoint,
        endpoint_reason=endpoint_reason,
        protocol=protocol,
        protocol_reason=protocol_reason,
        api_key_present=bool(env.get("SENTRIAL_API_KEY")),
        capture_content=capture,
        capture_content_reason=capture_reason,
    )


def _with_traces_path(base: str, protocol: str) -> str:
    base = base.strip()
    if protocol == PROTOCOL_GRPC:
        return base
    return base.rstrip("/") + "/v1/traces"
