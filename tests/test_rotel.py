"""A real collector hop: the plain OTel SDK -> rotel (OTLP in, OTLP out) -> our receiver.

Proves two things independent of our own code:
1. every span field and attribute type survives a real collector, both protocols each way;
2. what the SDK delivers, retries and drops when the collector dies and comes back
   (documented in docs/collector.md, "What happens when the collector restarts").
"""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpSpanExporter,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from tests.support.otlp_receiver import OtlpReceiver, SpanRecord

from tests.support.rotel import RotelCollector, read_env_file, rotel_binary

pytestmark = pytest.mark.slow

SENDERS = ["http", "grpc"]


def sdk_exporter(rotel: RotelCollector, sender: str, timeout: float = 10) -> SpanExporter:
    """The stock SDK exporter pointed at rotel's HTTP or gRPC receiver."""
    if sender == "grpc":
        return GrpcSpanExporter(endpoint=rotel.grpc_endpoint, insecure=True, timeout=timeout)
    return HttpSpanExporter(endpoint=rotel.http_traces_endpoint, timeout=timeout)


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as rx:
        yield rx


@pytest.fixture
def rotel(receiver: OtlpReceiver, tmp_path: Any) -> Iterator[RotelCollector]:
    with RotelCollector(receiver.endpoint, workdir=tmp_path / "rotel") as collector:
        yield collector


# --- 1. Fidelity ----------------------------------------------------------------------------

RICH_ATTRIBUTES: dict[str, Any] = {
    "gen_ai.operation.name": "invoke_agent",
    "gen_ai.agent.name": "support-bot",
    "sentrial.session.id": "sess-0001",
    "user.id": "user-ß-日本",
    "sentrial.session.success": False,
    "sentrial.session.cost.usd": 0.012345,
    "sentrial.session.usage.total_tokens": 2**40,
    "sentrial.decision.alternatives": ["search", "answer", ""],
    "sentrial.decision.confidence": 0.0,
    "x.ints": [1, -2, 3],
    "x.floats": [0.5, -1e300],
    "x.bools": [True, False],
    "gen_ai.input.messages": '[{"role":"user","parts":[{"type":"text","content":"hi"}]}]',
    "x.big": "é" * 16384,
}


def emit_rich_session(provider: TracerProvider) -> None:
    tracer = provider.get_tracer("sentrial.test", "0.1.0")
    with tracer.start_as_current_span(
        "invoke_agent support-bot", attributes=RICH_ATTRIBUTES
    ) as root:
        with tracer.start_as_current_span("execute_tool search") as tool:
            tool.add_event(
                "exception",
                {"exception.type": "TimeoutError", "exception.message": "slow", "n": 3},
            )
            tool.set_attribute("error.type", "TimeoutError")
            tool.set_status(Status(StatusCode.ERROR, "slow"))
        with tracer.start_as_current_span(
            "chat gpt-4o",
            kind=SpanKind.CLIENT,
            links=[Link(root.get_span_context(), {"link.reason": "parent-session"})],
        ):
            pass


def as_python(value: Any) -> Any:
    """SDK attribute values hold tuples; the wire gives lists."""
    return list(value) if isinstance(value, tuple) else value


def assert_same_span(sent: ReadableSpan, got: SpanRecord) -> None:
    context = sent.get_span_context()
    assert got.trace_id == f"{context.trace_id:032x}"
    assert got.parent_span_id == (f"{sent.parent.span_id:016x}" if sent.parent else "")
    assert got.kind == sent.kind.name
    assert got.status_code == sent.status.status_code.name
    assert got.status_message == (sent.status.description or "")
    assert got.attributes == {k: as_python(v) for k, v in (sent.attributes or {}).items()}
    assert [(e.name, e.attributes) for e in got.events] == [
        (e.name, {k: as_python(v) for k, v in (e.attributes or {}).items()}) for e in sent.events
    ]
    assert [(link.span_id, link.attributes) for link in got.links] == [
        (f"{link.context.span_id:016x}", dict(link.attributes or {})) for link in sent.links
    ]
    assert got.resource == {k: as_python(v) for k, v in sent.resource.attributes.items()}
    assert (got.scope_name, got.scope_version) == ("sentrial.test", "0.1.0")
    assert (got.start_time_unix_nano, got.end_time_unix_nano) == (sent.start_time, sent.end_time)


@pytest.mark.parametrize("rotel_exports", ["http", "grpc"])
@pytest.mark.parametrize("sender", SENDERS)
def test_every_field_survives_the_collector(sender: str, rotel_exports: str, tmp_path: Any) -> None:
    next_hop = "grpc" if rotel_exports == "grpc" else "http/protobuf"
    with (
        OtlpReceiver(protocol=next_hop) as rx,  # type: ignore[arg-type]
        RotelCollector(
            rx.endpoint, export_protocol=rotel_exports, workdir=tmp_path  # type: ignore[arg-type]
        ) as rotel,
    ):
        memory = InMemorySpanExporter()
        provider = TracerProvider(resource=Resource.create({"service.name": "agent-app"}))
        provider.add_span_processor(SimpleSpanProcessor(memory))
        provider.add_span_processor(SimpleSpanProcessor(sdk_exporter(rotel, sender)))
        emit_rich_session(provider)
        provider.shutdown()

        received = {s.span_id: s for s in rx.wait_for_spans(3, timeout=15)}
        sent = memory.get_finished_spans()
        assert len(received) == len(sent) == 3
        for span in sent:
            assert_same_span(span, received[f"{span.get_span_context().span_id:016x}"])


# --- 2. The collector dies and comes back ---------------------------------------------------


def batch_provider(exporter: SpanExporter) -> TracerProvider:
    """Like the engine's default pipeline: a BatchSpanProcessor, short delay for the test."""
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=100))
    return provider


def emit(provider: TracerProvider, phase: str, n: int = 50) -> None:
    tracer = provider.get_tracer("restart.test")
    for i in range(n):
        with tracer.start_as_current_span("invoke_agent a", attributes={"phase": phase, "i": i}):
            pass


def delivered_by_phase(rx: OtlpReceiver) -> Counter[str]:
    spans = rx.spans()
    assert len({s.span_id for s in spans}) == len(spans), "a span arrived twice"
    return Counter(str(s.attributes["phase"]) for s in spans)


@pytest.mark.parametrize("sender", SENDERS)
def test_short_outage_is_retried_and_delivered(
    sender: str, receiver: OtlpReceiver, rotel: RotelCollector
) -> None:
    """SIGKILL, 1.5 s down, restart: spans sent meanwhile arrive through the SDK's retries."""
    provider = batch_provider(sdk_exporter(rotel, sender, timeout=10))
    emit(provider, "before")
    assert provider.force_flush(10_000)
    receiver.wait_for_spans(50)

    rotel.kill()
    emit(provider, "down")  # the batch processor's export fails: connection refused, retried
    time.sleep(1.5)
    rotel.start()
    emit(provider, "after")

    started = time.monotonic()
    assert provider.force_flush(15_000)
    receiver.wait_for_spans(150, timeout=15)
    assert time.monotonic() - started < 10
    assert delivered_by_phase(receiver) == {"before": 50, "down": 50, "after": 50}
    provider.shutdown()


@pytest.mark.parametrize("sender", SENDERS)
def test_outage_longer_than_export_timeout_drops_those_batches(
    sender: str, receiver: OtlpReceiver, rotel: RotelCollector
) -> None:
    """Exporter timeout 2 s (retries ~1 s apart fit in it), 4 s down: the batch is dropped.

    The SDK gives up on a batch once its next backoff would pass the export timeout; the
    spans of that batch are lost (logged once by the exporter), later ones are delivered.
    """
    provider = batch_provider(sdk_exporter(rotel, sender, timeout=2))
    emit(provider, "before")
    assert provider.force_flush(10_000)
    receiver.wait_for_spans(50)

    rotel.kill()
    emit(provider, "down")
    time.sleep(4)
    rotel.start()
    emit(provider, "after")
    assert provider.force_flush(15_000)
    receiver.wait_for_spans(100, timeout=15)
    time.sleep(0.3)  # rotel's 100 ms batch: make sure nothing else is on its way
    assert delivered_by_phase(receiver) == {"before": 50, "after": 50}
    provider.shutdown()


def test_sigkill_loses_what_the_collector_held(receiver: OtlpReceiver, tmp_path: Any) -> None:
    """rotel answers 200 once a span is in its batch: SIGKILL before export loses it.

    The SDK counts these as delivered, so no retry can save them: the collector's own
    batching (or a persistent queue in a production collector) is where this is decided.
    """
    with RotelCollector(receiver.endpoint, workdir=tmp_path, batch_timeout="10s") as rotel:
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(sdk_exporter(rotel, "http")))
        emit(provider, "held", 20)
        time.sleep(0.3)
        assert receiver.span_count() == 0  # still in rotel's 10 s batch
        assert rotel.kill() == -9
        time.sleep(0.5)
        assert receiver.span_count() == 0


def test_sigterm_flushes_what_the_collector_held(receiver: OtlpReceiver, tmp_path: Any) -> None:
    """A graceful stop (SIGTERM) exports rotel's pending batch before exiting."""
    with RotelCollector(receiver.endpoint, workdir=tmp_path, batch_timeout="10s") as rotel:
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(sdk_exporter(rotel, "http")))
        emit(provider, "held", 20)
        time.sleep(0.3)
        assert receiver.span_count() == 0
        assert rotel.stop() == 0
        assert len(receiver.wait_for_spans(20, timeout=5)) == 20


def test_restart_reuses_ports_and_files(rotel_collector: RotelCollector) -> None:
    rotel = rotel_collector
    ports, pid = (rotel.http_port, rotel.grpc_port), rotel.pid
    assert pid is not None and rotel.pid_file.read_text().strip() == str(pid)
    rotel.restart()
    assert (rotel.http_port, rotel.grpc_port) == ports
    assert rotel.pid != pid and rotel.pid_file.read_text().strip() == str(rotel.pid)
    assert "Starting Rotel" in rotel.log_file.read_text()
    rotel.stop()
    assert not rotel.running and not rotel.pid_file.exists()


ROTEL_ENV = Path(__file__).resolve().parent.parent / "collector-config" / "rotel.env"


def test_shipped_rotel_env_is_understood_by_the_binary(
    otlp_receiver: OtlpReceiver, tmp_path: Path  # noqa: F811 - fixture
) -> None:
    """Every ROTEL_* key in collector-config/rotel.env is a real flag, and rotel starts with it."""
    env = read_env_file(ROTEL_ENV)
    help_text = subprocess.run(
        [str(rotel_binary()), "start", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert env and all(f"[env: {key}=" in help_text for key in env), sorted(env)
    assert env["ROTEL_OTLP_HTTP_ENDPOINT"] == "127.0.0.1:4318"
    assert env["ROTEL_OTLP_GRPC_ENDPOINT"] == "127.0.0.1:4317"
    # The file's settings, with ports and next hop moved to this test's free ones by flags.
    with RotelCollector(otlp_receiver.endpoint, workdir=tmp_path, env=env) as rotel:
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(sdk_exporter(rotel, "http")))
        emit(provider, "env", 3)
        assert len(otlp_receiver.wait_for_spans(3, timeout=10)) == 3
