"""A server a test starts as its own child process: ready when its port answers, stopped by
the test (a signal, then SIGKILL after a bound), its output kept in a log file.

Usage::

    port = free_port()
    with ServerProcess([python, "server.py", str(port)], port=port, workdir=tmp_path) as server:
        ...                      # server.url, server.log_tail() for failure messages

Servers bind 127.0.0.1 only (the command must say so); ``ready_path`` makes readiness an
HTTP 200 on that path instead of an open port, for servers that listen before they serve.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

from typing_extensions import Self

__all__ = ["ServerProcess", "free_port", "listening_addresses", "port_open"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def listening_addresses(pid: int) -> set[str]:
    """The local addresses (``"127.0.0.1"``, ``"::"``, ...) on which process ``pid`` has a
    listening TCP socket, from /proc (Linux): a test's "loopback only" check."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A" or fields[9] not in inodes:  # 0A: LISTEN
                continue
            raw = bytes.fromhex(fields[1].split(":")[0][:width])
            # /proc prints each 32-bit word of the address in host (little-endian) order.
            words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
            found.add(str(ipaddress.ip_address(words)))
    return found


class ServerProcess:
    """One child process serving on ``127.0.0.1:port``; its pid in ``{name}.pid`` and its
    output in ``{name}.log`` in ``workdir`` while it runs. Subclasses with more than one
    port override :meth:`ready`."""

    host = "127.0.0.1"

    def __init__(
        self,
        command: Sequence[str],
        *,
        port: int,
        workdir: Path,
        env: Mapping[str, str] | None = None,
        ready_path: str | None = None,
        start_timeout: float = 30.0,
        stop_signal: signal.Signals = signal.SIGTERM,
        name: str = "server",
    ) -> None:
        self.command = list(command)
        self.port = port
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.env = dict(env or {})
        self.ready_path = ready_path
        self.start_timeout = start_timeout
        self.stop_signal = stop_signal
        self.name = name
        self.log_file = self.workdir / f"{name}.log"
        self.pid_file = self.workdir / f"{name}.pid"
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The running process's id, or None."""
        return self._process.pid if self.running else None

    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float | None = None) -> Self:
        """Start the process and wait (``timeout``, default ``start_timeout`` seconds) until
        it serves. Returns self.

        Raises:
            RuntimeError: it exited or was not ready in time (log tail included).
        """
        if self.running:
            return self
        self._log = self.log_file.open("ab")
        self._process = subprocess.Popen(
            self.command,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            env={**os.environ, **self.env},
            start_new_session=True,  # a Ctrl-C on the test run is ours to forward, not its
        )
        self.pid_file.write_text(f"{self._process.pid}\n")
        deadline = time.monotonic() + (self.start_timeout if timeout is None else timeout)
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            if self.ready():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} did not become ready; log tail:\n{self.log_tail()}")

    def ready(self) -> bool:
        """Whether it serves: its port accepts connections (and ``ready_path`` answers 200)."""
        if not port_open(self.host, self.port):
            return False
        if self.ready_path is None:
            return True
        try:
            with urllib.request.urlopen(self.url + self.ready_path, timeout=2) as response:
                return bool(response.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def stop(self, timeout: float = 15.0) -> int | None:
        """``stop_signal`` (a graceful stop: the server flushes what it holds), SIGKILL after
        ``timeout``. Returns the exit code."""
        return self._end(self.stop_signal, timeout)

    def kill(self) -> int | None:
        """SIGKILL: it dies at once, losing whatever it held."""
        return self._end(signal.SIGKILL, 5.0)

    def restart(self) -> Self:
        """Stop (gracefully) and start again, with the same command and ports."""
        self.stop()
        return self.start()

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

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of its output, for failure messages."""
        try:
            text = self.log_file.read_text(errors="replace")
        except OSError:
            return "<no log>"
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
