"""A server process that a test starts as its own child, and stops.

The process gets its own session (a Ctrl-C on the test run is ours to forward, not its),
its output goes to a log file in its working directory, and ``stop()`` / ``kill()`` end it
for sure (SIGKILL after a grace period). Subclasses say how to start it and when it is
ready: ``RotelCollector`` (tests/support/rotel.py), ``Otelcol`` and ``Jaeger``
(tests/support/backends.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO


class ChildProcess:
    """One child process with a log file; ``name`` labels it in messages."""

    name = "process"
    stop_timeout = 5.0

    def __init__(self, workdir: Path, log_file: Path) -> None:
        self.workdir = workdir
        self.log_file = log_file
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        """The running process's id, or None."""
        return self._process.pid if self._process is not None and self.running else None

    def _spawn(self, command: Sequence[str], env: Mapping[str, str], ready: Callable[[], bool],
               timeout: float) -> None:
        """Start ``command`` and wait until ``ready()``.

        Raises:
            RuntimeError: the process exited or was not ready in time (log tail included).
        """
        self._log = self.log_file.open("ab")
        self._process = subprocess.Popen(
            list(command), stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=subprocess.STDOUT, cwd=self.workdir, env={**os.environ, **env},
            start_new_session=True,
        )
        self._started()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._process.poll() is None:
            if ready():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} did not become ready; log tail:\n{self.log_tail()}")

    def _started(self) -> None:
        """Called right after the process is spawned (rotel writes its pid file here)."""

    def _ended(self) -> None:
        """Called after the process is gone."""

    def stop(self, timeout: float | None = None) -> int | None:
        """SIGTERM (the server flushes what it holds), SIGKILL after ``timeout``. Returns the
        exit code."""
        return self._end(signal.SIGTERM, self.stop_timeout if timeout is None else timeout)

    def kill(self) -> int | None:
        """SIGKILL: the server dies at once, losing whatever it had not sent on yet."""
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
        self._ended()
        return code

    def log_text(self) -> str:
        """Everything the process logged so far."""
        try:
            return self.log_file.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the log, for failure messages."""
        return "\n".join(self.log_text().splitlines()[-lines:]) or "<no log>"

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
