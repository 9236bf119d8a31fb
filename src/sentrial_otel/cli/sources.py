"""Where the ``sessions`` commands read sessions from: a source behind the commands.

The commands ask a source three questions (the newest matching sessions, the one session
an id names, that session's spans) and print the answers; they never open the store or
call a backend themselves. Two sources answer them, with the same summaries and sessions:

- ``--source local`` (the default): the local store (``--store`` / ``SENTRIAL_HOME``);
- ``--source jaeger=http://HOST:16686``: that Jaeger's query API
  (``sentrial_otel.store.jaeger``).

``SENTRIAL_SOURCE`` sets the default. A source that cannot answer (unreachable, not
Jaeger) gets one ``Error:`` line and exit code 1; a source spelled wrong, exit code 2.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, Protocol, TypeVar

import click
from click.core import ParameterSource

from sentrial_otel import environment_variables as env
from sentrial_otel.cli.formatting import is_terminal
from sentrial_otel.cli.options import existing_store
from sentrial_otel.store import (
    StoredSession,
    SessionFilter,
    SessionPage,
    SessionSummary,
    find_session,
    list_page,
    load_session,
)
from sentrial_otel.store.index import ParseProgress
from sentrial_otel.store.jaeger import JaegerError, JaegerSessions

F = TypeVar("F", bound=Callable[..., Any])

LOCAL = "local"
JAEGER_PREFIX = "jaeger="
_SOURCE_KEY = "sentrial_otel.source"  # in ctx.meta: (spec, what gave it)


class SessionSource(Protocol):
    """What the ``sessions`` commands need of a place that holds sessions."""

    description: str
    """For messages: ``the local store /path``, ``Jaeger at http://...``."""

    def list(self, session_filter: SessionFilter, limit: int | None) -> SessionPage:
        """The newest matching sessions, at most ``limit``, and how many matched."""

    def find(self, id_prefix: str) -> SessionSummary:
        """The one session ``id_prefix`` names; raises ``SessionNotFound`` otherwise."""

    def load(self, summary: SessionSummary) -> StoredSession:
        """Every span of the session, in start-time order."""


class StoreSource:
    """The sessions of a local store directory."""

    def __init__(self, directory: Path, progress: ParseProgress | None = None) -> None:
        self.directory = directory
        self.description = f"the local store {directory}"
        self._progress = progress

    def list(self, session_filter: SessionFilter, limit: int | None) -> SessionPage:
        return list_page(self.directory, session_filter, limit, self._progress)

    def find(self, id_prefix: str) -> SessionSummary:
        return find_session(self.directory, id_prefix, self._progress)

    def load(self, summary: SessionSummary) -> StoredSession:
        return load_session(self.directory, summary)


def source_option(command: F) -> F:
    """``--source local|jaeger=URL`` on a command or its group (``SENTRIAL_SOURCE`` behind
    it); given on the command line after the command, it wins."""

    def remember(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
        if value is None:
            return
        given = ctx.get_parameter_source(param.name or "") is ParameterSource.COMMANDLINE
        if given or _SOURCE_KEY not in ctx.meta:
            ctx.meta[_SOURCE_KEY] = (value, "--source" if given else env.SENTRIAL_SOURCE)

    return click.option(
        "--source", envvar=env.SENTRIAL_SOURCE, show_envvar=True, expose_value=False,
        callback=remember, metavar="local|jaeger=URL",
        help="Read sessions from the local store (local, the default) or from Jaeger's "
             "query API (e.g. jaeger=http://127.0.0.1:16686).",
    )(command)


@contextmanager
def session_source(ctx: click.Context) -> Iterator[SessionSource]:
    """The source the command line names, while its questions are asked; a failure of the
    source to answer is one ``Error:`` line and exit 1.

    Store files the writers kept no summaries for are parsed on first listing, which takes
    seconds on a big store: on a terminal, a progress bar says so meanwhile.
    """
    spec, origin = ctx.meta.get(_SOURCE_KEY, (LOCAL, ""))
    spec = spec.strip()
    if spec.startswith(JAEGER_PREFIX):
        try:
            source = JaegerSessions(spec[len(JAEGER_PREFIX):])
        except JaegerError as error:
            _fail(ctx, f"{origin} {spec}: {error}", code=2)
        try:
            yield source
        except JaegerError as error:
            _fail(ctx, str(error), code=1)
        return
    if spec != LOCAL:
        _fail(ctx, f"{origin} {spec!r}: expected 'local' or 'jaeger=http://HOST:16686'",
              code=2)
    directory = existing_store(ctx)
    if not is_terminal(err=True):
        yield StoreSource(directory)
        return
    from sentrial_otel.cli.terminal import ParseProgressBar  # rich: only for a terminal

    with ParseProgressBar() as progress:
        yield StoreSource(directory, progress)


def note_page(page: SessionPage) -> None:
    """What the source said about its answer, on stderr (stdout stays the table or JSON)."""
    if page.note:
        click.echo(page.note, err=True)


def _fail(ctx: click.Context, message: str, *, code: int) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    ctx.exit(code)
