"""Settings, resolved once at construction: argument, then environment, then default."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from sentrial_otel import environment_variables as env
from sentrial_otel.encoding import DEFAULT_MAX_STRING_LENGTH

logger = logging.getLogger("sentrial")

PROTOCOL_HTTP = "http/protobuf"
PROTOCOL_GRPC = "grpc"
EXPORTER_OTLP = "otlp"
EXPORTER_CONSOLE = "console"
EXPORTER_NONE = "none"
EXPORTER_STORE = "store"
DEFAULT_HOME = ".sentrial"
DEFAULT_SHUTDOWN_TIMEOUT = 5.0
DEFAULT_EXPORT_TIMEOUT = 10.0

_FALSE = {"false", "0", "no", "off", "no_content"}
_TRUE = {"true", "1", "yes", "on", "span_only", "span_and_event", "event_only"}


@dataclass(frozen=True)
class BatchSettings:
    """The batch span processor's schedule: delay, batch size and queue size."""

    schedule_delay_s: float = 5.0
    max_export_batch_size: int = 512
    max_queue_size: int = 2048


@dataclass(frozen=True)
class Settings:
    """Everything that decides where spans go and what they contain."""

    exporter: str = EXPORTER_STORE
    endpoint: str | None = None
    endpoint_source: str = "default"
    protocol: str = PROTOCOL_HTTP
    headers: Mapping[str, str] = field(default_factory=dict)
    api_key: str | None = field(default=None, repr=False)
    capture_content: bool = True
    max_content_length: int = DEFAULT_MAX_STRING_LENGTH
    fail_silently: bool = True
    home: Path = Path(DEFAULT_HOME)
    shutdown_timeout_s: float = DEFAULT_SHUTDOWN_TIMEOUT
    export_timeout_s: float = DEFAULT_EXPORT_TIMEOUT
    batch: BatchSettings = field(default_factory=BatchSettings)
    # Process lifecycle: our SIGTERM handler (sigterm.py), context into executor pools
    # (executors.py).
    handle_sigterm: bool = True
    instrument_executors: bool = True

    @property
    def export_headers(self) -> dict[str, str]:
        """Headers for every export request, the API key's bearer header included."""
        headers = dict(self.headers)
        if self.api_key:
            headers["authorization"] = f"Bearer {self.api_key}"
        return headers

    def export_key(self) -> tuple[Any, ...]:
        """What makes two settings send to the same place (for reusing a pipeline)."""
        return (
            self.exporter,
            self.endpoint,
            self.protocol,
            tuple(sorted(self.export_headers.items())),
            str(self.home),
        )


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def parse_bool(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    logger.warning("sentrial: unrecognised boolean %r, using %s", value, default)
    return default


def parse_headers(text: str | None) -> dict[str, str]:
    """``k1=v1,k2=v2`` as the OTLP exporter spec says (values URL-decoded)."""
    headers: dict[str, str] = {}
    if not text:
        return headers
    for item in text.split(","):
        if "=" not in item:
            if item.strip():
                logger.warning("sentrial: ignoring malformed OTLP header %r", item.strip())
            continue
        key, value = item.split("=", 1)
        key = unquote(key).strip().lower()
        if key:
            headers[key] = unquote(value).strip()
    return headers


def _float(name: str, default: float) -> float:
    raw = _env(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        logger.warning("sentrial: %s=%r is not a number, using %s", name, raw, default)
        return default
    return value if value >= 0 else default


def _int(name: str, default: int) -> int:
    raw = _env(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        logger.warning("sentrial: %s=%r is not an integer, using %s", name, raw, default)
        return default
    return value if value > 0 else default


def traces_url(base: str, protocol: str) -> str:
    """The URL the exporter posts to: ``/v1/traces`` added to a base URL for HTTP."""
    if protocol == PROTOCOL_GRPC:
        return base
    trimmed = base.rstrip("/")
    if trimmed.endswith("/v1/traces"):
        return trimmed
    return trimmed + "/v1/traces"


def _resolve_protocol(protocol: str | None) -> str:
    raw = protocol or _env(env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL) or _env(
        env.OTEL_EXPORTER_OTLP_PROTOCOL
    )
    if raw is None:
        return PROTOCOL_HTTP
    lowered = raw.lower()
    if lowered in (PROTOCOL_GRPC, PROTOCOL_HTTP):
        return lowered
    if lowered == "http/json":
        logger.warning("sentrial: OTLP http/json is not supported, using http/protobuf")
        return PROTOCOL_HTTP
    logger.warning("sentrial: unknown OTLP protocol %r, using http/protobuf", raw)
    return PROTOCOL_HTTP


def _resolve_endpoint(api_url: str | None, protocol: str) -> tuple[str | None, str]:
    if api_url:
        return traces_url(api_url, protocol), "api_url argument"
    if (value := _env(env.SENTRIAL_API_URL)) is not None:
        return traces_url(value, protocol), env.SENTRIAL_API_URL
    if (value := _env(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)) is not None:
        return value, env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
    if (value := _env(env.OTEL_EXPORTER_OTLP_ENDPOINT)) is not None:
        return traces_url(value, protocol), env.OTEL_EXPORTER_OTLP_ENDPOINT
    return None, "default"


def _resolve_exporter(endpoint: str | None) -> str:
    raw = _env(env.OTEL_TRACES_EXPORTER)
    if raw is None:
        return EXPORTER_OTLP if endpoint else EXPORTER_STORE
    # The variable may list several; we honour the first one we know.
    for name in (part.strip().lower() for part in raw.split(",")):
        if name in (EXPORTER_OTLP, EXPORTER_CONSOLE, EXPORTER_NONE, EXPORTER_STORE):
            return name
    logger.warning("sentrial: OTEL_TRACES_EXPORTER=%r not supported, using otlp", raw)
    return EXPORTER_OTLP if endpoint else EXPORTER_STORE


def capture_content_from_env(default: bool = True) -> bool:
    """``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``: enum or legacy boolean."""
    return parse_bool(_env(env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT), default)


def _resolve_batch(batching: Any) -> BatchSettings:
    defaults = BatchSettings(
        schedule_delay_s=_float(env.OTEL_BSP_SCHEDULE_DELAY, 5000.0) / 1000.0,
        max_export_batch_size=_int(env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE, 512),
        max_queue_size=_int(env.OTEL_BSP_MAX_QUEUE_SIZE, 2048),
    )
    if batching is None or batching is False or batching is True:
        # True means "the Sentrial batcher's defaults": a one second flush.
        if batching is True:
            return BatchSettings(1.0, defaults.max_export_batch_size, defaults.max_queue_size)
        return defaults
    if getattr(batching, "enabled", True) is False:
        return defaults
    delay = getattr(batching, "flush_interval", defaults.schedule_delay_s)
    size = getattr(batching, "flush_threshold", defaults.max_export_batch_size)
    queue = getattr(batching, "max_queue_size", defaults.max_queue_size)
    return BatchSettings(
        schedule_delay_s=max(float(delay), 0.0),
        max_export_batch_size=max(int(size), 1),
        max_queue_size=max(int(queue), max(int(size), 1)),
    )


def resolve_settings(
    *,
    api_url: str | None = None,
    api_key: str | None = None,
    protocol: str | None = None,
    capture_content: bool | None = None,
    fail_silently: bool | None = None,
    batching: Any = None,
    home: str | os.PathLike[str] | None = None,
    shutdown_timeout: float | None = None,
    max_content_length: int | None = None,
    handle_sigterm: bool | None = None,
    instrument_executors: bool | None = None,
) -> Settings:
    """Resolve every setting: argument, then ``SENTRIAL_*``, then ``OTEL_*``, then default."""
    proto = _resolve_protocol(protocol)
    endpoint, source = _resolve_endpoint(api_url, proto)
    exporter = _resolve_exporter(endpoint)
    if exporter == EXPORTER_OTLP and endpoint is None:
        # OTEL_TRACES_EXPORTER=otlp without an endpoint: the OTLP default address.
        endpoint = traces_url(
            "http://localhost:4317" if proto == PROTOCOL_GRPC else "http://localhost:4318", proto
        )
        source = "OTLP default"
    headers = parse_headers(_env(env.OTEL_EXPORTER_OTLP_HEADERS))
    headers.update(parse_headers(_env(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS)))
    # Seconds, as the Python OTLP exporters read these variables.
    timeout = _float(env.OTEL_EXPORTER_OTLP_TIMEOUT, DEFAULT_EXPORT_TIMEOUT)
    timeout = _float(env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT, timeout)
    return Settings(
        exporter=exporter,
        endpoint=endpoint,
        endpoint_source=source,
        protocol=proto,
        headers=headers,
        api_key=api_key or _env(env.SENTRIAL_API_KEY),
        capture_content=(
            capture_content if capture_content is not None else capture_content_from_env()
        ),
        max_content_length=(
            max_content_length
            if max_content_length and max_content_length > 0
            else _int(env.SENTRIAL_MAX_CONTENT_LENGTH, DEFAULT_MAX_STRING_LENGTH)
        ),
        fail_silently=(
            fail_silently
            if fail_silently is not None
            else parse_bool(_env(env.SENTRIAL_FAIL_SILENTLY), True)
        ),
        home=Path(home) if home is not None else Path(_env(env.SENTRIAL_HOME) or DEFAULT_HOME),
        shutdown_timeout_s=(
            shutdown_timeout
            if shutdown_timeout is not None and shutdown_timeout >= 0
            else _float(env.SENTRIAL_SHUTDOWN_TIMEOUT, DEFAULT_SHUTDOWN_TIMEOUT)
        ),
        export_timeout_s=timeout,
        batch=_resolve_batch(batching),
        handle_sigterm=(
            handle_sigterm
            if handle_sigterm is not None
            else parse_bool(_env(env.SENTRIAL_HANDLE_SIGTERM), True)
        ),
        instrument_executors=(
            instrument_executors
            if instrument_executors is not None
            else parse_bool(_env(env.SENTRIAL_INSTRUMENT_EXECUTORS), True)
        ),
    )
