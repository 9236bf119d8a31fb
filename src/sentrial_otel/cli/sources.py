"""Where ``sessions list|show|replay`` read sessions: the local store, or a Jaeger.

``--source local`` (the default) reads the store (``--store`` / ``SENTRIAL_HOME``);
``--source jaeger=http://HOST:16686`` (or ``SENTRIAL_SOURCE``) asks that Jaeger's query API
(``sentrial_otel.store.jaeger``). Both answer with the same summaries and sessions, so the
commands print them the same way. A source that cannot answer gets one ``Error:`` line and
exit code 1; a source spelled wrong, exit code 2.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

import click

from sentrial_otel import environment_variables as env
from sentrial_otel.store import (
    Session,
    SessionFilter,
    SessionNotFound,
    SessionSummary,
    find_session,
    list_sessions,
    load_session,
)
from sentrial_otel.store.jaeger import JaegerError, JaegerSessions

SOURCE_ENV = env.SENTRIAL_SOURCE
LOCAL = "local"
JAEGER_PREFIX = "jaeger="

F = TypeVar("F", bound=Callable[..., Any])


class SessionSource(Protocol):
    """What the session commands need of a source."""

    @property
    def description(self) -> str: ...

    def list_sessions(self, session_filter: SessionFilter | None = None,
                      limit: int | None = None) -> list[SessionSummary]: ...

    def load_session(self, session_id: str) -> Session: ...


@dataclass(frozen=True)
class LocalStore:
    """The local store directory as a source."""

    directory: Path

    @property
    def description(self) -> str:
        return str(self.directory)

    def list_sessions(self, session_filter: SessionFilter | None = None,
                      limit: int | None = None) -> list[SessionSummary]:
        return list_sessions(self.directory, session_filter, limit=limit)

    def load_session(self, session_id: str) -> Session:
        return load_session(self.directory, find_session(self.directory, session_id))


def source_option(command: F) -> F:
    """Add ``--source local|jaeger=URL`` (env ``SENTRIAL_SOURCE``) to a command."""
    return click.option(
        "--source", "source_spec", envvar=SOURCE_ENV, default=LOCAL, show_default=True,
        show_envvar=True, metavar="local|jaeger=URL",
        help="Read sessions from the local store, or from Jaeger's query API "
             "(e.g. jaeger=http://127.0.0.1:16686).",
    )(command)


def open_source(ctx: click.Context, spec: str, store: Path) -> SessionSource:
    """The source named by ``--source``; a bad spec exits 2 with one line."""
    spec = (spec or LOCAL).strip()
    if spec == LOCAL:
        return LocalStore(store)
    if spec.startswith(JAEGER_PREFIX):
        try:
            return JaegerSessions(spec[len(JAEGER_PREFIX):])
        except JaegerError as error:
            _fail(ctx, f"--source {spec}: {error}", code=2)
    _fail(ctx, f"--source {spec!r}: expected 'local' or 'jaeger=http://HOST:16686'", code=2)
    raise AssertionError("unreachable")  # _fail exits


@contextlib.contextmanager
def source_errors(ctx: click.Context) -> Iterator[None]:
    """Turn a source's failure (not found, unreachable, unreadable) into one line, exit 1."""
    try:
        yield
    except (SessionNotFound, JaegerError) as error:
        _fail(ctx, str(error), code=1)


def _fail(ctx: click.Context, message: str, *, code: int) -> None:
    click.echo(f"Error: {message}", err=True)
    ctx.exit(code)
