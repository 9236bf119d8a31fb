"""The main job as a user runs it: `sentrial-otel demo` in its own process, then the store it
wrote read back by the CLI and exported through a real collector."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from sentrial_otel import semconv as sc
from sentrial_otel.store import data_files

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def cli(store: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SENTRIAL_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")])
    return subprocess.run(
        [sys.executable, "-m", "sentrial_otel.cli", "--store", str(store), *args],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    store = tmp_path_factory.mktemp("demo") / "store"
    result = cli(store, "demo")
    assert result.returncode == 0, result.stderr
    assert "Recorded" in result.stdout
    assert "support-agent" in result.stdout and "billing-agent" in result.stdout
    return store


def test_demo_store_is_collector_file_format(demo_store):
    lines = [line for path in data_files(demo_store) for line in path.read_text().splitlines()]
    assert lines
    for line in lines:
        document = json.loads(line)
        span = document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
        assert len(span["traceId"]) == 32 and int(span["traceId"], 16) >= 0  # hex, not base64
        # The same document parses as an OTLP request once ids are in protobuf-JSON form.
        request = ExportTraceServiceRequest()
        for resource in document["resourceSpans"]:
            for scope in resource["scopeSpans"]:
                for item in scope["spans"]:
                    for key in ("traceId", "spanId", "parentSpanId"):
                        if item.get(key):
                            item[key] = base64.b64encode(bytes.fromhex(item[key])).decode()
        json_format.ParseDict(document, request)
        assert request.resource_spans


def test_demo_sessions_listed_with_their_outcomes(demo_store):
    result = cli(demo_store, "sessions", "list", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    by_agent = {row["agent"]: row for row in rows}
    assert by_agent["support-agent"]["status"] == "success"
    assert by_agent["billing-agent"]["status"] == "failed"
    assert by_agent["support-agent"]["llm_calls"] == 2
    assert by_agent["support-agent"]["tool_calls"] == 2
    # The LangChain agent, traced by SentrialCallbackHandler from the model's usage data.
    assert by_agent["invoice-agent"]["status"] == "success"
    assert (by_agent["invoice-agent"]["llm_calls"], by_agent["invoice-agent"]["tool_calls"]) == (2, 1)
    assert by_agent["invoice-agent"]["tokens"] == 210 + 22 + 260 + 14
    failed = cli(demo_store, "sessions", "list", "--status", "failed", "--json")
    assert [row["agent"] for row in json.loads(failed.stdout)] == ["billing-agent"]


def test_export_through_a_real_collector(demo_store, otlp_receiver, rotel_collector):
    stored = sum(
        len(r["scopeSpans"][0]["spans"])
        for path in data_files(demo_store)
        for line in path.read_text().splitlines()
        for r in json.loads(line)["resourceSpans"]
    )
    result = cli(demo_store, "export", "--endpoint", rotel_collector.http_endpoint)
    assert result.returncode == 0, result.stderr + result.stdout
    spans = otlp_receiver.wait_for_spans(stored, timeout=15)
    assert len(spans) == stored
    roots = [s for s in spans if s.is_root]
    assert {r.attributes[sc.GEN_AI_AGENT_NAME] for r in roots} == {
        "support-agent", "billing-agent", "invoice-agent",
    }
