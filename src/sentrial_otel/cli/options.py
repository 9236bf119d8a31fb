"""Options shared by several commands: the store location and the session filters."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from click.core import ParameterSource

from sentrial_otel import environment_variables as env
from sentrial_otel.config import DEFAULT_HOME

if TYPE_CHECKING:
    from sentrial_otel.store.sessions import SessionFilter

# The store's modules are imported when an option is used, not when the CLI starts
# (cli/__init__.py takes root_store_option from here; benchmarks/bench_cli_start.py).

F = TypeVar("F", bound=Callable[..., Any])

_STORE_KEY = "sentrial_otel.store"  # in ctx.meta, shared by a command and its parents
_STORE_TYPE = click.Path(file_okay=False, path_type=Path)


class TimeParam(click.ParamType):
    """``2h``, ``30m``, ``7d`` (that long ago) or an ISO 8601 time."""

    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> datetime:
        if isinstance(value, datetime):
            return value
        from sentrial_otel.store.sessions import parse_time

        try:
            return parse_time(str(value))
        except ValueError:
            self.fail(f"{value!r} is neither a duration like 2h/30m/7d nor an ISO time",
                      param, ctx)


def root_store_option(command: F) -> F:
    """``--store`` before the command: with ``SENTRIAL_HOME`` and the default behind it."""
    return click.option(
        "--store", type=_STORE_TYPE, envvar=env.SENTRIAL_HOME, default=DEFAULT_HOME,
        show_default=True, show_envvar=True, help="The local store directory.",
    )(command)


def store_option(command: F) -> F:
    """``--store`` after the command too (``sessions list --store DIR``): it wins."""

    def remember(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
        if value is not None:
            ctx.meta[_STORE_KEY] = value

    return click.option("--store", type=_STORE_TYPE, expose_value=False, callback=remember,
                        help="The local store directory (also accepted before the command).",
                        )(command)


def store_path(ctx: click.Context) -> Path:
    """The store directory chosen on the command line or by ``SENTRIAL_HOME``."""
    return Path(ctx.meta.get(_STORE_KEY) or ctx.find_root().params.get("store") or DEFAULT_HOME)


def store_origin(ctx: click.Context) -> str:
    """What chose :func:`store_path`, for messages about it."""
    root = ctx.find_root()
    if _STORE_KEY in ctx.meta or root.get_parameter_source("store") is ParameterSource.COMMANDLINE:
        return "--store"
    if root.get_parameter_source("store") is ParameterSource.ENVIRONMENT:
        return env.SENTRIAL_HOME
    return f"the default ./{DEFAULT_HOME}"


def existing_store(ctx: click.Context) -> Path:
    """:func:`store_path`, or exit 1 saying so when there is no store there."""
    directory = store_path(ctx)
    if not directory.is_dir():
        click.echo(f"Error: no local store at {directory.absolute()} (from {store_origin(ctx)}); "
                   "sessions are recorded there once an agent runs without a collector "
                   "endpoint, or try `sentrial-otel demo`.", err=True)
        ctx.exit(1)
    return directory


def filter_options(command: F) -> F:
    """Add ``--since/--until/--agent/--user/--status/--convo/--issue/--has-issues`` to a
    command."""
    from sentrial_otel.store.sessions import STATUSES

    options = [
        click.option("--since", type=TimeParam(),
                     help="Sessions started at or after: a duration ago (2h, 30m, 7d) or an "
                          "ISO time."),
        click.option("--until", type=TimeParam(), help="Sessions started at or before."),
        click.option("--agent", help="Only this agent name."),
        click.option("--user", help="Only this user id."),
        click.option("--status", type=click.Choice(STATUSES),
                     help="Only sessions with this outcome (open: not ended, or its process "
                          "was killed)."),
        click.option("--convo", help="Only this conversation id."),
        click.option("--issue", metavar="KIND",
                     help="Only sessions with a detected issue of this kind (tool_loop, "
                          "tool_error_streak, low_confidence, empty_output, "
                          "truncated_output, over_budget, slow_step, or one of your own)."),
        click.option("--has-issues", is_flag=True,
                     help="Only sessions with at least one detected issue."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def session_filter(params: dict[str, Any]) -> SessionFilter:
    """The filter built from :func:`filter_options` values."""
    from sentrial_otel.store.sessions import SessionFilter

    return SessionFilter(
        since=params.get("since"),
        until=params.get("until"),
        agent=params.get("agent"),
        user=params.get("user"),
        status=params.get("status"),
        convo=params.get("convo"),
        issue=params.get("issue"),
        has_issues=bool(params.get("has_issues")),
    )
