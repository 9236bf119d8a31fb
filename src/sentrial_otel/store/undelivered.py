"""What earlier processes could not deliver, kept for ``sentrial-otel doctor``.

A process that ends with spans it could not deliver (the collector was down, the queue
overflowed) says so once on stderr. That line is easy to miss in a service's logs, and gone
with a container, so the same report is also appended here, one JSON line per process, to
``<store>/undelivered.jsonl`` (owner-only, like the store). ``doctor`` shows the newest.
Nothing is written by a process that delivered everything. The file stays small: past
``MAX_BYTES`` it is cut to its newest half.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sentrial_otel.store.layout import open_private, prepare_directory

FILE_NAME = "undelivered.jsonl"
MAX_BYTES = 64 * 1024


def record_undelivered(home: str | os.PathLike[str], counts: Mapping[str, int], destination: str,
                       summary: str) -> None:
    """Append this process's report; raises OSError/StoreError when the store is unusable."""
    directory = prepare_directory(home)
    report = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "pid": os.getpid(),
        "program": Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python",
        "destination": destination,
        "summary": summary,
        **counts,
    }
    path = directory / FILE_NAME
    fd = open_private(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        # One write of a whole line on an O_APPEND descriptor: processes never interleave.
        os.write(fd, (json.dumps(report, separators=(",", ":")) + "\n").encode("utf-8"))
        size = os.fstat(fd).st_size
    finally:
        os.close(fd)
    if size > MAX_BYTES:
        _keep_newest_half(path)


def recent_undelivered(home: str | os.PathLike[str], limit: int = 5) -> list[dict[str, Any]]:
    """The newest reports first (at most ``limit``); unreadable lines are skipped."""
    try:
        lines = (Path(home) / FILE_NAME).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    reports: list[dict[str, Any]] = []
    for line in reversed(lines):
        try:
            report = json.loads(line)
        except ValueError:
            continue  # a torn line (a process killed mid-write) or a hand edit
        if isinstance(report, dict):
            reports.append(report)
            if len(reports) >= limit:
                break
    return reports


def _keep_newest_half(path: Path) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    keep = b"".join(lines[len(lines) // 2:])
    temporary = path.with_name(f".{FILE_NAME}.{os.getpid()}")
    fd = open_private(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        os.write(fd, keep)
    finally:
        os.close(fd)
    # Another process may append between our read and this rename; losing such a line only
    # loses an old report, never spans.
    os.replace(temporary, path)
