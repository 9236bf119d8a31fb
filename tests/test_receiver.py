"""The test OTLP receiver itself, driven by the plain OpenTelemetry SDK exporters (no code of ours).

If these pass, a failure elsewhere that involves the receiver is about what was sent, not
about how it was received.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpSpanExporter,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from tests.support.otlp_receiver import OtlpReceiver

PROTOCOLS = ["http/protobuf", "grpc"]


def make_exporter(rx: OtlpReceiver, *, timeout: float = 5, **kwargs: object) -> SpanExporter:
    """The stock SDK exporter for the receiver's protocol, with a bearer token header."""
    headers = {"authorization": "Bearer test-key-123"}
    if rx.protocol == "grpc":
        return GrpcSpanExporter(
            endpoint=rx.endpoint, insecure=True, headers=headers, timeout=timeout, **kwargs
        )
    return HttpSpanExporter(
        endpoint=rx.traces_endpoint, headers=headers, timeout=timeout, **kwargs
    )


def make_provider(exporter: SpanExporter) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": "receiver-test"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


@pytest.fixture(params=PROTOCOLS)
def rx(request: pytest.FixtureRequest) -> Iterator[OtlpReceiver]:
    with OtlpReceiver(protocol=request.param) as receiver:
        yield receiver


def emit_session(provider: TracerProvider) -> None:
    """A small agent-shaped trace: root, a tool child with an error event, a linked LLM span."""
    tracer = provider.get_tracer("receiver.test", "1.2.3")
    with tracer.start_as_current_span(
        "invoke_agent support", attributes={"gen_ai.agent.name": "support"}
    ) as root:
        root.set_attribute("sentrial.session.cost.usd", 0.25)
        root.set_attribute("sentrial.session.success", False)
        root.set_attribute("sentrial.session.usage.total_tokens", 1234)
        root.set_attribute("sentrial.decision.alternatives", ["a", "b"])
        root.set_attribute("user.id", "ünïcode-user")
        with tracer.start_as_current_span("execute_tool search") as tool:
            tool.add_event("exception", {"exception.type": "ValueError"})
            tool.set_status(Status(StatusCode.ERROR, "boom"))
        llm = tracer.start_span(
            "chat gpt-4o",
            kind=SpanKind.CLIENT,
            links=[Link(root.get_span_context(), {"why": "test"})],
            attributes={"gen_ai.usage.input_tokens": 10, "x.floats": [0.5, 1.5]},
        )
        llm.end()


def test_decodes_every_field(rx: OtlpReceiver) -> None:
    provider = make_provider(make_exporter(rx))
    emit_session(provider)
    provider.shutdown()

    spans = {s.name: s for s in rx.wait_for_spans(3)}
    root, tool = spans["invoke_agent support"], spans["execute_tool search"]
    llm = spans["chat gpt-4o"]
    assert root.is_root and root.kind == "INTERNAL" and root.status_code == "UNSET"
    assert len(root.trace_id) == 32 and len(root.span_id) == 16
    assert root.attributes == {
        "gen_ai.agent.name": "support",
        "sentrial.session.cost.usd": 0.25,
        "sentrial.session.success": False,
        "sentrial.session.usage.total_tokens": 1234,
        "sentrial.decision.alternatives": ["a", "b"],
        "user.id": "ünïcode-user",
    }
    assert tool.parent_span_id == root.span_id and tool.trace_id == root.trace_id
    assert (tool.status_code, tool.status_message) == ("ERROR", "boom")
    assert [(e.name, e.attributes) for e in tool.events] == [
        ("exception", {"exception.type": "ValueError"})
    ]
    assert llm.kind == "CLIENT"
    assert llm.attributes["x.floats"] == [0.5, 1.5]
    assert [(link.span_id, link.attributes) for link in llm.links] == [
        (root.span_id, {"why": "test"})
    ]
    assert root.resource["service.name"] == "receiver-test"
    assert (root.scope_name, root.scope_version) == ("receiver.test", "1.2.3")
    assert root.duration_s >= 0


def test_keeps_headers_and_raw_bytes(rx: OtlpReceiver) -> None:
    provider = make_provider(make_exporter(rx))
    emit_session(provider)
    provider.shutdown()

    rx.wait_for_spans(3)
    assert all(r.headers["authorization"] == "Bearer test-key-123" for r in rx.requests)
    assert all(r.signal == "traces" and r.protocol == rx.protocol for r in rx.requests)
    assert "ünïcode-user".encode() in rx.raw_bytes()


def test_http_gzip_is_decoded() -> None:
    with OtlpReceiver() as rx:
        provider = make_provider(make_exporter(rx, compression=Compression.Gzip))
        emit_session(provider)
        provider.shutdown()
        assert len(rx.wait_for_spans(3)) == 3
        assert rx.requests[0].headers["content-encoding"] == "gzip"


def test_endpoint_env_var_form(monkeypatch: pytest.MonkeyPatch) -> None:
    """rx.endpoint is what OTEL_EXPORTER_OTLP_ENDPOINT takes: the SDK adds /v1/traces."""
    with OtlpReceiver() as rx:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", rx.endpoint)
        provider = make_provider(HttpSpanExporter())
        emit_session(provider)
        provider.shutdown()
        assert len(rx.wait_for_spans(3)) == 3


def test_wait_for_spans_times_out_with_a_clear_message() -> None:
    with OtlpReceiver() as rx, pytest.raises(TimeoutError, match="expected >= 1 spans"):
        rx.wait_for_spans(1, timeout=0.2)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_fail_with_then_heals(protocol: str) -> None:
    """503 twice, then accepted: the SDK retries (backoff ~1s, ~2s) and delivers."""
    with OtlpReceiver(protocol=protocol) as rx:  # type: ignore[arg-type]
        rx.fail_with(503, times=2)
        exporter = make_exporter(rx, timeout=10)
        result = exporter.export(_one_span())
        assert result is SpanExportResult.SUCCESS
        outcomes = [a.outcome for a in rx.attempts]
        assert outcomes == ["rejected", "rejected", "accepted"]
        assert rx.span_count() == 1


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_retry_after_is_sent(protocol: str) -> None:
    """429 + Retry-After 3 s: the SDK waits the server's delay, not its own backoff."""
    with OtlpReceiver(protocol=protocol) as rx:  # type: ignore[arg-type]
        rx.fail_with(429, times=1, retry_after=3)
        exporter = make_exporter(rx, timeout=20)
        assert exporter.export(_one_span()) is SpanExportResult.SUCCESS
        first, second = rx.attempts
        assert first.status in (429, "RESOURCE_EXHAUSTED")
        # Both SDK exporters (1.45) honour the server's delay (Retry-After / RetryInfo)
        # instead of their own first backoff of about 1 s. A lower bound: a busy machine
        # only makes the wait longer.
        assert second.at - first.at >= 2.9, second.at - first.at


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_non_retryable_status_fails_at_once(protocol: str) -> None:
    with OtlpReceiver(protocol=protocol) as rx:  # type: ignore[arg-type]
        rx.fail_with(400)
        assert make_exporter(rx).export(_one_span()) is SpanExportResult.FAILURE
        assert len(rx.attempts) == 1 and rx.span_count() == 0


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_hang_until_timeout_then_release(protocol: str) -> None:
    with OtlpReceiver(protocol=protocol) as rx:  # type: ignore[arg-type]
        rx.hang()
        exporter = make_exporter(rx, timeout=0.5)
        started = time.monotonic()
        assert exporter.export(_one_span()) is SpanExportResult.FAILURE
        assert time.monotonic() - started < 5  # bounded by the exporter's timeout
        assert rx.attempts[0].outcome == "hung" and rx.span_count() == 0
        rx.release()
        assert make_exporter(rx).export(_one_span()) is SpanExportResult.SUCCESS
        assert rx.span_count() == 1


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_payload_limit(protocol: str) -> None:
    with OtlpReceiver(protocol=protocol, max_body_bytes=200) as rx:  # type: ignore[arg-type]
        big = _one_span(attributes={"blob": "x" * 5000})
        assert make_exporter(rx, timeout=2).export(big) is SpanExportResult.FAILURE
        assert rx.attempts[0].outcome == "too_large"
        assert rx.attempts[0].status in (413, "RESOURCE_EXHAUSTED")
        rx.limit_body(None)
        assert make_exporter(rx).export(big) is SpanExportResult.SUCCESS


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_stop_refuses_then_start_on_same_port(protocol: str) -> None:
    with OtlpReceiver(protocol=protocol) as rx:  # type: ignore[arg-type]
        exporter = make_exporter(rx, timeout=5)
        assert exporter.export(_one_span()) is SpanExportResult.SUCCESS
        port = rx.port
        rx.stop()
        # A short timeout, so the retries against the dead port end quickly.
        assert make_exporter(rx, timeout=1).export(_one_span()) is SpanExportResult.FAILURE
        rx.start()
        assert rx.port == port
        # The first exporter's connection was cut by stop(); it reconnects to the new server
        # (gRPC may need one retry while its channel leaves its reconnect backoff).
        assert exporter.export(_one_span()) is SpanExportResult.SUCCESS
        assert rx.span_count() == 2


def test_bad_payload_is_400() -> None:
    import urllib.error
    import urllib.request

    with OtlpReceiver() as rx:
        req = urllib.request.Request(
            rx.traces_endpoint,
            data=b"\xff\xff not protobuf",
            headers={"Content-Type": "application/x-protobuf"},
        )
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(req, timeout=5)
        assert info.value.code == 400
        assert rx.attempts[0].outcome == "bad_request"


def test_otlp_json_body() -> None:
    import json
    import urllib.request

    body = {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": "5b8efff798038103d269b633813fc60c",
                                "spanId": "eee19b7ec3c1b174",
                                "name": "from-json",
                                "attributes": [
                                    {"key": "k", "value": {"intValue": "7"}},
                                    {
                                        "key": "m",
                                        "value": {
                                            "kvlistValue": {
                                                "values": [
                                                    {"key": "a", "value": {"boolValue": True}}
                                                ]
                                            }
                                        },
                                    },
                                ],
                            }
                        ]
                    }
                ]
            }
        ]
    }
    with OtlpReceiver() as rx:
        req = urllib.request.Request(
            rx.traces_endpoint,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=5) as response:
            assert response.status == 200
        (span,) = rx.spans()
        assert span.name == "from-json"
        assert span.trace_id == "5b8efff798038103d269b633813fc60c"
        assert span.span_id == "eee19b7ec3c1b174"
        assert span.attributes == {"k": 7, "m": {"a": True}}


def _one_span(attributes: dict[str, object] | None = None) -> list:  # list[ReadableSpan]
    """One finished SDK span, without exporting it."""
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    memory = InMemorySpanExporter()
    provider = make_provider(memory)
    with provider.get_tracer("t").start_as_current_span("one", attributes=attributes or {}):
        pass
    return list(memory.get_finished_spans())
