"""Which exporter and endpoint the engine would use, read from the environment.

``doctor`` explains this to the user from the engine's own resolution, so what it says is
what a ``SentrialClient()`` created here would do.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from sentrial_otel import environment_variables as env
from sentrial_otel.config import (
    EXPORTER_OTLP,
    EXPORTER_STORE,
    default_otlp_port,
    resolve_settings,
)


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
        default = default_otlp_port(self.protocol)
        if parts.scheme == "https" and parts.port is None:
            default = 443
        return parts.hostname, parts.port or default


def read_export_settings() -> ExportSettings:
    """What the engine would do in this environment (``resolve_settings``), with reasons."""
    settings = resolve_settings()
    raw_exporter = os.environ.get(env.OTEL_TRACES_EXPORTER, "").strip()
    if settings.exporter == EXPORTER_OTLP:
        exporter, exporter_reason = "otlp", f"an OTLP endpoint is configured ({settings.endpoint_source})"
    elif settings.exporter == EXPORTER_STORE:
        exporter, exporter_reason = "local-store", "no collector endpoint is configured"
    else:
        exporter, exporter_reason = settings.exporter, f"OTEL_TRACES_EXPORTER={raw_exporter}"
    protocol_reason = next(
        (
            f"{name} is set"
            for name in (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, env.OTEL_EXPORTER_OTLP_PROTOCOL)
            if os.environ.get(name, "").strip()
        ),
        "default",
    )
    raw_capture = os.environ.get(env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT, "").strip()
    return ExportSettings(
        exporter=exporter,
        exporter_reason=exporter_reason,
        endpoint=settings.endpoint,
        endpoint_reason=(
            "no endpoint variable is set"
            if settings.endpoint is None
            else f"{settings.endpoint_source} is set"
        ),
        protocol=settings.protocol,
        protocol_reason=protocol_reason,
        api_key_present=bool(settings.api_key),
        capture_content=settings.capture_content,
        capture_content_reason=(
            f"{env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT}={raw_capture}"
            if raw_capture
            else "default (captured)"
        ),
    )
