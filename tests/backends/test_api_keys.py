"""API keys on the real collector (otelcol.yaml's ``bearertokenauth`` on both receivers).

A wrong or missing key gets 401 / ``UNAUTHENTICATED``; the SDK says so once on stderr and
``sentrial-otel doctor`` says so too, and it never raises nor slows the agent; the right
key delivers; a key added to the keys file is accepted without a restart.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from sentrial_otel.cli.export_probe import probe_export
from tests.backends.agents import agent_env, run_program
from tests.support.backends import Jaeger, Otelcol

pytestmark = pytest.mark.slow

GOOD, WRONG = "good-" + uuid.uuid4().hex, "wrong-" + uuid.uuid4().hex
SESSIONS = 20
MAX_SESSION_S = 0.5  # generous for a loaded 2-core machine; a blocked export takes seconds


def http_status(otelcol: Otelcol, key: str | None) -> int:
    headers = {"Content-Type": "application/x-protobuf"}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(f"{otelcol.http_endpoint}/v1/traces", method="POST",
                                     data=ExportTraceServiceRequest().SerializeToString(),
                                     headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.fixture
def otelcol(jaeger: Jaeger, tmp_path: Path):
    with Otelcol(["otelcol.yaml"], jaeger=jaeger, keys=[GOOD], workdir=tmp_path / "otelcol",
                 env={"DECISION_WAIT": "1s", "BASELINE_SAMPLING_PERCENTAGE": "100"}) as engine:
        yield engine


def test_wrong_or_missing_key_is_refused_on_both_protocols(otelcol: Otelcol) -> None:
    assert http_status(otelcol, None) == 401
    assert http_status(otelcol, WRONG) == 401
    assert http_status(otelcol, GOOD) == 200
    refused, detail = probe_export(otelcol.grpc_endpoint, "grpc",
                                   {"authorization": f"Bearer {WRONG}"}, 5)
    assert refused is False and "UNAUTHENTICATED" in detail
    assert probe_export(otelcol.grpc_endpoint, "grpc", {"authorization": f"Bearer {GOOD}"},
                        5)[0] is True


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_the_sdk_says_so_once_and_the_agent_is_not_slowed(
        otelcol: Otelcol, jaeger: Jaeger, tmp_path: Path, protocol: str) -> None:
    service = f"wrongkey-{uuid.uuid4().hex[:8]}"
    endpoint = otelcol.grpc_endpoint if protocol == "grpc" else otelcol.http_endpoint
    env = agent_env(endpoint, service, tmp_path / "home", SENTRIAL_API_KEY=WRONG,
                    OTEL_EXPORTER_OTLP_PROTOCOL=protocol, SENTRIAL_SHUTDOWN_TIMEOUT="3")
    result, stderr = run_program(env, "mix", str(SESSIONS), uuid.uuid4().hex)  # exit 0

    assert result["worst_session_s"] < MAX_SESSION_S, result
    lines = [line for line in stderr.splitlines() if line.startswith("sentrial:")]
    refused = [line for line in lines if "refused the API key" in line]
    assert len(refused) == 1, lines
    assert ("401" if protocol == "http/protobuf" else "UNAUTHENTICATED") in refused[0]
    assert any("were not delivered" in line for line in lines), lines
    assert "Traceback" not in stderr
    assert jaeger.traces(service) == []

    doctor = subprocess.run([sys.executable, "-m", "sentrial_otel.cli", "doctor", "--json"],
                            env=env, capture_output=True, text=True, timeout=60, check=False)
    assert doctor.returncode == 1, doctor.stdout + doctor.stderr
    report = json.loads(doctor.stdout)
    assert report["collector_reachable"] is True
    assert report["export_accepted"] is False
    assert "refused the API key" in report["export_detail"]


def test_the_right_key_delivers(otelcol: Otelcol, jaeger: Jaeger, tmp_path: Path) -> None:
    service = f"goodkey-{uuid.uuid4().hex[:8]}"
    env = agent_env(otelcol.http_endpoint, service, tmp_path / "home", SENTRIAL_API_KEY=GOOD)
    result, stderr = run_program(env, "mix", "5", uuid.uuid4().hex)
    assert "sentrial:" not in stderr, stderr
    assert len(jaeger.wait_for_traces(service, count=5, settle=0.5)) == 5


def test_a_key_added_to_the_file_is_accepted_without_a_restart(
        otelcol: Otelcol, jaeger: Jaeger, tmp_path: Path) -> None:
    new_key = "rotated-" + uuid.uuid4().hex
    assert http_status(otelcol, new_key) == 401
    pid = otelcol.pid
    otelcol.add_key(new_key)
    deadline = time.monotonic() + 20
    while http_status(otelcol, new_key) != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert http_status(otelcol, new_key) == 200
    assert http_status(otelcol, GOOD) == 200  # the other keys still work
    assert pid is not None and otelcol.pid == pid  # same process: no restart

    service = f"rotated-{uuid.uuid4().hex[:8]}"
    env = agent_env(otelcol.http_endpoint, service, tmp_path / "home", SENTRIAL_API_KEY=new_key)
    run_program(env, "mix", "3", uuid.uuid4().hex)
    assert len(jaeger.wait_for_traces(service, count=3, settle=0.5)) == 3
