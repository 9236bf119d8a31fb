"""On the lowest OpenTelemetry release pyproject.toml allows, our OTLP/HTTP exporter falls
back to the SDK's own export (that release has no ``_client.export(bytes)``), and the spans
reach a real receiver as that SDK encodes them.

The exporter runs in ``.venv-otel-floor`` (scripts/venvs/otel-floor.txt) as a child process;
the receiver runs here on 127.0.0.1.
"""

from __future__ import annotations

import json
import subprocess

from tests.support.extra_venvs import ROOT, venv_python
from tests.support.otlp_receiver import OtlpReceiver

CHILD = """
import json, sys
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.version import __version__
from sentrial_otel._internal.export.delivery import DeliveryProcessor
from sentrial_otel._internal.export.otlp_http import OtlpHttpSpanExporter

exporter = OtlpHttpSpanExporter(endpoint=sys.argv[1], timeout=10)
delivery = DeliveryProcessor(exporter, destination="rx", max_export_batch_size=10)
memory = InMemorySpanExporter()
provider = TracerProvider(shutdown_on_exit=False)
provider.add_span_processor(SimpleSpanProcessor(memory))
provider.add_span_processor(delivery)
tracer = provider.get_tracer("floor")
for i in range(3):
    tracer.start_span(f"execute_tool t{i}", attributes={"n": i}).end()
flushed = delivery.force_flush(10_000)
delivery.shutdown()
print(json.dumps({
    "version": __version__, "encodes_itself": exporter.encodes_itself, "flushed": flushed,
    "exported": delivery.stats.exported,
    "sdk_bytes": encode_spans(memory.get_finished_spans()).SerializePartialToString().hex(),
}))
"""


def test_on_the_lowest_allowed_release_every_export_is_the_sdks_own() -> None:
    python = venv_python("otel-floor")
    with OtlpReceiver("http/protobuf") as rx:
        done = subprocess.run([python, "-c", CHILD, rx.traces_endpoint], cwd=ROOT,
                              capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        child = json.loads(done.stdout.strip().splitlines()[-1])
        assert child["version"] == "1.37.0"
        assert child["encodes_itself"] is False
        assert (child["flushed"], child["exported"]) == (True, 3)
        (request,) = rx.requests
        assert request.body == bytes.fromhex(child["sdk_bytes"])
        assert sorted(s.name for s in rx.spans()) == [f"execute_tool t{i}" for i in range(3)]
