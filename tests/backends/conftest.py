"""Fixtures for the tests against the real engines (otelcol, Jaeger) built from Go modules.

The binaries come from ``scripts/backends build`` (``.ci/run`` runs it first; here it is
quick when nothing changed, and builds what is missing). The tests skip only on a machine
without Go, where the engines cannot be built.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

import pytest

from tests.support.backends import BACKENDS_SCRIPT, Jaeger, binary


@pytest.fixture(scope="session")
def engines_built() -> None:
    """Both engines are built and current, or every test here skips (no Go)."""
    if shutil.which("go") is None:
        if binary("otelcol").exists() and binary("jaeger").exists():
            return
        pytest.skip("Go is not installed, so scripts/backends cannot build otelcol and jaeger")
    result = subprocess.run([str(BACKENDS_SCRIPT), "build"], capture_output=True, text=True,
                            timeout=3600, check=False)
    assert result.returncode == 0, result.stderr[-4000:]


@pytest.fixture(scope="session")
def jaeger(engines_built: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jaeger]:
    """One Jaeger for the whole run: tests keep apart by service name and session ids."""
    with Jaeger(workdir=tmp_path_factory.mktemp("jaeger")) as engine:
        yield engine
