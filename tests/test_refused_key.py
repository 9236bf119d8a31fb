"""A collector that refuses the API key: the SDK's once-only warning says so (not just
"could not export"), and ``sentrial-otel doctor`` finds it with an empty export.

Against tests/support/otlp_receiver.py answering 401 (gRPC: ``UNAUTHENTICATED``), so this
holds on a machine without Go too; tests/backends/test_api_keys.py checks the same against
the real collector's ``bearertokenauth``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sentrial_otel.cli.export_probe import probe_export
from tests.support.otlp_receiver import OtlpReceiver

SRC = str(Path(__file__).resolve().parents[1] / "src")
AGENT = textwrap.dedent(
    """
    import sentrial
    client = sentrial.SentrialClient()
    for i in range(3):
        sid = client.create_session(name="s", agent_name="agent", user_id="u")
        client.track_tool_call(sid, "tool", {"i": i}, {"ok": True})
        client.complete_session(sid)
    """
)


def agent_env(rx: OtlpReceiver, protocol: str, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SENTRIAL_"))}
    env.update(PYTHONPATH=SRC, OTEL_EXPORTER_OTLP_ENDPOINT=rx.endpoint,
               OTEL_EXPORTER_OTLP_PROTOCOL=protocol, SENTRIAL_API_KEY="wrong",
               SENTRIAL_SHUTDOWN_TIMEOUT="2", SENTRIAL_HOME=str(home))
    return env


@pytest.mark.parametrize("protocol,code", [("http/protobuf", "401"), ("grpc", "UNAUTHENTICATED")])
def test_a_refused_key_is_named_once(tmp_path: Path, protocol: str, code: str) -> None:
    with OtlpReceiver("grpc" if protocol == "grpc" else "http/protobuf") as rx:
        rx.fail_with(401)
        result = subprocess.run([sys.executable, "-c", AGENT], env=agent_env(rx, protocol, tmp_path),
                                capture_output=True, text=True, timeout=60, check=False)
        doctor = subprocess.run([sys.executable, "-m", "sentrial_otel.cli", "doctor", "--json"],
                                env=agent_env(rx, protocol, tmp_path), capture_output=True,
                                text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("sentrial:")]
    refused = [line for line in lines if "the collector refused the API key" in line]
    assert len(refused) == 1 and code in refused[0], lines
    assert doctor.returncode == 1, doctor.stdout
    report = json.loads(doctor.stdout)
    assert report["export_accepted"] is False and "refused the API key" in report["export_detail"]


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_the_probe_accepts_a_healthy_collector_and_sends_no_span(protocol: str) -> None:
    with OtlpReceiver("grpc" if protocol == "grpc" else "http/protobuf") as rx:
        endpoint = rx.endpoint if protocol == "grpc" else rx.traces_endpoint
        accepted, detail = probe_export(endpoint, "grpc" if protocol == "grpc" else "http/protobuf",
                                        {"authorization": "Bearer k"}, 5)
        assert accepted is True, detail
        assert rx.span_count() == 0
        assert rx.requests[0].headers["authorization"] == "Bearer k"


def test_the_probe_cannot_tell_when_nothing_speaks_otlp() -> None:
    """A 503 (or no OTLP at all) is not a refused key: doctor does not fail on it."""
    with OtlpReceiver("http/protobuf") as rx:
        rx.fail_with(503)
        accepted, detail = probe_export(rx.traces_endpoint, "http/protobuf", {}, 5)
    assert accepted is None and "503" in detail
