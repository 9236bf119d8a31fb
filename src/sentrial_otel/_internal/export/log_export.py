"""Where scores go: a logger provider built next to our own trace pipeline.

Scores are log records (``spans/scores.py``). Like the meter provider, a logger provider is built
only beside a trace pipeline we build ourselves, and only when the application set no
global ``LoggerProvider`` (then that one is used, as it is, never replaced); ours is
installed globally, as our tracer provider is, so other instrumentations' evaluation
events travel with ours. Its exporter follows the traces' unless ``OTEL_LOGS_EXPORTER``
names another:

* traces over OTLP: the same endpoint and headers; for ``http/protobuf`` the traces URL
  with ``/v1/logs`` for ``/v1/traces`` (``OTEL_EXPORTER_OTLP_LOGS_ENDPOINT`` wins over that,
  ``api_url`` / ``SENTRIAL_API_URL`` over both);
* traces to the local store: the same store directory, where scores sit with their session;
* ``console``: printed; ``none``: made and dropped.
"""

from __future__ import annotations

import os
from typing import Any

from opentelemetry import _logs
from opentelemetry.sdk.resources import Resource

from sentrial_otel import environment_variables as env
from sentrial_otel.config import (
    EXPORTER_CONSOLE,
    EXPORTER_NONE,
    EXPORTER_OTLP,
    EXPORTER_STORE,
    PROTOCOL_GRPC,
    Settings,
    default_otlp_endpoint,
    logs_url,
    traces_url,
)
from sentrial_otel._internal.export.delivery import our_export
from sentrial_otel._internal.logs import logger
from sentrial_otel._internal.spans.scores import is_configured
from sentrial_otel.store.log_exporter import LogExporterBase, LogExportResult

_KNOWN = (EXPORTER_OTLP, EXPORTER_CONSOLE, EXPORTER_NONE, EXPORTER_STORE)
_MARK = "_sentrial_scores"  # on the logger providers we build
_EXPLICIT_TO_US = ("api_url argument", env.SENTRIAL_API_URL)


def logs_exporter_kind(settings: Settings, span_exporter: Any) -> str:
    """``otlp``, ``console``, ``none`` or ``store``: ``OTEL_LOGS_EXPORTER``, else the kind of
    exporter the spans actually got (the store when OTLP could not be set up)."""
    raw = (os.environ.get(env.OTEL_LOGS_EXPORTER) or "").strip()
    if raw:
        for name in (part.strip().lower() for part in raw.split(",")):
            if name in _KNOWN:
                return name
        logger.warning("sentrial: %s=%r names no supported exporter; scores go where the "
                       "traces go", env.OTEL_LOGS_EXPORTER, raw)
    from sentrial_otel._internal.export.exporters import DiscardingExporter
    from sentrial_otel.store import LocalStoreExporter

    if isinstance(span_exporter, LocalStoreExporter):
        return EXPORTER_STORE
    if isinstance(span_exporter, DiscardingExporter):
        return EXPORTER_NONE
    return settings.exporter


def logs_endpoint(settings: Settings) -> str:
    """The OTLP endpoint scores are sent to (see the module docstring)."""
    explicit = os.environ.get(env.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT, "").strip()
    if explicit and settings.endpoint_source not in _EXPLICIT_TO_US:
        return explicit
    traces = settings.endpoint or traces_url(
        default_otlp_endpoint(settings.protocol), settings.protocol
    )
    return traces if settings.protocol == PROTOCOL_GRPC else logs_url(traces)


def build_logger_provider(settings: Settings, resource: Resource, span_exporter: Any) -> Any:
    """Our logger provider for these settings, installed globally unless one of ours is
    already; None when the application has one (use it) or none could be built (scores
    then go nowhere)."""
    current = _logs.get_logger_provider()
    ours_is_global = getattr(current, _MARK, False)
    if is_configured(current) and not ours_is_global:
        return None
    try:
        from opentelemetry.sdk._logs import LoggerProvider
        from opentelemetry.sdk._logs.export import (
            BatchLogRecordProcessor,
            SimpleLogRecordProcessor,
        )

        kind = logs_exporter_kind(settings, span_exporter)
        provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
        exporter = _exporter(kind, settings, span_exporter)
        if exporter is not None:
            # A store write is a local append, done at once so the CLI sees the score; the
            # network goes through a batch, off the caller's thread.
            processor = (SimpleLogRecordProcessor if kind in (EXPORTER_STORE, EXPORTER_CONSOLE)
                         else BatchLogRecordProcessor)
            provider.add_log_record_processor(processor(exporter))
    except Exception:  # noqa: BLE001 - scores are a bonus; traces must still work
        logger.info("sentrial: OTLP logs unavailable; scores are not exported", exc_info=True)
        return None
    setattr(provider, _MARK, True)
    if not ours_is_global:
        # A second destination's scores go with its own spans, not the first one's.
        _logs.set_logger_provider(provider)
    return provider


def _exporter(kind: str, settings: Settings, span_exporter: Any) -> Any:
    if kind == EXPORTER_NONE:
        return None
    if kind == EXPORTER_CONSOLE:
        from opentelemetry.sdk._logs import export

        console = getattr(export, "ConsoleLogRecordExporter", None) or export.ConsoleLogExporter
        return console()
    if kind == EXPORTER_STORE:
        from sentrial_otel.store.log_exporter import LocalStoreLogExporter

        # The directory the spans went to (the fallback one, if the configured one failed).
        return LocalStoreLogExporter(getattr(span_exporter, "directory", None) or settings.home)
    endpoint = logs_endpoint(settings)
    timeout = min(settings.export_timeout_s, max(settings.shutdown_timeout_s, 1.0))
    inner: Any
    if settings.protocol == PROTOCOL_GRPC:
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter

        inner = OTLPLogExporter(endpoint=endpoint, insecure=endpoint.startswith("http://"),
                                headers=settings.export_headers, timeout=timeout)
    else:
        from opentelemetry.exporter.otlp.proto.http._log_exporter import (
            OTLPLogExporter as HttpLogExporter,
        )

        from sentrial_otel._internal.export.http_session import session_for

        inner = HttpLogExporter(endpoint=endpoint, headers=settings.export_headers,
                                timeout=timeout, session=session_for("LOGS"))
    return QuietLogExporter(inner, endpoint)


class QuietLogExporter(LogExporterBase):  # type: ignore[misc]
    """Runs an OTLP log exporter with its retry logging folded into one warning of ours."""

    def __init__(self, inner: Any, destination: str) -> None:
        self.inner = inner
        self.destination = destination
        self._warned = False

    def export(self, batch: Any) -> Any:
        with our_export():
            try:
                result = self.inner.export(batch)
            except Exception as error:  # noqa: BLE001 - an exporter must not raise
                result, reason = LogExportResult.FAILURE, str(error)
            else:
                reason = "the collector refused them or did not answer"
        if result != LogExportResult.SUCCESS:
            self._failed(len(batch), reason)
        return result

    def _failed(self, count: int, reason: str) -> None:
        if self._warned:
            logger.debug("sentrial: %d score(s) not delivered to %s: %s", count,
                         self.destination, reason)
            return
        self._warned = True
        logger.warning("sentrial: could not deliver %d score(s) to %s: %s (further failures "
                       "are logged at debug level)", count, self.destination, reason)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return bool(self.inner.force_flush(timeout_millis))

    def shutdown(self) -> None:
        self.inner.shutdown()
