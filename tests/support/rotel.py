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
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Literal

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


class RotelCollector:
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
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="rotel-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.pid_file = self.workdir / "rotel.pid"
        self.log_file = self.workdir / "rotel.log"
        self.batch_timeout = batch_timeout
        self.extra_args = list(extra_args or [])
        self.env = dict(env or {})
        # Chosen once, so a restart comes back where the SDK is still sending.
        self.grpc_port = free_port(self.host)
        self.http_port = free_port(self.host)
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

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

    @property
    def pid(self) -> int | None:
        """The running process's id, or None."""
        return self._process.pid if self.running else None

    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self._process is not None and self._process.poll() is None

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
        if self.running:
            return self
        self._log = self.log_file.open("ab")
        self._process = subprocess.Popen(
            self.command(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            env={**os.environ, **self.env, "NO_COLOR": "1"},
            start_new_session=True,  # a Ctrl-C on the test run is ours to forward, not its
        )
        self.pid_file.write_text(f"{self._process.pid}\n")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            if _port_open(self.host, self.http_port) and _port_open(self.host, self.grpc_port):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"rotel did not become ready; log tail:\n{self.log_tail()}")

    def stop(self, timeout: float = 5.0) -> int | None:
        """SIGTERM (rotel flushes what it holds), SIGKILL after ``timeout``. Returns exit code."""
        return self._end(signal.SIGTERM, timeout)

    def kill(self) -> int | None:
        """SIGKILL: the collector dies at once, losing whatever it had not exported yet."""
        return self._end(signal.SIGKILL, 5.0)

    def _end(self, sig: signal.Signals, timeout: float) -> int | None:
        process, self._process = self._process, None
        code: int | None = None
        if process is not None:
            if process.poll() is None:
                process.send_signal(sig)
                try:
                    process.wait(timeout)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)
            code = process.returncode
        if self._log is not None:
            self._log.close()
            self._log = None
        self.pid_file.unlink(missing_ok=True)
        return code

    def restart(self) -> RotelCollector:
        """Stop (gracefully) and start again on the same ports."""
        self.stop()
        return self.start()

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the collector's log, for failure messages."""
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return "<no log>"
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> RotelCollector:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
