"""Which tracer (and meter and logger) provider our spans (metrics, scores) go through,
built or borrowed.

Rules (DESIGN.md, "Coexist with existing OpenTelemetry"): an explicit ``tracer_provider``
wins; else an application's global provider is reused and never replaced (we add an
exporter to it only when the user named an endpoint to *us*, with ``api_url`` /
``SENTRIAL_API_URL``); else we build one from the settings and install it globally, so that
other instrumentation nests under sessions. Pipelines we build are shared by every engine
with the same destination and shut down by us at exit, within the shutdown budget. The
logger provider for scores is ``log_export.py``'s business.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from sentrial_otel import environment_variables as env
from sentrial_otel._internal.errors import handle_internal_errors
from sentrial_otel._internal.export.delivery import (
    WORKER_THREAD_PREFIX,
    DeliveryProcessor,
    DeliveryStats,
    our_export,
)
from sentrial_otel._internal.export.exporters import build_exporter
from sentrial_otel._internal.export.log_export import build_logger_provider
from sentrial_otel._internal.export.metric_fork import start_from_zero_in_fork_children
from sentrial_otel._internal.logs import logger
from sentrial_otel._internal.process import executors
from sentrial_otel.config import EXPORTER_OTLP, PROTOCOL_GRPC, Settings, metrics_url
from sentrial_otel.store.undelivered import record_undelivered

_MARK = "_sentrial_export_key"
_ADDED_MARK = "_sentrial_added_deliveries"


@dataclass
class Pipeline:
    """A tracer provider, our delivery processor on it (if any), and whether we own it."""

    tracer_provider: trace.TracerProvider
    delivery: DeliveryProcessor | None
    owned: bool
    meter_provider: Any = None  # an SDK MeterProvider we built, if any
    logger_provider: Any = None  # an SDK LoggerProvider we built (for scores), if any

    def shutdown(self, budget_s: float) -> None:
        """Stop exporting: traces within the budget, metrics and scores alongside in the
        same budget."""
        deadline = time.monotonic() + budget_s
        millis = int(budget_s * 1000)
        side_threads = []
        side_shutdowns = []
        if self.meter_provider is not None:
            side_shutdowns.append(
                ("metrics", lambda: self.meter_provider.shutdown(timeout_millis=millis))
            )
        if self.logger_provider is not None:
            side_shutdowns.append(("logs", self.logger_provider.shutdown))
        for signal, shutdown in side_shutdowns:
            side_thread = threading.Thread(
                target=_QUIET_SHUTDOWN(shutdown),
                name=f"{WORKER_THREAD_PREFIX}{signal}-shutdown",
                daemon=True,
            )
            side_thread.start()
            side_threads.append(side_thread)
        with _QUIET_SHUTDOWN:
            if self.owned:
                self.tracer_provider.shutdown()  # type: ignore[attr-defined]
            elif self.delivery is not None:
                self.delivery.shutdown()
        for side_thread in side_threads:
            side_thread.join(max(deadline - time.monotonic(), 0))


_OWN: dict[tuple[Any, ...], Pipeline] = {}
_LOCK = threading.Lock()
# Shutdown must never raise; what fails there is worth a debug line only.
_QUIET_SHUTDOWN = handle_internal_errors("a shutdown step", level=logging.DEBUG)


def is_configured(provider: Any) -> bool:
    """Whether a real provider (the application's or ours) is installed, not a proxy."""
    return not isinstance(
        provider,
        (trace.ProxyTracerProvider, trace.NoOpTracerProvider, metrics.NoOpMeterProvider),
    ) and type(provider).__name__ != "_ProxyMeterProvider"


def _delivery(settings: Settings) -> DeliveryProcessor:
    exporter, destination = build_exporter(settings)

    def keep_report(stats: DeliveryStats, destination: str) -> None:
        # For `sentrial-otel doctor`, in the store directory it reads.
        counts = {**dataclasses.asdict(stats), "undelivered": stats.undelivered}
        record_undelivered(settings.home, counts, destination, stats.summary())

    return DeliveryProcessor(
        exporter,
        destination=destination,
        schedule_delay_s=settings.batch.schedule_delay_s,
        max_export_batch_size=settings.batch.max_export_batch_size,
        max_queue_size=settings.batch.max_queue_size,
        shutdown_timeout_s=settings.shutdown_timeout_s,
        on_undelivered=keep_report,
    )


def _quiet(exporter_class: type[Any]) -> Any:
    """A subclass of an OTLP metric exporter whose exports run inside ``our_export()``, so
    their retry logging folds into ours (and other instrumentation stays out of them)."""

    def export(self: Any, metrics_data: Any, timeout_millis: float = 10_000, **kwargs: Any) -> Any:
        with our_export():
            return exporter_class.export(self, metrics_data, timeout_millis=timeout_millis, **kwargs)

    return type(f"Quiet{exporter_class.__name__}", (exporter_class,), {"export": export})


def _meter_provider(settings: Settings, resource: Resource) -> Any:
    """An OTLP meter provider beside an OTLP trace pipeline we build; None otherwise."""
    if settings.exporter != EXPORTER_OTLP or is_configured(metrics.get_meter_provider()):
        return None
    try:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

        endpoint = settings.endpoint or ""
        timeout = min(settings.export_timeout_s, max(settings.shutdown_timeout_s, 1.0))
        exporter: Any
        if settings.protocol == PROTOCOL_GRPC:
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
                OTLPMetricExporter,
            )

            exporter = _quiet(OTLPMetricExporter)(
                endpoint=endpoint,
                insecure=endpoint.startswith("http://"),
                headers=settings.export_headers,
                timeout=timeout,
            )
        else:
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
                OTLPMetricExporter as HttpMetricExporter,
            )

            from sentrial_otel._internal.export.http_session import session_for

            exporter = _quiet(HttpMetricExporter)(
                endpoint=metrics_url(endpoint), headers=settings.export_headers, timeout=timeout,
                session=session_for("METRICS"),
            )
        provider = MeterProvider(
            resource=resource,
            metric_readers=[PeriodicExportingMetricReader(exporter)],
            shutdown_on_exit=False,
        )
        start_from_zero_in_fork_children(provider)
    except Exception:  # noqa: BLE001 - metrics are a bonus; traces must still work
        logger.info("sentrial: OTLP metrics unavailable; sending traces only", exc_info=True)
        return None
    metrics.set_meter_provider(provider)
    return provider


def _build(settings: Settings) -> Pipeline:
    resource = Resource.create()
    delivery = _delivery(settings)
    # We shut it down ourselves at exit, after ending abandoned sessions.
    provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    provider.add_span_processor(delivery)
    setattr(provider, _MARK, settings.export_key())
    if settings.instrument_executors:
        # Our provider, so the process's OpenTelemetry setup is ours to complete.
        executors.instrument()
    return Pipeline(
        provider, delivery, True, _meter_provider(settings, resource),
        build_logger_provider(settings, resource, delivery.exporter),
    )


def _add_to_application_provider(provider: trace.TracerProvider, settings: Settings) -> Pipeline:
    named_to_us = settings.endpoint_source in ("api_url argument", env.SENTRIAL_API_URL)
    add = getattr(provider, "add_span_processor", None)
    if not named_to_us or add is None:
        return Pipeline(provider, None, False)
    added: dict[Any, DeliveryProcessor] = getattr(provider, _ADDED_MARK, {})
    key = settings.export_key()
    if key not in added:
        added[key] = _delivery(settings)
        add(added[key])
        setattr(provider, _ADDED_MARK, added)
    return Pipeline(provider, added[key], False)


def select_pipeline(settings: Settings, explicit: trace.TracerProvider | None) -> Pipeline:
    """The pipeline these settings use: explicit, the application's, or ours (built once)."""
    if explicit is not None:
        return Pipeline(explicit, None, False)
    key = settings.export_key()
    with _LOCK:
        current = trace.get_tracer_provider()
        if is_configured(current):
            ours = getattr(current, _MARK, None)
            if ours is None:
                return _add_to_application_provider(current, settings)
        if key in _OWN:
            return _OWN[key]
        pipeline = _build(settings)
        _OWN[key] = pipeline
        if not is_configured(current):
            trace.set_tracer_provider(pipeline.tracer_provider)
        else:
            logger.info(
                "sentrial: a second destination (%s) gets its own tracer provider; the "
                "global one is left as it is",
                pipeline.delivery.destination if pipeline.delivery else "?",
            )
        return pipeline


def release(pipeline: Pipeline, budget_s: float) -> None:
    """Shut a pipeline down; one we own is forgotten so a later engine builds a fresh one."""
    if pipeline.owned:
        with _LOCK:
            for key, known in list(_OWN.items()):
                if known is pipeline:
                    del _OWN[key]
    pipeline.shutdown(budget_s)


def owned_pipelines() -> list[Pipeline]:
    with _LOCK:
        return list(_OWN.values())
