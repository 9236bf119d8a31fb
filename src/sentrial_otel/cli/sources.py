"""Where ``sessions list|show|replay`` read sessions from: a source behind the commands.

The commands ask a source three questions (the newest matching sessions, the one session
an id names, that session's spans) and print the answers; they never open the store
themselves, so another source (a tracing backend's query API) answers the same questions
behind the same commands. Today's one source is the local store.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import click

from sentrial_otel.cli.formatting import is_terminal
from sentrial_otel.cli.options import existing_store
from sentrial_otel.store import (
    Session,
    SessionFilter,
    SessionPage,
    SessionSummary,
    find_session,
    list_page,
    load_session,
)
from sentrial_otel.store.index import ParseProgress


class SessionSource(Protocol):
    """What the ``sessions`` commands need of a place that holds sessions."""

    description: str
    """For messages: ``the local store /path``."""

    def list(self, session_filter: SessionFilter, limit: int | None) -> SessionPage:
        """The newest matching sessions, at most ``limit``, and how many matched."""

    def find(self, id_prefix: str) -> SessionSummary:
        """The one session ``id_prefix`` names; raises ``SessionNotFound`` otherwise."""

    def load(self, summary: SessionSummary) -> Session:
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

    def load(self, summary: SessionSummary) -> Session:
        return load_session(self.directory, summary)


@contextmanager
def session_source(ctx: click.Context) -> Iterator[SessionSource]:
    """The source the command line names, while its questions are asked.

    Files the writers kept no summaries for are parsed on first listing, which takes
    seconds on a big store: on a terminal, a progress bar says so meanwhile.
    """
    directory = existing_store(ctx)
    if not is_terminal(err=True):
        yield StoreSource(directory)
        return
    from sentrial_otel.cli.terminal import ParseProgressBar  # rich: only for a terminal

    with ParseProgressBar() as progress:
        yield StoreSource(directory, progress)
