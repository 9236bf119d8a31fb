"""Which exporter and endpoint the engine would use, read from the environment.

``doctor`` explains this to the user from the engine's own resolution, so what it says is
what a ``SentrialClient()`` created here would do.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from sentrial_otel import environment_variables as env
from sentrial_otel.config import EXPORTER_OTLP, default_otlp_port, resolve_settings


@dataclass(frozen=True)
class ExportSettings:
    """The exporter in effect and the reason for each choice."""

    exporter: str  # the engine's names: "otlp", "store", "console" or "none"
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
    named = [part.strip().lower() for part in raw_exporter.split(",")]
    if settings.exporter_fallback:
        exporter_reason = settings.exporter_fallback
    elif settings.exporter in named:
        exporter_reason = f"{env.OTEL_TRACES_EXPORTER}={raw_exporter}"
    else:
        exporter_reason = (
            f"an OTLP endpoint is configured ({settings.endpoint_source})"
            if settings.exporter == EXPORTER_OTLP
            else "no collector endpoint is configured"
        )
        if raw_exporter:
            exporter_reason = (f"{env.OTEL_TRACES_EXPORTER}={raw_exporter!r} names no exporter "
                               f"sentrial supports; {exporter_reason}")
    if settings.endpoint is None:
        endpoint_reason = "no endpoint variable is set"
    elif settings.exporter == EXPORTER_OTLP:
        endpoint_reason = f"{settings.endpoint_source} is set"
    else:
        endpoint_reason = (f"{settings.endpoint_source} is set, but not used: the exporter "
                           f"is {settings.exporter}")
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
        exporter=settings.exporter,
        exporter_reason=exporter_reason,
        endpoint=settings.endpoint,
        endpoint_reason=endpoint_reason,
        protocol=settings.protocol,
        protocol_reason=protocol_reason,
        api_key_present=bool(settings.api_key),
        capture_content=settings.capture_content,
        capture_content_reason=(
            f"{env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT}={raw_capture}"
            if raw_capture
            else "default"
        ),
    )
