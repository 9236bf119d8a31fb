"""Choosing the span exporter that the settings ask for."""

from __future__ import annotations

import os
from pathlib import Path

from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from sentrial_otel._internal.forksafe import in_fork_children
from sentrial_otel._internal.logs import logger
from sentrial_otel.config import (
    EXPORTER_CONSOLE,
    EXPORTER_NONE,
    EXPORTER_OTLP,
    PROTOCOL_GRPC,
    Settings,
    default_otlp_endpoint,
)


class DiscardingExporter(SpanExporter):
    """``OTEL_TRACES_EXPORTER=none``: spans are made (for context) but go nowhere."""

    def export(self, spans: object) -> SpanExportResult:
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


def describe_destination(settings: Settings) -> str:
    if settings.exporter == EXPORTER_OTLP:
        return f"{settings.endpoint} ({settings.protocol})"
    if settings.exporter == EXPORTER_CONSOLE:
        return "the console"
    if settings.exporter == EXPORTER_NONE:
        return "nowhere (OTEL_TRACES_EXPORTER=none)"
    return f"the local store {settings.home}"


def build_exporter(settings: Settings) -> tuple[SpanExporter, str]:
    """The exporter for these settings and a human description of where spans go."""
    if settings.exporter == EXPORTER_OTLP:
        try:
            return _otlp_exporter(settings), describe_destination(settings)
        except Exception as error:  # noqa: BLE001 - a bad OTEL_* value must not break the agent
            # e.g. the grpc extra missing, or OTEL_EXPORTER_OTLP_COMPRESSION=brotli: the SDK
            # exporter raises from its constructor. Keep the spans locally instead.
            logger.warning(
                "sentrial: cannot export to %s: %s; spans go to the local store instead",
                describe_destination(settings),
                error,
            )
            return _store_exporter(settings.home)
    if settings.exporter == EXPORTER_CONSOLE:
        return _console_exporter(), describe_destination(settings)
    if settings.exporter == EXPORTER_NONE:
        return DiscardingExporter(), describe_destination(settings)
    return _store_exporter(settings.home)


def _otlp_exporter(settings: Settings) -> SpanExporter:
    # Each export, retries included, is bounded by the timeout; the delivery processor
    # runs it off the caller's thread and aborts it at shutdown.
    if settings.protocol == PROTOCOL_GRPC:
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
                OTLPSpanExporter as GrpcExporter,
            )
        except ImportError as error:
            raise ImportError(
                "OTLP over gRPC needs the grpc extra: pip install 'sentrial-otel[grpc]'"
            ) from error
        endpoint = settings.endpoint or default_otlp_endpoint(PROTOCOL_GRPC)
        exporter = GrpcExporter(
            endpoint=endpoint,
            insecure=endpoint.startswith("http://"),
            headers=settings.export_headers,
            timeout=settings.export_timeout_s,
        )
        if _grpc_fork_support_off():
            in_fork_children(exporter, _warn_grpc_cannot_fork)
        return exporter
    from sentrial_otel._internal.export.http_session import session_for
    from sentrial_otel._internal.export.otlp_http import OtlpHttpSpanExporter

    return OtlpHttpSpanExporter(
        endpoint=settings.endpoint,
        headers=settings.export_headers,
        timeout=settings.export_timeout_s,
        session=session_for("TRACES"),  # not shared with a fork child
    )


def _grpc_fork_support_off() -> bool:
    return os.environ.get("GRPC_ENABLE_FORK_SUPPORT", "").strip().lower() in ("0", "false", "no")


def _warn_grpc_cannot_fork(_exporter: SpanExporter) -> None:
    # Measured with grpcio 1.85.3: with its fork support turned off, a fork child's gRPC
    # calls never return (unset, grpcio handles the fork and the child exports fine).
    logger.warning(
        "sentrial: GRPC_ENABLE_FORK_SUPPORT=%s: gRPC exports from this forked process hang, so "
        "its spans, scores and metrics will not arrive (and flush() blocks). Use "
        "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf, or start children with 'spawn' or "
        "'forkserver'.", os.environ.get("GRPC_ENABLE_FORK_SUPPORT"),
    )


def _console_exporter() -> SpanExporter:
    from sentrial_otel._internal.export.console import SessionTreeConsoleExporter

    return SessionTreeConsoleExporter()


def _store_exporter(home: Path) -> tuple[SpanExporter, str]:
    from sentrial_otel.store import LocalStoreExporter, StoreError
    from sentrial_otel.store.layout import fallback_directory

    try:
        return LocalStoreExporter(home), f"the local store {home}"
    except StoreError as error:
        fallback = fallback_directory()
        logger.warning("sentrial: %s; writing to %s instead", error, fallback)
        try:
            return LocalStoreExporter(fallback), f"the local store {fallback}"
        except StoreError as second:
            logger.warning("sentrial: %s; spans will not be stored", second)
            return DiscardingExporter(), "nowhere (the local store is unusable)"
