"""The ``sentrial-otel`` command: browse, replay and export the local session store.

Exit codes: 0 ok, 1 not found or failed, 2 usage error.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import click

from sentrial_otel.cli.demo import demo_command
from sentrial_otel.cli.doctor import doctor_command
from sentrial_otel.cli.export import export_command
from sentrial_otel.cli.options import root_store_option
from sentrial_otel.cli.sessions import sessions_group

__all__ = ["main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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


main.add_command(sessions_group)
main.add_command(export_command)
main.add_command(doctor_command)
main.add_command(demo_command)
