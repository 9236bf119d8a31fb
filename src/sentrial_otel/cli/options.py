"""Options shared by several commands: the store location and the session filters."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from sentrial_otel.store.sessions import STATUS_ABANDONED, STATUS_FAILED, STATUS_SUCCESS
from sentrial_otel.store.sessions import SessionFilter, parse_time

DEFAULT_STORE = ".sentrial"
STORE_ENV = "SENTRIAL_HOME"

F = TypeVar("F", bound=Callable[..., Any])


class TimeParam(click.ParamType):
    """``2h``, ``30m``, ``7d`` (that long ago) or an ISO 8601 time."""

    name = "TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None
                ) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return parse_time(str(value))
        except ValueError:
            self.fail(f"{value!r} is neither a duration like 2h/30m/7d nor an ISO time",
                      param, ctx)


def store_path(ctx: click.Context) -> Path:
    """The store directory chosen on the command line or by ``SENTRIAL_HOME``."""
    return Path(ctx.find_root().params.get("store") or DEFAULT_STORE)


def filter_options(command: F) -> F:
    """Add ``--since/--until/--agent/--user/--status/--convo`` to a command."""
    options = [
        click.option("--since", type=TimeParam(),
                     help="Sessions started at or after: a duration ago (2h, 30m, 7d) or an "
                          "ISO time."),
        click.option("--until", type=TimeParam(), help="Sessions started at or before."),
        click.option("--agent", help="Only this agent name."),
        click.option("--user", help="Only this user id."),
        click.option("--status",
                     type=click.Choice([STATUS_SUCCESS, STATUS_FAILED, STATUS_ABANDONED]),
                     help="Only sessions with this outcome."),
        click.option("--convo", help="Only this conversation id."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def session_filter(params: dict[str, Any]) -> SessionFilter:
    """The filter built from :func:`filter_options` values."""
    return SessionFilter(
        since=params.get("since"),
        until=params.get("until"),
        agent=params.get("agent"),
        user=params.get("user"),
        status=params.get("status"),
        convo=params.get("convo"),
    )
