"""The upstream engines for tests: the OpenTelemetry Collector and Jaeger v2, as built by
``scripts/backends build`` into ``.backends/bin/``, run with the shipped configs unchanged.

Every endpoint of ``collector-config/*.yaml`` comes from an environment variable
(``${env:NAME:-default}``), so a test only chooses free 127.0.0.1 ports::

    with Jaeger() as jaeger, Otelcol(["otelcol.yaml"], jaeger=jaeger, keys=["k"]) as otelcol:
        ... send OTLP to otelcol.http_endpoint with "authorization: Bearer k" ...
        traces = jaeger.wait_for_traces("my-service", {"sentrial.session.id": sid}, count=1)

Each process is a child of the test (``ServerProcess``, tests/support/server_process.py),
logs into its own directory, and is stopped by the test; ``kill()`` and ``start()`` again give the same ports
back, for fault tests.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

from tests.support.server_process import ServerProcess, free_port

ROOT = Path(__file__).resolve().parents[2]
CONFIG_DIR = ROOT / "collector-config"
BACKENDS_SCRIPT = ROOT / "scripts" / "backends"
HOST = "127.0.0.1"


def binary(name: str) -> Path:
    """``.backends/bin/<name>`` (``scripts/backends path`` prints the same)."""
    return ROOT / ".backends" / "bin" / name


def address() -> str:
    """A free ``127.0.0.1:PORT`` (the form the configs' endpoint variables take)."""
    return f"{HOST}:{free_port(HOST)}"


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """(status, body) of a GET; status 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:
        return 0, b""


class Engine(ServerProcess):
    """One engine process: a binary, its arguments, its environment, and the 127.0.0.1
    address whose ``ready_path`` answers 200 once it serves."""

    name = "engine"

    def __init__(self, args: Sequence[str], env: Mapping[str, str], ready_address: str,
                 ready_path: str, workdir: str | os.PathLike[str] | None = None) -> None:
        super().__init__(
            [str(binary(self.name)), *args],
            port=int(ready_address.rpartition(":")[2]),
            workdir=Path(workdir or tempfile.mkdtemp(prefix=f"{self.name}-")),
            env=env, ready_path=ready_path, start_timeout=60.0, name=self.name,
        )


class Jaeger(Engine):
    """Jaeger v2 with ``collector-config/jaeger.yaml``: OTLP in, memory storage, query API."""

    name = "jaeger"

    def __init__(self, workdir: str | os.PathLike[str] | None = None) -> None:
        self.query_address = address()
        self.otlp_grpc_address = address()
        env = {
            "JAEGER_QUERY_ENDPOINT": self.query_address,
            "JAEGER_QUERY_GRPC_ENDPOINT": address(),
            "JAEGER_HEALTH_ENDPOINT": address(),
            "JAEGER_OTLP_GRPC_ENDPOINT": self.otlp_grpc_address,
            "JAEGER_OTLP_HTTP_ENDPOINT": address(),
            "JAEGER_METRICS_HOST": HOST,
            "JAEGER_METRICS_PORT": str(free_port(HOST)),
        }
        super().__init__([f"--config={CONFIG_DIR / 'jaeger.yaml'}"], env,
                         ready_address=self.query_address, ready_path="/api/services",
                         workdir=workdir)

    @property
    def url(self) -> str:
        """The UI and query API base URL (``--source jaeger=URL``)."""
        return f"http://{self.query_address}"

    def api(self, path: str, **params: Any) -> Any:
        """GET ``/api/<path>`` with query parameters; the decoded ``data`` field."""
        query = urllib.parse.urlencode(
            {k: json.dumps(v) if isinstance(v, dict) else v for k, v in params.items()}
        )
        status, body = http_get(f"{self.url}/api/{path}?{query}", timeout=10)
        assert status == 200, (status, body[:500])
        return json.loads(body)["data"]

    def traces(self, service: str, tags: Mapping[str, str] | None = None,
               limit: int = 1000) -> list[dict[str, Any]]:
        """Jaeger's ``/api/traces`` search: the traces with a span matching every tag."""
        params: dict[str, Any] = {"service": service, "limit": limit,
                                  "start": int((time.time() - 3600) * 1e6)}
        if tags:
            params["tags"] = dict(tags)
        return self.api("traces", **params)

    def wait_for_traces(self, service: str, tags: Mapping[str, str] | None = None, *,
                        count: int, spans: int | None = None, timeout: float = 30.0,
                        settle: float = 0.0) -> list[dict[str, Any]]:
        """Poll until ``count`` traces (and, given, ``spans`` spans in all) are found.

        ``settle`` keeps polling that long after the goal is met, so that a test asserting
        "no more than" sees late arrivals too. Returns what was found last.
        """
        deadline = time.monotonic() + timeout
        found: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            found = self.traces(service, tags)
            total = sum(len(t["spans"]) for t in found)
            if len(found) >= count and (spans is None or total >= spans):
                break
            time.sleep(0.3)
        if settle:
            time.sleep(settle)
            found = self.traces(service, tags)
        return found


class Otelcol(Engine):
    """The collector with shipped configs (overlays after their base), ports from env.

    Args:
        configs: file names in collector-config/, merged in order (``--config`` each).
        jaeger: where ``otlp/jaeger`` sends (JAEGER_OTLP_ENDPOINT), or an address.
        tempo: where ``otlp/tempo`` sends (TEMPO_OTLP_ENDPOINT): Tempo is not built here,
            so tests point it at an ``OtlpReceiver`` (gRPC) and read the collector's output
            there; by default a closed port (the exporter then only retries).
        keys: API keys written to the keys file (API_KEYS_FILE), one per line.
        The scores' ``file/scores`` exporter writes ``scores.jsonl`` in ``workdir``
        (SCORES_FILE; ``scores()`` reads it).
        env: more variables (DECISION_WAIT, BASELINE_SAMPLING_PERCENTAGE, TIER2_HOSTNAMES).
    """

    name = "otelcol"

    def __init__(self, configs: Sequence[str], *, jaeger: Jaeger | str | None = None,
                 tempo: str | None = None, keys: Sequence[str] = (),
                 env: Mapping[str, str] | None = None,
                 workdir: str | os.PathLike[str] | None = None) -> None:
        workdir = Path(workdir or tempfile.mkdtemp(prefix="otelcol-"))
        workdir.mkdir(parents=True, exist_ok=True)
        self.keys_file = workdir / "api-keys"
        self.keys_file.write_text("".join(f"{key}\n" for key in keys))
        self.scores_file = workdir / "scores.jsonl"
        self.grpc_address = address()
        self.http_address = address()
        self.health_address = address()
        self.prometheus_address = address()
        jaeger_address = jaeger.otlp_grpc_address if isinstance(jaeger, Jaeger) else jaeger
        variables = {
            "OTLP_GRPC_ENDPOINT": self.grpc_address,
            "OTLP_HTTP_ENDPOINT": self.http_address,
            "HEALTH_ENDPOINT": self.health_address,
            "PROMETHEUS_ENDPOINT": self.prometheus_address,
            "API_KEYS_FILE": str(self.keys_file),
            "SCORES_FILE": str(self.scores_file),
            "JAEGER_OTLP_ENDPOINT": jaeger_address or address(),
            "TEMPO_OTLP_ENDPOINT": tempo or address(),
            "TELEMETRY_METRICS_HOST": HOST,
            "TELEMETRY_METRICS_PORT": str(free_port(HOST)),
            **(env or {}),
        }
        self.configs = list(configs)
        args = [f"--config={CONFIG_DIR / name}" for name in configs]
        super().__init__(args, variables, ready_address=self.health_address, ready_path="/",
                         workdir=workdir)

    @property
    def http_endpoint(self) -> str:
        """OTEL_EXPORTER_OTLP_ENDPOINT for OTLP/HTTP."""
        return f"http://{self.http_address}"

    @property
    def grpc_endpoint(self) -> str:
        """OTEL_EXPORTER_OTLP_ENDPOINT for OTLP/gRPC (plaintext)."""
        return f"http://{self.grpc_address}"

    def add_key(self, key: str) -> None:
        """Append an API key to the keys file (the extension picks it up without a restart)."""
        with self.keys_file.open("a") as keys:
            keys.write(f"{key}\n")

    def metrics_text(self) -> str:
        """The Prometheus exposition of PROMETHEUS_ENDPOINT (spanmetrics, SDK metrics)."""
        status, body = http_get(f"http://{self.prometheus_address}/metrics")
        assert status == 200, status
        return body.decode()

    def scores(self) -> list[LogRecord]:
        """The log records the logs pipeline wrote to SCORES_FILE so far, decoded from the
        file exporter's OTLP JSON lines by opentelemetry-proto."""
        if not self.scores_file.exists():
            return []
        records = []
        for line in self.scores_file.read_text().splitlines():
            document = json.loads(line)
            # OTLP JSON spells ids in hex; protobuf's JSON mapping reads bytes as base64.
            for resource in document.get("resourceLogs", ()):
                for scope in resource.get("scopeLogs", ()):
                    for record in scope.get("logRecords", ()):
                        for key in ("traceId", "spanId"):
                            if key in record:
                                record[key] = base64.b64encode(bytes.fromhex(record[key])).decode()
            request = json_format.ParseDict(document, ExportLogsServiceRequest())
            records += [record for resource in request.resource_logs
                        for scope in resource.scope_logs for record in scope.log_records]
        return records

    def wait_for_scores(self, count: int, timeout: float = 15.0) -> list[LogRecord]:
        """Poll :meth:`scores` until ``count`` records are there (the batch and the file
        exporter's flush take a few seconds); returns what was found last."""
        deadline = time.monotonic() + timeout
        found = self.scores()
        while len(found) < count and time.monotonic() < deadline:
            time.sleep(0.3)
            found = self.scores()
        return found

    def validate(self) -> subprocess.CompletedProcess[str]:
        """``otelcol validate`` with the same configs and environment."""
        return subprocess.run(
            [str(binary(self.name)), "validate", *self.command[1:]],
            env={**os.environ, **self.env}, capture_output=True, text=True, timeout=60,
            check=False,
        )
