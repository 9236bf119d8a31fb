"""Where a store keeps its files, and the checks made before writing there.

A store is one directory::

    spans.jsonl                         the active file, appended to by every writer
    spans-20250101T120000123456Z-0.jsonl  rotated files, oldest first by name
    .lock                               flock'ed: shared to append, exclusive to rotate
    .summaries/<data file>              session summaries appended by writers (``sidecar.py``)
    .index/<data file>.json             session summaries built by readers, for data files
                                        without a complete sidecar (``index.py``)

The directory is owner-only (0o700) and files 0o600: spans hold user content.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
from datetime import datetime, timezone
from pathlib import Path

ACTIVE_FILE = "spans.jsonl"
LOCK_FILE = ".lock"
INDEX_DIR = ".index"
SUMMARY_DIR = ".summaries"
DIR_MODE = 0o700
FILE_MODE = 0o600

_ROTATED = re.compile(r"^spans-(\d{8}T\d{12}Z)-(\d+)\.jsonl$")


class StoreError(Exception):
    """The store directory cannot be used (symlink, not a directory, not writable...)."""


def prepare_directory(directory: str | os.PathLike[str]) -> Path:
    """Create the store directory (0o700) or check an existing one; return its path.

    Refuses a symlink, even one pointing to a valid directory: a store is private
    data and a link planted by someone else would redirect it.
    """
    path = Path(directory).expanduser().absolute()
    if path.is_symlink():
        raise StoreError(f"store directory {path} is a symlink; refusing to write there")
    try:
        path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    except OSError as error:
        raise StoreError(f"cannot create store directory {path}: {error}") from error
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode):
        raise StoreError(f"store path {path} is not a directory")
    if not os.access(path, os.W_OK | os.X_OK):
        raise StoreError(f"store directory {path} is not writable")
    if info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) & 0o077:
        # Ours but readable by others (e.g. created by hand): tighten it.
        try:
            os.chmod(path, DIR_MODE)
        except OSError as error:
            raise StoreError(f"cannot restrict permissions of {path}: {error}") from error
    return path


def fallback_directory() -> Path:
    """Where the engine keeps spans when the configured store cannot be used: a directory
    of this user's in the system's temp directory."""
    return Path(tempfile.gettempdir()) / f"sentrial-{os.getuid()}"


def store_problem(directory: str | os.PathLike[str]) -> str | None:
    """Why :func:`prepare_directory` would refuse ``directory``, found without creating
    anything; None when it would accept it."""
    path = Path(directory).expanduser().absolute()
    if path.is_symlink():
        return "it is a symlink"
    if path.exists():
        if not path.is_dir():
            return "it is not a directory"
        return None if os.access(path, os.W_OK | os.X_OK) else "it is not writable"
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        return f"it cannot be created: {parent} is not a directory"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"it cannot be created: {parent} is not writable"
    return None


def rotated_name(directory: Path, now: datetime | None = None) -> Path:
    """A free name for the file being rotated out: ``spans-<utc timestamp>-<n>.jsonl``."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%S%fZ")
    n = 0
    while (candidate := directory / f"spans-{stamp}-{n}.jsonl").exists():
        n += 1
    return candidate


def data_files(directory: str | os.PathLike[str]) -> list[Path]:
    """The store's span files in write order: rotated ones oldest first, then the active one."""
    path = Path(directory)
    if not path.is_dir():
        return []
    rotated = []
    for entry in path.iterdir():
        match = _ROTATED.match(entry.name)
        if match:
            rotated.append(((match.group(1), int(match.group(2))), entry))
    files = [entry for _, entry in sorted(rotated)]
    active = path / ACTIVE_FILE
    if active.exists():
        files.append(active)
    return files


def open_private(path: Path, flags: int) -> int:
    """``os.open`` with owner-only permissions for any file it creates."""
    return os.open(path, flags | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
