"""``OtlpHttpSpanExporter``: our encoder, the SDK's sending, to a real receiver.

The request body must be the SDK exporter's own (byte for byte, compressed as configured),
and the SDK's sending behaviour (retry on 503, the size limit, shutdown) must hold.
"""

from __future__ import annotations

import logging

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from sentrial_otel._internal.export.exporters import build_exporter
from sentrial_otel._internal.export.otlp_http import OtlpHttpSpanExporter
from sentrial_otel.config import EXPORTER_OTLP, PROTOCOL_HTTP, Settings
from tests.support.otlp_receiver import OtlpReceiver


def _spans(n: int = 5) -> list:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource({"service.name": "agent"}), shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("test")
    for i in range(n):
        tracer.start_span(f"execute_tool t{i}", attributes={"gen_ai.tool.name": f"t{i}",
                                                              "n": i}).end()
    return list(memory.get_finished_spans())


def _export_once(exporter: OtlpHttpSpanExporter, spans: list) -> SpanExportResult:
    try:
        return exporter.export(spans)
    finally:
        exporter.shutdown()


def _the_one_request_body(receiver: OtlpReceiver) -> bytes:
    (request,) = receiver.requests
    return request.body


@pytest.fixture
def receiver():
    with OtlpReceiver("http/protobuf") as rx:
        yield rx


def test_the_pipeline_we_build_for_otlp_http_uses_it(tmp_path) -> None:
    settings = Settings(exporter=EXPORTER_OTLP, protocol=PROTOCOL_HTTP,
                        endpoint="http://127.0.0.1:9/v1/traces", home=tmp_path)
    exporter, _ = build_exporter(settings)
    try:
        assert isinstance(exporter, OtlpHttpSpanExporter)
        assert exporter.encodes_itself  # the installed SDK exporter has the split we use
    finally:
        exporter.shutdown()


@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_the_request_is_the_sdks_byte_for_byte(receiver, compression) -> None:
    from opentelemetry.exporter.otlp.proto.http import Compression

    spans = _spans()
    exporter = OtlpHttpSpanExporter(endpoint=receiver.traces_endpoint,
                                    compression=Compression(compression))
    assert _export_once(exporter, spans) is SpanExportResult.SUCCESS
    assert _the_one_request_body(receiver) == encode_spans(spans).SerializePartialToString()
    assert receiver.requests[0].headers.get("content-encoding", "none") == compression
    assert [s.name for s in receiver.spans()] == [s.name for s in spans]


def test_a_503_is_retried_by_the_sdks_client(receiver) -> None:
    receiver.fail_with(503, times=1, retry_after=0)
    exporter = OtlpHttpSpanExporter(endpoint=receiver.traces_endpoint, timeout=10)
    assert _export_once(exporter, _spans(3)) is SpanExportResult.SUCCESS
    assert [a.outcome for a in receiver.attempts] == ["rejected", "accepted"]
    assert receiver.span_count() == 3


def test_a_batch_over_the_size_limit_is_not_sent(receiver, caplog) -> None:
    exporter = OtlpHttpSpanExporter(endpoint=receiver.traces_endpoint, max_request_size=100)
    with caplog.at_level(logging.WARNING):
        assert _export_once(exporter, _spans(5)) is SpanExportResult.FAILURE
    assert receiver.attempts == []
    assert any("exceeds max_request_size 100" in r.getMessage() for r in caplog.records)


def test_after_shutdown_nothing_is_sent(receiver) -> None:
    exporter = OtlpHttpSpanExporter(endpoint=receiver.traces_endpoint)
    exporter.shutdown()
    assert exporter.export(_spans(2)) is SpanExportResult.FAILURE
    assert receiver.attempts == []


def test_without_the_sdks_split_every_export_is_the_sdks_own(receiver) -> None:
    # What an exporter release without ``_client.export(bytes)`` gets (_can_send_encoded).
    spans = _spans(2)
    exporter = OtlpHttpSpanExporter(endpoint=receiver.traces_endpoint)
    exporter.encodes_itself = False
    exporter._encoder = None  # would fail if used
    assert _export_once(exporter, spans) is SpanExportResult.SUCCESS
    assert _the_one_request_body(receiver) == encode_spans(spans).SerializePartialToString()


def _export_taking_a_deadline(self, data, deadline):  # another release's signature
    raise AssertionError("called with our one argument")


def _export_taking_no_bytes(self):
    raise AssertionError("called with our one argument")


@pytest.mark.parametrize("export", [_export_taking_a_deadline, _export_taking_no_bytes, None],
                         ids=["extra argument", "no argument", "not callable"])
def test_a_client_whose_export_takes_other_arguments_is_not_used(monkeypatch, export) -> None:
    from opentelemetry.exporter.otlp.common import http as sdk_http

    monkeypatch.setattr(sdk_http._OTLPHTTPClient, "export", export)
    exporter = OtlpHttpSpanExporter(endpoint="http://127.0.0.1:9/v1/traces")
    try:
        assert exporter.encodes_itself is False
    finally:
        monkeypatch.undo()
        exporter.shutdown()


def _without_client(exporter) -> None:
    del exporter._client  # releases before 1.45 (pyproject allows 1.37 on) have none


def _without_metrics_operation(exporter) -> None:
    exporter._metrics = object()


@pytest.mark.parametrize("change", [_without_client, _without_metrics_operation],
                         ids=["no _client", "no _metrics.export_operation"])
def test_an_exporter_without_the_parts_we_use_is_not_used(change) -> None:
    from sentrial_otel._internal.export.otlp_http import _can_send_encoded

    exporter = OtlpHttpSpanExporter(endpoint="http://127.0.0.1:9/v1/traces")
    client = exporter._client
    try:
        assert _can_send_encoded(exporter) is True
        change(exporter)
        assert _can_send_encoded(exporter) is False
    finally:
        client.shutdown()


@pytest.mark.parametrize(("version", "used"), [("1.45.2", True), ("1.45.0", True),
                                               ("1.46.0", False), ("2.0.0", False)])
def test_the_private_client_is_used_only_on_the_releases_it_was_checked_on(
    monkeypatch, version, used
) -> None:
    # A later release may keep ``_client.export(bytes)`` and change what it does (compress
    # elsewhere, answer otherwise): that would lose every batch, so it gets the SDK's path.
    from sentrial_otel._internal.export import otlp_http

    monkeypatch.setattr(otlp_http, "_EXPORTER_VERSION", version)
    exporter = OtlpHttpSpanExporter(endpoint="http://127.0.0.1:9/v1/traces")
    try:
        assert exporter.encodes_itself is used
    finally:
        exporter.shutdown()


@pytest.mark.parametrize("send_ahead", [True, False], ids=["our encoder", "the SDK's encoder"])
def test_an_attribute_left_out_at_encoding_is_said_once(receiver, caplog, send_ahead) -> None:
    # The SDK's API takes an int past int64; OTLP cannot carry it, so both encoders leave
    # the attribute out, logging it on a logger our exports quiet: we say it ourselves, once.
    from sentrial_otel._internal.export.delivery import DeliveryProcessor

    exporter = OtlpHttpSpanExporter(endpoint=receiver.traces_endpoint)
    exporter.encodes_itself = send_ahead
    delivery = DeliveryProcessor(exporter, destination="rx", schedule_delay_s=0.01,
                                 max_export_batch_size=1)
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(delivery)
    with caplog.at_level(logging.WARNING, logger="sentrial"):
        for key in ("big", "bigger"):
            provider.get_tracer("t").start_span("s", attributes={key: 2**64, "ok": 1}).end()
        assert delivery.force_flush(timeout_millis=10_000)
        delivery.shutdown()
    said = [r.getMessage() for r in caplog.records if r.name == "sentrial"]
    assert len(said) == 1, said
    assert "'big'" in said[0] and "left out" in said[0] and "18446744073709551616" in said[0]
    assert [s.attributes for s in receiver.spans()] == [{"ok": 1}, {"ok": 1}]
