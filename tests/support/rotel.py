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
import socket
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from tests.support.child_process import ChildProcess

ExportProtocol = Literal["http", "grpc"]


def rotel_binary() -> Path:
    """Path of the collector binary inside the installed ``rotel`` package."""
    import rotel  # imported here so modules importing this one work without rotel installed

    path = Path(rotel.__file__).with_name("rotel-agent")
    if not path.is_file():
        raise FileNotFoundError(f"rotel package has no binary at {path}")
    return path


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def read_env_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """``KEY=value`` lines of a shell/compose env file (``#`` comments and blanks skipped)."""
    values: dict[str, str] = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class RotelCollector(ChildProcess):
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

    name = "rotel"
    host = "127.0.0.1"

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
        directory = Path(workdir or tempfile.mkdtemp(prefix="rotel-"))
        directory.mkdir(parents=True, exist_ok=True)
        super().__init__(directory, directory / "rotel.log")
        self.pid_file = self.workdir / "rotel.pid"
        self.batch_timeout = batch_timeout
        self.extra_args = list(extra_args or [])
        self.env = dict(env or {})
        # Chosen once, so a restart comes back where the SDK is still sending.
        self.grpc_port = free_port(self.host)
        self.http_port = free_port(self.host)

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

    def command(self) -> list[str]:
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

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 15.0) -> RotelCollector:
        """Start the process and wait until both receivers accept connections. Returns self.

        Raises:
            RuntimeError: the process exited or did not listen in time (log tail included).
        """
        if not self.running:
            self._spawn(
                self.command(), {**self.env, "NO_COLOR": "1"}, timeout=timeout,
                ready=lambda: _port_open(self.host, self.http_port)
                and _port_open(self.host, self.grpc_port),
            )
        return self

    def _started(self) -> None:
        assert self._process is not None
        self.pid_file.write_text(f"{self._process.pid}\n")

    def _ended(self) -> None:
        self.pid_file.unlink(missing_ok=True)

    def restart(self) -> RotelCollector:
        """Stop (gracefully) and start again on the same ports."""
        self.stop()
        return self.start()

    def __enter__(self) -> RotelCollector:
        return self.start()
