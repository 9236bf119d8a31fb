"""The package's public surface: lazy names, and what importing or starting it loads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest

import sentrial_otel
from sentrial_otel import cli

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _loaded_after(code: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys\nprint(' '.join(sorted(sys.modules)))"],
        capture_output=True, text=True, env={"PYTHONPATH": SRC}, timeout=60, check=True,
    )
    return done.stdout.split()


def test_every_public_name_resolves():
    for name in sentrial_otel.__all__:
        assert getattr(sentrial_otel, name) is not None, name
    assert set(sentrial_otel.__all__) <= set(dir(sentrial_otel))
    assert sentrial_otel.Telemetry.__module__ == "sentrial_otel._internal.engine"
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        sentrial_otel.Nope  # noqa: B018


def test_the_constants_module_does_not_load_the_engine():
    loaded = _loaded_after("import sentrial_otel.semconv, sentrial_otel.environment_variables")
    ours = [m for m in loaded if m.startswith("sentrial")]
    assert ours == [
        "sentrial_otel", "sentrial_otel.environment_variables", "sentrial_otel.semconv",
        "sentrial_otel.version",
    ]
    assert "opentelemetry.sdk.trace" not in loaded


def test_the_command_prints_its_help_without_the_store_or_the_engine():
    loaded = _loaded_after(
        "import contextlib, io\n"
        "from sentrial_otel.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n        main(['--help'])\n    except SystemExit:\n        pass"
    )
    assert "sentrial_otel.cli" in loaded
    heavy = [m for m in loaded if m.startswith(
        ("sentrial_otel.store", "sentrial_otel._internal.engine", "sentrial_otel._internal.spans",
         "google.protobuf", "opentelemetry.proto"))]
    assert heavy == []


def test_the_command_list_says_what_each_command_says_of_itself():
    ctx = click.Context(cli.main)
    for name, (_, _, summary) in cli.COMMANDS.items():
        command = cli.main.get_command(ctx, name)
        assert command is not None and command.name == name
        assert (command.help or "").split("\n\n")[0].strip() == summary, name
