"""The package type-checks (mypy) and passes the linter's error rules (ruff), as CI sees it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.slow
def test_mypy_is_clean():
    pytest.importorskip("mypy")
    result = _run(sys.executable, "-m", "mypy", "src", "--ignore-missing-imports")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_finds_no_errors():
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed")
    result = _run(ruff, "check", "src", "--select", "E,F,W,B", "--ignore", "E501,B905", "--output-format", "concise")
    assert result.returncode == 0, result.stdout + result.stderr
