"""Benchmark 3: export throughput, spans per second from the SDK to a real OTLP receiver.

Contenders (alternated in every round):

- ``http``: our ``DeliveryProcessor`` + the SDK's OTLP/HTTP exporter -> ``OtlpReceiver`` (HTTP)
- ``grpc``: the same with the OTLP/gRPC exporter -> ``OtlpReceiver`` (gRPC)
- ``rotel``: OTLP/HTTP -> a real ``rotel`` collector process -> ``OtlpReceiver`` (HTTP)

Each run ends N spans with 10 attributes (session-like: strings, ints, a 200-byte JSON
string) as fast as it can, then waits until the receiver holds all N; throughput is
N / (time from the first span to the last one received). All on 127.0.0.1. The receiver
runs in this process, so it competes with the sender for the GIL and the 2 cores: the
figures are a floor for what a separate collector would see.

Usage::

    python benchmarks/bench_export.py [--spans 20000] [--rounds 5] [--no-rotel]
"""

from __future__ import annotations

import argparse
import json
import time

from _common import emit, fmt, spread, versions  # noqa: I001 - sets sys.path first

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import set_span_in_context

from sentrial_otel._internal.export.delivery import DeliveryProcessor
from tests.support.otlp_receiver import OtlpReceiver

PAYLOAD = json.dumps({"query": "reset password", "results": [f"KB-{i}" for i in range(30)]})


def attributes(i: int) -> dict:
    return {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "search_kb",
        "gen_ai.tool.type": "function",
        "gen_ai.agent.name": "support-agent",
        "gen_ai.tool.call.arguments": PAYLOAD,
        "sentrial.session.id": f"sess-{i // 10}",
        "user.id": "user-123",
        "sentrial.usage.total_tokens": 120,
        "sentrial.cost.usd": 0.0004,
        "sentrial.content.truncated": False,
    }


def send(exporter, spans: int, rx: OtlpReceiver, timeout: float = 120.0) -> float:
    """Seconds from the first span ended to the last one received."""
    delivery = DeliveryProcessor(
        exporter, destination="bench", schedule_delay_s=0.05, max_export_batch_size=512,
        max_queue_size=spans + 1024, shutdown_timeout_s=10,
    )
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(delivery)
    tracer = provider.get_tracer("bench")
    already = rx.span_count()
    start = time.perf_counter()
    root = tracer.start_span("invoke_agent bench")
    context = set_span_in_context(root)
    for i in range(spans - 1):
        tracer.start_span("execute_tool search_kb", context, attributes=attributes(i)).end()
    root.end()
    deadline = start + timeout
    while rx.span_count() < already + spans and time.perf_counter() < deadline:
        time.sleep(0.002)
    elapsed = time.perf_counter() - start
    provider.shutdown()
    if rx.span_count() < already + spans:
        raise RuntimeError(f"only {rx.span_count() - already} of {spans} spans arrived")
    return elapsed


def run(spans: int, rounds: int, with_rotel: bool) -> dict:
    http_rx = OtlpReceiver("http/protobuf").start()
    grpc_rx = OtlpReceiver("grpc").start()
    rotel = rotel_rx = None
    contenders = {
        "http": lambda: send(HttpExporter(endpoint=http_rx.traces_endpoint), spans, http_rx),
        "grpc": lambda: send(GrpcExporter(endpoint=grpc_rx.endpoint, insecure=True), spans, grpc_rx),
    }
    if with_rotel:
        from tests.support.rotel import RotelCollector

        rotel_rx = OtlpReceiver("http/protobuf").start()
        rotel = RotelCollector(export_to=rotel_rx.endpoint, batch_timeout="50ms").start()
        contenders["rotel"] = lambda: send(
            HttpExporter(endpoint=rotel.http_traces_endpoint), spans, rotel_rx
        )
    rates: dict[str, list[float]] = {name: [] for name in contenders}
    try:
        receivers = [http_rx, grpc_rx] + ([rotel_rx] if with_rotel else [])
        for fn in contenders.values():  # warm-up: connections, imports
            fn()
        for rx in receivers:
            rx.clear()
        for index in range(rounds):
            order = list(contenders.items())
            order = order[index % len(order):] + order[: index % len(order)]
            for name, fn in order:
                rates[name].append(spans / fn())
            for rx in receivers:
                rx.clear()
    finally:
        if rotel is not None:
            rotel.stop()
        if rotel_rx is not None:
            rotel_rx.stop()
        http_rx.stop()
        grpc_rx.stop()
    results = {name: {"spans_per_s": spread(values)} for name, values in rates.items()}
    for name, result in results.items():
        print(f"{name:6} spans/s {fmt(result['spans_per_s'], digits=0)}", flush=True)
    extra = ["rotel"] if with_rotel else []
    return {"spans": spans, "rounds": rounds, "results": results, "versions": versions(extra)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-rotel", action="store_true")
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    result = run(args.spans, args.rounds, not args.no_rotel)
    emit("export", result, args.out)
    return result


if __name__ == "__main__":
    main()
