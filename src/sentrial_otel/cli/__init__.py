"""The ``sentrial-otel`` command: browse, replay and export the local session store.

Exit codes: 0 ok, 1 not found or failed, 2 usage error.
"""

from __future__ import annotations

import importlib
import logging
import os
from pathlib import Path
from typing import Any

import click

from sentrial_otel.cli.options import root_store_option

__all__ = ["main"]

# name -> (module, attribute, the first paragraph of the command's help). A command's
# module (the store, protobuf, the OTLP client) is imported only when that command runs,
# so `--help` and `--version` start about as fast as click itself
# (benchmarks/bench_cli_start.py); tests/test_package.py keeps the summaries true.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "demo": (
        "sentrial_otel.cli.demo", "demo_command",
        "Run a bundled offline example agent into the store, then list and show it.",
    ),
    "doctor": (
        "sentrial_otel.cli.doctor", "doctor_command",
        "Show which exporter and endpoint are in effect and why, and check them.",
    ),
    "export": (
        "sentrial_otel.cli.export", "export_command",
        "Send the stored spans of the matching sessions to an OTLP collector.",
    ),
    "sessions": (
        "sentrial_otel.cli.sessions", "sessions_group",
        "Browse the sessions in the local store, or in Jaeger (--source).",
    ),
}


class _LazyGroup(click.Group):
    """A group that imports a subcommand's module when the subcommand is looked up."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            module, attribute, _ = COMMANDS[cmd_name]
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: Any) -> None:
        # Listed from the summaries, shortened as click would shorten the commands' own help.
        rows = [click.Command(name, help=COMMANDS[name][2]) for name in sorted(COMMANDS)]
        limit = formatter.width - 6 - max(len(row.name or "") for row in rows)
        with formatter.section("Commands"):
            formatter.write_dl([(row.name or "", row.get_short_help_str(limit)) for row in rows])


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@root_store_option
@click.option("-v", "--verbose", is_flag=True, help="Log what happens (to stderr).")
@click.version_option(package_name="sentrial-otel", message="%(prog)s %(version)s")
@click.pass_context
def main(ctx: click.Context, store: Path, verbose: bool) -> None:
    """Browse, replay and export agent sessions recorded by sentrial-otel."""
    if os.environ.get("NO_COLOR"):  # https://no-color.org; rich reads it by itself
        ctx.color = False  # click.echo then strips styles even on a terminal
    log_to_stderr(verbose)


class _LogFormatter(logging.Formatter):
    """Messages of the ``sentrial`` logger tree as they are: each starts with ``sentrial:``
    already (the package's convention, so that it stands out on stderr even without any
    logging set up); other libraries' messages get their logger's name in front."""

    def format(self, record: logging.LogRecord) -> str:
        message = super().format(record)
        if record.name == "sentrial" or record.name.startswith("sentrial."):
            return message
        return f"{record.name}: {message}"


def log_to_stderr(verbose: bool) -> None:
    """Warnings (with ``-v`` everything) on stderr, unless the host set logging up already."""
    root = logging.getLogger()
    if root.handlers:
        return  # e.g. a test runner, or an application calling main()
    handler = logging.StreamHandler()
    handler.setFormatter(_LogFormatter("%(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.WARNING)

