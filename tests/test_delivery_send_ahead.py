"""The delivery worker encodes the next batch while the previous request waits for its
answer, with never more than one request in flight, and every span counted once.

A real OTLP/HTTP receiver on 127.0.0.1 that leaves requests unanswered (``hang``) stands in
for a slow collector.
"""

from __future__ import annotations

import threading
import time

from opentelemetry.sdk.trace import TracerProvider

from sentrial_otel._internal.export.delivery import DeliveryProcessor
from sentrial_otel._internal.export.otlp_http import OtlpHttpSpanExporter
from tests.support.otlp_receiver import OtlpReceiver


class CountingExporter(OtlpHttpSpanExporter):
    """The real exporter, counting the batches it has encoded."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.encoded = 0

    def prepare_export(self, spans):
        self.encoded += 1
        return super().prepare_export(spans)


def _until(condition, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _send_spans(delivery: DeliveryProcessor, n: int) -> None:
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(delivery)
    tracer = provider.get_tracer("test")
    for i in range(n):
        tracer.start_span(f"execute_tool t{i}").end()


def _send_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "sentrial-otel-delivery-send"]


def test_the_next_batch_is_encoded_while_one_request_waits_and_no_second_is_sent() -> None:
    with OtlpReceiver("http/protobuf") as rx:
        rx.hang(times=1)
        exporter = CountingExporter(endpoint=rx.traces_endpoint, timeout=10)
        delivery = DeliveryProcessor(exporter, destination="rx", schedule_delay_s=0.01,
                                     max_export_batch_size=10, shutdown_timeout_s=5)
        _send_spans(delivery, 30)
        assert _until(lambda: len(rx.attempts) == 1 and exporter.encoded >= 2), (
            rx.attempts, exporter.encoded)
        time.sleep(0.3)  # room for a second request, were one sent alongside
        assert [a.outcome for a in rx.attempts] == ["hung"]
        assert delivery.force_flush(timeout_millis=100) is False  # the answer is still owed
        rx.release()  # the hung request is dropped; the SDK client sends it again
        assert delivery.force_flush(timeout_millis=10_000) is True
        assert sorted(s.name for s in rx.spans()) == sorted(f"execute_tool t{i}" for i in range(30))
        assert (delivery.stats.exported, delivery.stats.failed) == (30, 0)
        assert [a.outcome for a in rx.attempts].count("accepted") == 3
        delivery.shutdown()
    assert delivery.stats.undelivered == 0
    assert _until(lambda: not _send_threads(), 5), "the send thread outlived its processor"


def test_shutdown_counts_the_batch_in_flight_and_the_one_encoded_behind_it() -> None:
    with OtlpReceiver("http/protobuf") as rx:
        rx.hang()
        exporter = CountingExporter(endpoint=rx.traces_endpoint, timeout=10)
        delivery = DeliveryProcessor(exporter, destination="rx", schedule_delay_s=0.01,
                                     max_export_batch_size=10, shutdown_timeout_s=0.5)
        _send_spans(delivery, 25)
        assert _until(lambda: len(rx.attempts) == 1 and exporter.encoded >= 2)
        started = time.monotonic()
        delivery.shutdown()
        took = time.monotonic() - started
        rx.release()
        time.sleep(0.5)  # the dropped request's retry, after shutdown, must count nothing
    assert took < 3.0, took  # the 0.5 s budget bounds it, not the hung request
    stats = delivery.stats
    assert (stats.exported, stats.failed, stats.abandoned_at_shutdown) == (0, 0, 25), stats
    assert stats.undelivered == 25


def test_an_exporter_that_cannot_encode_ahead_gets_no_send_thread() -> None:
    from sentrial_otel._internal.export.exporters import DiscardingExporter

    before = len(_send_threads())
    delivery = DeliveryProcessor(DiscardingExporter(), destination="nowhere",
                                 max_export_batch_size=5)
    _send_spans(delivery, 12)
    assert delivery.force_flush(timeout_millis=5000)
    assert len(_send_threads()) == before
    delivery.shutdown()
    assert delivery.stats.exported == 12


def test_a_batch_that_cannot_be_encoded_is_counted_failed_and_the_next_is_delivered() -> None:
    from opentelemetry.sdk.trace import ReadableSpan

    with OtlpReceiver("http/protobuf") as rx:
        exporter = OtlpHttpSpanExporter(endpoint=rx.traces_endpoint, timeout=10)
        delivery = DeliveryProcessor(exporter, destination="rx", schedule_delay_s=0.01,
                                     max_export_batch_size=1, shutdown_timeout_s=5)
        _send_spans(delivery, 1)
        delivery.on_end(ReadableSpan(name="no context"))  # the encoder raises on it
        _send_spans(delivery, 1)
        assert delivery.force_flush(timeout_millis=10_000) is True
        assert (delivery.stats.exported, delivery.stats.failed) == (2, 1)
        assert [s.name for s in rx.spans()] == ["execute_tool t0", "execute_tool t0"]
        assert len(_send_threads()) >= 1 and all(t.is_alive() for t in _send_threads())
        delivery.shutdown()


FORK_SCRIPT = """
import os, sys, time
from opentelemetry.sdk.trace import TracerProvider
from sentrial_otel._internal.export.delivery import DeliveryProcessor
from sentrial_otel._internal.export.otlp_http import OtlpHttpSpanExporter

delivery = DeliveryProcessor(OtlpHttpSpanExporter(endpoint=sys.argv[1], timeout=30),
                             destination="rx", schedule_delay_s=0.01, max_export_batch_size=5)
provider = TracerProvider(shutdown_on_exit=False)
provider.add_span_processor(delivery)
tracer = provider.get_tracer("fork")
for i in range(5):
    tracer.start_span(f"parent {i}").end()
time.sleep(1.0)  # the parent's request is out and unanswered (the receiver hangs it)
pid = os.fork()
if pid == 0:
    for i in range(5):
        tracer.start_span(f"child {i}").end()
    flushed = delivery.force_flush(timeout_millis=10_000)
    print("child", flushed, delivery.stats.exported, flush=True)
    os._exit(0 if flushed else 1)
_, status = os.waitpid(pid, 0)
print("parent", os.waitstatus_to_exitcode(status), delivery.stats.exported, flush=True)
"""


def test_a_forked_child_sends_on_its_own_thread_while_the_parents_request_hangs() -> None:
    import subprocess
    import sys

    with OtlpReceiver("http/protobuf") as rx:
        rx.hang(times=1)
        done = subprocess.run([sys.executable, "-c", FORK_SCRIPT, rx.traces_endpoint],
                              capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split("\n")[:2] == ["child True 5", "parent 0 0"], done.stdout
        assert sorted(s.name for s in rx.spans()) == [f"child {i}" for i in range(5)]
        assert [a.outcome for a in rx.attempts] == ["hung", "accepted"]
