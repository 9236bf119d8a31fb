"""Settings precedence: argument, then SENTRIAL_*, then OTEL_*, then default."""

from __future__ import annotations

from pathlib import Path

import pytest

from sentrial.client import SentrialClient
from sentrial_otel.config import resolve_settings


def test_defaults_write_to_the_local_store(monkeypatch, tmp_path):
    monkeypatch.delenv("SENTRIAL_HOME")
    settings = resolve_settings()
    assert settings.exporter == "store"
    assert settings.endpoint is None
    assert settings.home == Path(".sentrial")
    assert settings.capture_content is True
    assert settings.fail_silently is True
    assert settings.shutdown_timeout_s == 5.0
    assert settings.protocol == "http/protobuf"


def test_endpoint_precedence(monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://base:4318")
    assert resolve_settings().endpoint == "http://base:4318/v1/traces"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:4318/custom")
    assert resolve_settings().endpoint == "http://traces:4318/custom"
    monkeypatch.setenv("SENTRIAL_API_URL", "http://sentrial:4318/")
    settings = resolve_settings()
    assert (settings.endpoint, settings.endpoint_source) == ("http://sentrial:4318/v1/traces", "SENTRIAL_API_URL")
    settings = resolve_settings(api_url="http://arg:4318/v1/traces")
    assert (settings.endpoint, settings.endpoint_source) == ("http://arg:4318/v1/traces", "api_url argument")
    assert settings.exporter == "otlp"


def test_grpc_endpoint_has_no_path(monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317")
    settings = resolve_settings()
    assert (settings.protocol, settings.endpoint) == ("grpc", "http://collector:4317")
    assert resolve_settings(protocol="http/protobuf").endpoint == "http://collector:4317/v1/traces"


def test_headers_and_api_key(monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=acme,x-note=a%20b")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-tenant=override")
    monkeypatch.setenv("SENTRIAL_API_KEY", "env-key")
    settings = resolve_settings()
    assert settings.export_headers == {"x-tenant": "override", "x-note": "a b", "authorization": "Bearer env-key"}
    assert resolve_settings(api_key="arg-key").export_headers["authorization"] == "Bearer arg-key"
    assert "env-key" not in repr(settings)


@pytest.mark.parametrize(("value", "exporter"), [("console", "console"), ("none", "none"), ("otlp", "otlp")])
def test_traces_exporter_variable(monkeypatch, value, exporter):
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", value)
    settings = resolve_settings()
    assert settings.exporter == exporter
    if exporter == "otlp":
        assert settings.endpoint == "http://localhost:4318/v1/traces"


def test_batching_maps_onto_the_batch_processor(monkeypatch):
    from sentrial import BatcherConfig

    settings = resolve_settings(batching=BatcherConfig(flush_interval=0.5, flush_threshold=25, max_queue_size=400))
    assert (settings.batch.schedule_delay_s, settings.batch.max_export_batch_size, settings.batch.max_queue_size) == (0.5, 25, 400)
    monkeypatch.setenv("OTEL_BSP_MAX_QUEUE_SIZE", "99")
    assert resolve_settings().batch.max_queue_size == 99
    assert resolve_settings(batching=True).batch.schedule_delay_s == 1.0


def test_bad_environment_values_fall_back_with_a_warning(monkeypatch, caplog):
    monkeypatch.setenv("SENTRIAL_SHUTDOWN_TIMEOUT", "soon")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "carrier-pigeon")
    settings = resolve_settings()
    assert settings.shutdown_timeout_s == 5.0
    assert settings.protocol == "http/protobuf"
    assert "SENTRIAL_SHUTDOWN_TIMEOUT" in caplog.text
    assert "carrier-pigeon" in caplog.text


@pytest.mark.parametrize("value", ["not-a-url", "ftp://collector:4318", "localhost:4318"])
def test_an_endpoint_that_is_not_a_url_is_ignored_with_a_warning(monkeypatch, caplog, value):
    monkeypatch.setenv("SENTRIAL_API_URL", value)
    settings = resolve_settings()
    assert (settings.exporter, settings.endpoint) == ("store", None)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [f"sentrial: SENTRIAL_API_URL={value!r} is not a collector URL "
                        "(not an http:// or https:// URL); ignoring it"]
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    assert resolve_settings().endpoint == "http://collector:4318/v1/traces"  # the next source


def test_grpc_takes_a_bare_host_and_port(monkeypatch, caplog):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    monkeypatch.setenv("SENTRIAL_API_URL", "collector:4317")
    assert resolve_settings().endpoint == "collector:4317"
    assert "sentrial:" not in caplog.text


def test_explicit_tracer_provider_wins(spans):
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    own = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(own))
    client = SentrialClient(tracer_provider=provider)
    client.complete_session(client.create_session(name="n", agent_name="mine", user_id="u"))
    assert [s.name for s in own.get_finished_spans()] == ["invoke_agent mine"]
    assert spans.all() == []
