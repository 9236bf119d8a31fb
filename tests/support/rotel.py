"""The real ``rotel`` collector (a Rust OpenTelemetry collector shipped on PyPI) for tests.

The ``rotel`` package bundles the binary as ``rotel/rotel-agent`` next to its Python files
(its own launcher, ``rotel.Client``, starts it with ``--daemon``). We run it in the
foreground instead, as our own child process, so a test owns its pid, can SIGTERM or
SIGKILL it, and never leaves a daemon behind. Usage::

    with OtlpReceiver() as rx, RotelCollector(export_to=rx.endpoint) as rotel:
        exporter = OTLPSpanExporter(endpoint=rotel.http_traces_endpoint)
        ...
        rotel.kill()      # the collector dies mid-run
        rotel.start()     # and comes back on the same ports

Every instance gets its own directory with ``rotel.pid`` and ``rotel.log`` (the collector's
own output, JSON lines), and listens on 127.0.0.1 only.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from tests.support.server_process import ServerProcess, free_port, port_open

ExportProtocol = Literal["http", "grpc"]


def rotel_binary() -> Path:
    """Path of the collector binary inside the installed ``rotel`` package."""
    import rotel  # imported here so modules importing this one work without rotel installed

    path = Path(rotel.__file__).with_name("rotel-agent")
    if not path.is_file():
        raise FileNotFoundError(f"rotel package has no binary at {path}")
    return path


def read_env_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """``KEY=value`` lines of a shell/compose env file (``#`` comments and blanks skipped)."""
    values: dict[str, str] = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


class RotelCollector(ServerProcess):
    """One ``rotel-agent`` process receiving OTLP (HTTP and gRPC) and exporting OTLP.

    Args:
        export_to: base URL of the next hop, e.g. an ``OtlpReceiver``'s ``endpoint``.
        export_protocol: ``"http"`` or ``"grpc"``: must match what ``export_to`` speaks.
        workdir: where the pid and log files go (a fresh temp dir when None).
        batch_timeout: how long rotel batches before exporting (its default is 200ms).
        extra_args: more ``rotel start`` flags (see ``rotel-agent start --help``).
        env: ``ROTEL_*`` variables for the process (e.g. from :func:`read_env_file`); the
            flags above override the same settings given here.
    """

    def __init__(
        self,
        export_to: str,
        *,
        export_protocol: ExportProtocol = "http",
        workdir: str | os.PathLike[str] | None = None,
        batch_timeout: str = "100ms",
        extra_args: list[str] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.export_to = export_to
        self.export_protocol = export_protocol
        self.batch_timeout = batch_timeout
        self.extra_args = list(extra_args or [])
        # Chosen once, so a restart comes back where the SDK is still sending.
        self.grpc_port = free_port(self.host)
        self.http_port = free_port(self.host)
        super().__init__(
            self.rotel_command(),
            port=self.http_port,
            workdir=Path(workdir or tempfile.mkdtemp(prefix="rotel-")),
            env={**(env or {}), "NO_COLOR": "1"},
            start_timeout=15.0,
            name="rotel",
        )

    # -- where to send -----------------------------------------------------------------------

    @property
    def http_endpoint(self) -> str:
        """Base URL for OTLP/HTTP (OTEL_EXPORTER_OTLP_ENDPOINT form)."""
        return f"http://{self.host}:{self.http_port}"

    @property
    def http_traces_endpoint(self) -> str:
        """Full traces URL for an HTTP exporter's ``endpoint=``."""
        return f"{self.http_endpoint}/v1/traces"

    @property
    def grpc_endpoint(self) -> str:
        """Endpoint for a gRPC exporter (use with ``insecure=True``)."""
        return f"http://{self.host}:{self.grpc_port}"

    def rotel_command(self) -> list[str]:
        """The exact command line (also what docs/collector.md shows users)."""
        return [
            str(rotel_binary()),
            "start",
            "--log-format", "json",
            "--otlp-grpc-endpoint", f"{self.host}:{self.grpc_port}",
            "--otlp-http-endpoint", f"{self.host}:{self.http_port}",
            "--exporter", "otlp",
            "--otlp-exporter-endpoint", self.export_to,
            "--otlp-exporter-protocol", self.export_protocol,
            "--batch-timeout", self.batch_timeout,
            *self.extra_args,
        ]  # fmt: skip

    def ready(self) -> bool:
        """Both receivers accept connections."""
        return port_open(self.host, self.http_port) and port_open(self.host, self.grpc_port)

    def stop(self, timeout: float = 5.0) -> int | None:
        """SIGTERM (rotel flushes what it holds), SIGKILL after ``timeout``. Returns exit code."""
        return super().stop(timeout)
