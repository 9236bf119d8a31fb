"""The extra test venvs of scripts/venvs/ (built by scripts/extra-venvs, which scripts/test
runs first): their interpreter, or a skip that says why the venv is not there.

    python = venv_python("mcp1")   # .venv-mcp1/bin/python, or pytest.skip(...)

``SENTRIAL_EXTRA_VENVS_REQUIRED=1`` (set by .ci/run) makes a missing venv a failure
instead, so CI cannot pass with the MCP 1.x and Phoenix tests silently skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def venv_python(name: str) -> str:
    """The interpreter of ``.venv-NAME``; skips the test when that venv was not built (fails
    it under ``SENTRIAL_EXTRA_VENVS_REQUIRED=1``)."""
    missing = pytest.fail if os.environ.get("SENTRIAL_EXTRA_VENVS_REQUIRED") == "1" else pytest.skip
    venv = ROOT / f".venv-{name}"
    failed = ROOT / f".venv-{name}.failed"
    if failed.is_file():
        missing(f".venv-{name} could not be built: {failed.read_text().strip()}")
    python = venv / "bin" / "python"
    if not (venv / ".sentrial-installed").is_file() or not python.is_file():
        missing(
            f".venv-{name} is not built (scripts/venvs/{name}.txt): run scripts/extra-venvs, "
            "or scripts/test without SENTRIAL_EXTRA_VENVS=0"
        )
    return str(python)
