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
    python benchmarks/bench_export.py --vs-sdk [--spans 20000] [--rounds 5] [--profile]
    python benchmarks/bench_export.py --encoder [--rounds 5]

``--vs-sdk`` (issue 11): our export path against the SDK's, the same spans to one
``OtlpReceiver`` in a separate process: spans per second and this (the sender's) process's
CPU seconds per 10,000 spans, until every span is acknowledged. Like with like: 512 spans a
batch, no compression, the same HTTP transport (the SDK exporter's ``requests`` session)
for all three contenders:

- ``ours``: ``DeliveryProcessor`` + ``OtlpHttpSpanExporter`` (what our pipeline builds: the
  SDK exporter's sending with our encoder, the next batch encoded while a request waits);
- ``ours-no-send-ahead``: the same, each batch encoded and sent in turn on one thread;
- ``ours-sdk-encoder``: ``DeliveryProcessor`` + the SDK's ``OTLPSpanExporter`` (the
  processor alone against the SDK's);
- ``sdk``: ``BatchSpanProcessor`` + ``OTLPSpanExporter``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from _common import emit, fmt, fmt_quartiles, spread, versions  # noqa: I001 - sets sys.path first

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace import set_span_in_context

from sentrial_otel._internal.export.delivery import DeliveryProcessor
from sentrial_otel._internal.export.otlp_http import OtlpHttpSpanExporter
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


# --- --vs-sdk: our delivery processor against the SDK's BatchSpanProcessor (issue 11) --------
class ReceiverProcess:
    """An ``OtlpReceiver`` (OTLP/HTTP) in its own process, so that this process's CPU time
    is the sender's alone: ``count`` -> spans received so far, ``clear``, ``end``."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--serve-receiver"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        self.traces_endpoint = self._ask(None)

    def _ask(self, command: str | None) -> str:
        assert self.process.stdin is not None and self.process.stdout is not None
        if command is not None:
            self.process.stdin.write(command + "\n")
            self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the receiver process died (its stderr is above)")
        return line.strip()

    def span_count(self) -> int:
        return int(self._ask("count"))

    def clear(self) -> None:
        self._ask("clear")

    def stop(self) -> None:
        if self.process.poll() is None:
            self._ask("end")
            self.process.wait(timeout=30)


def serve_receiver() -> None:
    rx = OtlpReceiver("http/protobuf").start()
    print(rx.traces_endpoint, flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "count":
            print(rx.span_count(), flush=True)
        elif command == "clear":
            rx.clear()
            print("ok", flush=True)
        elif command == "end":
            print("ok", flush=True)
            break
    rx.stop()


def ours(exporter, spans: int):  # with either exporter (VS_SDK)
    # Our defaults (config.BatchSettings) but the queue, sized for the burst so neither drops.
    return DeliveryProcessor(exporter, destination="bench", max_queue_size=spans + 1024,
                             shutdown_timeout_s=30)


def sdk(exporter, spans: int):
    # The SDK's defaults but the queue, as for ours.
    return BatchSpanProcessor(exporter, max_queue_size=spans + 1024)


class WithoutSendAhead(SpanExporter):
    """``OtlpHttpSpanExporter`` without ``prepare_export``: the processor then encodes and
    sends each batch in turn on its one worker."""

    def __init__(self, endpoint: str) -> None:
        self.inner = OtlpHttpSpanExporter(endpoint=endpoint)

    def export(self, spans):
        return self.inner.export(spans)

    def shutdown(self) -> None:
        self.inner.shutdown()


# name -> (processor factory, exporter class)
VS_SDK = {
    "ours": (ours, OtlpHttpSpanExporter),
    "ours-no-send-ahead": (ours, WithoutSendAhead),
    "ours-sdk-encoder": (ours, HttpExporter),
    "sdk": (sdk, HttpExporter),
}


def send_through(contender: str, spans: int, rx: ReceiverProcess, exporter=None) -> tuple[float, float]:
    """(wall seconds, this process's CPU seconds) from the first span ended until the
    receiver acknowledged all of them (force_flush returns when every batch's POST has been
    answered), encoding included."""
    make_processor, exporter_class = VS_SDK[contender]
    exporter = exporter or exporter_class(endpoint=rx.traces_endpoint)
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(make_processor(exporter, spans))
    tracer = provider.get_tracer("bench")
    start, start_cpu = time.perf_counter(), time.process_time()
    root = tracer.start_span("invoke_agent bench")
    context = set_span_in_context(root)
    for i in range(spans - 1):
        tracer.start_span("execute_tool search_kb", context, attributes=attributes(i)).end()
    root.end()
    provider.force_flush(timeout_millis=120_000)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    received = rx.span_count()  # before shutdown, which would send what a flush left behind
    provider.shutdown()
    rx.clear()
    if received != spans:
        raise RuntimeError(f"{received} of {spans} spans arrived")
    return elapsed, cpu


def _profiled(call, profiler):
    """``call``, profiled by ``profiler`` on whatever thread runs it (cProfile follows the
    thread that enables it)."""

    def profiled(*args, **kwargs):
        profiler.enable()
        try:
            return call(*args, **kwargs)
        finally:
            profiler.disable()

    return profiled


def profile_vs_sdk(spans: int, top: int = 10) -> dict[str, str]:
    """cProfile of one send per contender: the caller's thread (ending spans, the
    processor's ``on_end``); the exporter's calls on the processor's thread ("exports":
    ``export``, or ``prepare_export``, which encodes); and, for ours, the requests that
    ``prepare_export`` hands to the send thread ("sends"). What the processor's own loop
    does between exports is in none of them."""
    import cProfile
    import io
    import pstats

    rx = ReceiverProcess()
    texts = {}
    try:
        for name, (_, exporter_class) in VS_SDK.items():
            caller, worker, sender = cProfile.Profile(), cProfile.Profile(), cProfile.Profile()
            exporter = exporter_class(endpoint=rx.traces_endpoint)
            exporter.export = _profiled(exporter.export, worker)
            prepare = getattr(exporter, "prepare_export", None)
            if prepare is not None:
                exporter.prepare_export = _profiled(
                    lambda batch, _prepare=prepare, _sender=sender: _profiled(_prepare(batch), _sender),
                    worker,
                )
            caller.enable()
            send_through(name, spans, rx, exporter)
            caller.disable()
            parts = {"caller thread": caller, "exports": worker}
            if prepare is not None:
                parts["sends"] = sender
            for part, profiler in parts.items():
                text = io.StringIO()
                pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(top)
                texts[f"{name} {part}"] = text.getvalue()
                print(f"--- {name}, {part}\n{text.getvalue()}", flush=True)
    finally:
        rx.stop()
    return texts


def run_vs_sdk(spans: int, rounds: int) -> dict:
    """The contenders of ``VS_SDK``: same spans, same receiver, the order rotated every
    round; each ratio is taken within a round against the SDK's figure of that round."""
    contenders = list(VS_SDK)
    load_before = os.getloadavg()
    rx = ReceiverProcess()
    rates: dict[str, list[float]] = {name: [] for name in contenders}
    cpu_per_10k: dict[str, list[float]] = {name: [] for name in contenders}
    ratios = {name: {"rate": [], "cpu": []} for name in contenders if name != "sdk"}
    try:
        for name in contenders:  # warm-up: connections, imports
            send_through(name, min(spans, 2000), rx)
        for index in range(rounds):
            shift = index % len(contenders)
            for name in contenders[shift:] + contenders[:shift]:
                elapsed, cpu = send_through(name, spans, rx)
                rates[name].append(spans / elapsed)
                cpu_per_10k[name].append(cpu / spans * 10_000)
            for name, ratio in ratios.items():
                ratio["rate"].append(rates[name][-1] / rates["sdk"][-1])
                ratio["cpu"].append(cpu_per_10k[name][-1] / cpu_per_10k["sdk"][-1])
    finally:
        rx.stop()
    results = {
        name: {"spans_per_s": spread(rates[name]), "cpu_s_per_10k_spans": spread(cpu_per_10k[name])}
        for name in contenders
    }
    for name, result in results.items():
        print(f"{name:16} spans/s {fmt(result['spans_per_s'], digits=0)}"
              f"  CPU s per 10,000 spans {fmt(result['cpu_s_per_10k_spans'], digits=3)}", flush=True)
    over_sdk = {
        name: {key: spread(values) for key, values in ratio.items()} for name, ratio in ratios.items()
    }
    for name, ratio in over_sdk.items():
        print(f"{name}/sdk spans/s {fmt(ratio['rate'])}  CPU {fmt(ratio['cpu'])}"
              f"  (q1 - q3: {fmt_quartiles(ratio['rate'])}, {fmt_quartiles(ratio['cpu'])})",
              flush=True)
    return {
        "spans": spans, "rounds": rounds, "results": results, "over_sdk": over_sdk,
        "goal": "ours >= sdk in spans/s and <= sdk in CPU s per 10,000 spans",
        "loadavg_before": load_before, "loadavg_after": os.getloadavg(),
        "versions": versions(),
    }


# --- --encoder: our OTLP encoder against the SDK's, on one batch, no I/O -------------------
def run_encoder(rounds: int, batch: int = 512, repeats: int = 20) -> dict:
    """CPU µs per span to turn one batch of the benchmark's spans into the request's bytes:
    the SDK's ``encode_spans(...).SerializePartialToString()`` against our
    ``SpanEncoder().encode`` (the same bytes, checked), alternating within every round."""
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from sentrial_otel._internal.export.otlp_encoding import SpanEncoder

    memory = InMemorySpanExporter()
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("bench")
    context = set_span_in_context(tracer.start_span("invoke_agent bench"))
    for i in range(batch):
        tracer.start_span("execute_tool search_kb", context, attributes=attributes(i)).end()
    spans = list(memory.get_finished_spans())
    encoder = SpanEncoder()
    contenders = {
        "sdk": lambda: encode_spans(spans).SerializePartialToString(),
        "ours": lambda: encoder.encode(spans),
    }
    if contenders["ours"]() != contenders["sdk"]():
        raise RuntimeError("the two encoders wrote different bytes")
    us: dict[str, list[float]] = {name: [] for name in contenders}
    for index in range(rounds):
        for name in list(contenders)[index % 2:] + list(contenders)[: index % 2]:
            start = time.process_time()
            for _ in range(repeats):
                contenders[name]()
            us[name].append((time.process_time() - start) / repeats / batch * 1e6)
    ratios = [ours / sdk for ours, sdk in zip(us["ours"], us["sdk"])]
    results = {name: spread(values) for name, values in us.items()}
    for name, values in results.items():
        print(f"{name:4} CPU µs per span {fmt(values)}", flush=True)
    print(f"ours/sdk {fmt(spread(ratios))}", flush=True)
    return {"batch": batch, "rounds": rounds, "cpu_us_per_span": results,
            "ours_over_sdk": spread(ratios), "versions": versions()}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-rotel", action="store_true")
    parser.add_argument("--out")
    parser.add_argument("--vs-sdk", action="store_true",
                        help="our delivery processor against the SDK's BatchSpanProcessor, both "
                        "with the OTLP/HTTP exporter, to a receiver in another process")
    parser.add_argument("--profile", action="store_true",
                        help="with --vs-sdk: cProfile one send per contender instead of timing")
    parser.add_argument("--encoder", action="store_true",
                        help="our OTLP encoder against the SDK's on one 512-span batch, no I/O")
    parser.add_argument("--serve-receiver", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_receiver:
        serve_receiver()
        return {}
    if args.encoder:
        result = run_encoder(args.rounds)
        emit("export-encoder", result, args.out)
        return result
    if args.vs_sdk and args.profile:
        result = {"profiles": profile_vs_sdk(args.spans)}
        emit("export-vs-sdk-profile", result, args.out)
        return result
    if args.vs_sdk:
        result = run_vs_sdk(args.spans, args.rounds)
        emit("export-vs-sdk", result, args.out)
        return result
    result = run(args.spans, args.rounds, not args.no_rotel)
    emit("export", result, args.out)
    return result


if __name__ == "__main__":
    main()
