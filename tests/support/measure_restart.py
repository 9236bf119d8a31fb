"""Measure what the OTel SDK delivers, retries and drops when the collector restarts.

    PYTHONPATH=src:. python -m tests.support.measure_restart --outages 1 3 6 9 12

For each sender protocol and outage length: the plain SDK (BatchSpanProcessor, 100 ms
schedule delay, exporter timeout ``--timeout``) sends 50 spans, rotel is SIGKILLed, 50 more
spans are sent while it is down, rotel is restarted on the same ports after the outage, and 50
more are sent. Prints one line per run: spans delivered per phase, and the exporter's
attempts to reach the dead collector. Results are in docs/collector.md.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from collections import Counter

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpSpanExporter,
)
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from tests.support.otlp_receiver import OtlpReceiver, flatten_spans
from tests.support.rotel import RotelCollector


class _CountRetries(logging.Handler):
    """Counts the exporters' 'Transient error ... retrying' and 'Failed to export' lines."""

    def __init__(self) -> None:
        super().__init__()
        self.retries = 0
        self.gave_up = 0

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if "retrying in" in message:
            self.retries += 1
        elif message.startswith("Failed to export"):
            self.gave_up += 1


def run_once(sender: str, outage: float, timeout: float) -> str:
    counter = _CountRetries()
    logging.getLogger("opentelemetry.exporter").addHandler(counter)
    try:
        with (
            OtlpReceiver() as rx,
            RotelCollector(rx.endpoint, workdir=tempfile.mkdtemp(prefix="rotel-m-")) as rotel,
        ):
            exporter: SpanExporter
            if sender == "grpc":
                exporter = GrpcSpanExporter(
                    endpoint=rotel.grpc_endpoint, insecure=True, timeout=timeout
                )
            else:
                exporter = HttpSpanExporter(endpoint=rotel.http_traces_endpoint, timeout=timeout)
            provider = TracerProvider()
            provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=100))
            tracer = provider.get_tracer("measure")

            def emit(phase: str) -> None:
                for i in range(50):
                    with tracer.start_as_current_span("s", attributes={"phase": phase, "i": i}):
                        pass

            emit("before")
            provider.force_flush()
            rx.wait_for_spans(50)
            rotel.kill()
            emit("down")
            time.sleep(outage)
            rotel.start()
            restarted = time.time()
            emit("after")
            provider.force_flush(30_000)
            time.sleep(0.5)
            provider.shutdown()
            phases = Counter(str(s.attributes["phase"]) for s in rx.spans())
            down_arrivals = [
                r.received_at - restarted
                for r in rx.requests
                if any(s.attributes.get("phase") == "down" for s in flatten_spans(r.message))
            ]
    finally:
        logging.getLogger("opentelemetry.exporter").removeHandler(counter)
    arrival = f"{min(down_arrivals):+.1f}s" if down_arrivals else "never"
    return (
        f"sender={sender:4} timeout={timeout:g}s outage={outage:g}s "
        f"delivered before/down/after={phases['before']}/{phases['down']}/{phases['after']} "
        f"down_batch_arrived_after_restart={arrival} "
        f"exporter_log: retrying={counter.retries} gave_up={counter.gave_up}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--outages", type=float, nargs="+", default=[1.0, 3.0, 6.0, 9.0, 12.0])
    parser.add_argument("--timeout", type=float, default=10.0, help="exporter timeout, s")
    parser.add_argument("--senders", nargs="+", default=["http", "grpc"])
    args = parser.parse_args()
    exporter_logger = logging.getLogger("opentelemetry.exporter")
    exporter_logger.setLevel(logging.WARNING)
    exporter_logger.propagate = False  # the counter reads the records; keep stderr clean
    for sender in args.senders:
        for outage in args.outages:
            print(run_once(sender, outage, args.timeout), flush=True)


if __name__ == "__main__":
    main()
