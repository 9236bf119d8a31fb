"""The extra test venvs: a test that needs one skips, saying why, when it is not built;
under CI's ``SENTRIAL_EXTRA_VENVS_REQUIRED=1`` it fails instead, so CI cannot pass with the
MCP 1.x and Phoenix tests skipped."""

from __future__ import annotations

import pytest

from tests.support.extra_venvs import venv_python

MISSING = "never-built"  # no scripts/venvs/never-built.txt, so no .venv-never-built


def test_a_missing_venv_skips_and_names_how_to_build_it(monkeypatch) -> None:
    monkeypatch.delenv("SENTRIAL_EXTRA_VENVS_REQUIRED", raising=False)
    with pytest.raises(pytest.skip.Exception, match="scripts/extra-venvs"):
        venv_python(MISSING)


def test_under_ci_a_missing_venv_fails(monkeypatch) -> None:
    monkeypatch.setenv("SENTRIAL_EXTRA_VENVS_REQUIRED", "1")
    with pytest.raises(pytest.fail.Exception, match=".venv-never-built is not built"):
        venv_python(MISSING)


def test_a_built_venv_gives_its_interpreter() -> None:
    python = venv_python("mcp1")  # built by scripts/test before pytest (skips, or under CI fails, if not)
    assert python.endswith("/.venv-mcp1/bin/python")
