"""Running a command in a real pseudo-terminal of a given size, as a person's shell runs it.

The CLI draws differently on a terminal (tables that fit, trees, progress bars, colour), and
decides so by ``isatty()`` and the terminal's size, so only a real terminal tests that path.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import termios
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


@dataclass
class TerminalRun:
    returncode: int
    raw: str
    """Everything written to the terminal, escape codes included, ``\\r\\n`` as ``\\n``."""

    @property
    def text(self) -> str:
        """What is written, without escape codes."""
        return _ANSI.sub("", self.raw)


def run_in_terminal(
    argv: Sequence[str],
    env: Mapping[str, str],
    columns: int = 80,
    rows: int = 24,
    timeout: float = 60,
) -> TerminalRun:
    """Run ``argv`` with stdin, stdout and stderr on a new pseudo-terminal."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    process = subprocess.Popen(list(argv), stdin=slave, stdout=slave, stderr=slave,
                               env=dict(env), start_new_session=True)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every writer closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        else:
            process.kill()
            raise TimeoutError(f"{argv} did not finish within {timeout}s")
        returncode = process.wait(timeout=10)
    finally:
        os.close(master)
    raw = b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")
    return TerminalRun(returncode, raw)
