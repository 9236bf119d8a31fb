"""``sentrial-otel sessions``: list, show, replay and diagnose sessions and count their
detected issues, read from a session source (``sources.py``: the local store or Jaeger)."""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from sentrial_otel.cli.events import (
    event_json,
    event_lines,
    event_views,
    finding_json,
    score_json,
    session_header,
)
from sentrial_otel.cli.formatting import (
    cost_text,
    duration_text,
    echo_json,
    echo_table,
    is_terminal,
    local_time_text,
    status_text,
)
from sentrial_otel.cli.diagnose import ask_model, diagnosis_brief, print_answer
from sentrial_otel.cli.issues import issues_command
from sentrial_otel.cli.options import filter_options, session_filter, store_option
from sentrial_otel.cli.sources import note_page, session_source, source_option
from sentrial_otel.store import SessionNotFound, StoredSession

LIST_HEADERS = ("START", "SESSION", "AGENT", "USER", "STATUS", "DURATION", "LLM", "TOOLS",
                "TOKENS", "COST", "ISSUES")
RIGHT_ALIGNED = {5, 6, 7, 8, 9, 10}
FOLDED = {0, 1, 2, 3}  # on a narrow terminal: the start time, ids and names


@click.group("sessions")
@store_option
@source_option
def sessions_group() -> None:
    """Browse the sessions in the local store, or in Jaeger (--source)."""


@sessions_group.command("list")
@filter_options
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True,
              help="Show at most this many sessions (newest first).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@store_option
@source_option
@click.pass_context
def list_command(ctx: click.Context, limit: int, as_json: bool, **filters: Any) -> None:
    """List sessions, newest first, with the dashboard's filters."""
    with session_source(ctx) as source:
        page = source.list(session_filter(filters), limit)
    note_page(page)
    if as_json:
        echo_json([summary.to_json() for summary in page.sessions])
        return
    if not page.sessions:
        click.echo(f"No sessions in {source.description} match.", err=True)
        return
    rows = [
        (
            local_time_text(s.start_ns),
            s.display_id,
            s.agent or "-",
            s.user or "-",
            status_text(s.status),
            duration_text(s.duration_ns),
            str(s.llm_calls),
            str(s.tool_calls),
            str(s.tokens),
            cost_text(s.cost),
            f"{s.issue_count:,}" if s.issue_count else "-",
        )
        for s in page.sessions
    ]
    shown = len(LIST_HEADERS)
    if is_terminal() and not any(s.issue_count for s in page.sessions):
        shown -= 1  # room is short on a terminal: the issues column only when there are some
    echo_table(LIST_HEADERS[:shown], [row[:shown] for row in rows], RIGHT_ALIGNED, FOLDED)
    if page.matching > len(page.sessions):
        click.echo(f"Showing the newest {len(page.sessions):,} of {page.matching:,} matching "
                   "sessions; --limit shows more.", err=True)


def _load(ctx: click.Context, session_id: str) -> StoredSession:
    with session_source(ctx) as source:
        try:
            summary = source.find(session_id)
        except SessionNotFound as error:
            click.echo(f"Error: {error}", err=True)
            ctx.exit(1)
        session = source.load(summary)
    if not session.spans:
        # Listed a moment ago, gone now: its file was rotated, cut or removed meanwhile.
        click.echo(f"Error: the spans of session {session_id!r} are no longer in "
                   f"{source.description}", err=True)
        ctx.exit(1)
    return session


@sessions_group.command("show")
@click.argument("session_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@store_option
@source_option
@click.pass_context
def show_command(ctx: click.Context, session_id: str, as_json: bool) -> None:
    """Show every event of a session in time order (on a terminal, as a tree).

    SESSION_ID may be any unique prefix of the session id (or of the trace id); Jaeger
    needs the whole id.
    """
    session = _load(ctx, session_id)
    if as_json:
        start = session.summary.start_ns
        echo_json({
            "session": session.summary.to_json(),
            "events": [event_json(view.span, view.kind, start)
                       for view in event_views(session)],
            "findings": [finding_json(finding, start) for finding in session.findings],
            "scores": [score_json(score, start) for score in session.scores],
        })
        return
    if is_terminal():
        from sentrial_otel.cli.terminal import print_session_tree  # rich: only for a terminal

        print_session_tree(session, session_header(session))
        return
    click.echo("\n".join(session_header(session)))
    click.echo()
    for view in event_views(session):
        click.echo("\n".join(event_lines(view)))


@sessions_group.command("replay")
@click.argument("session_id")
@click.option("--speed", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="Replay speed: 1 is real time, 10 ten times faster, 0 no waiting.")
@click.option("--step", is_flag=True, help="Wait for Enter between steps (q to stop).")
@store_option
@source_option
@click.pass_context
def replay_command(ctx: click.Context, session_id: str, speed: float, step: bool) -> None:
    """Replay a session step by step, in time order."""
    session = _load(ctx, session_id)
    start = session.summary.start_ns
    views = event_views(session)
    click.echo("\n".join(session_header(session)))
    previous_ns = start
    for number, view in enumerate(views, 1):
        if step and number > 1:
            click.echo(click.style(f"-- step {number}/{len(views)}: Enter to go on, q to stop",
                                   dim=True), nl=False)
            answer = sys.stdin.readline()
            click.echo()
            if answer.strip().lower() == "q":
                return
        elif speed > 0:
            time.sleep(max(0, view.span.start_ns - previous_ns) / 1e9 / speed)
        previous_ns = view.span.start_ns
        click.echo("\n".join(event_lines(view)))
    end_ns = session.summary.end_ns
    if not step and speed > 0:
        time.sleep(max(0, end_ns - previous_ns) / 1e9 / speed)
    click.echo(f"+{(end_ns - start) / 1e9:8.3f}s  END {status_text(session.summary.status)}")


@sessions_group.command("diagnose")
@click.argument("session_id")
@click.option("--model", metavar="PROVIDER:MODEL",
              help="Send the brief to this chat model (LangChain's init_chat_model, e.g. "
                   "openai:gpt-4o, anthropic:claude-sonnet-4-5, ollama:llama3.2; needs "
                   "LangChain and the provider's package) and print its answer.")
@store_option
@source_option
@click.pass_context
def diagnose_command(ctx: click.Context, session_id: str, model: str | None) -> None:
    """Print a compact markdown brief of a session, ready to paste into an LLM: its steps,
    errors, detected issues and scores, with content only as it was captured.

    With --model, ask that model to diagnose it instead and print the answer.
    """
    brief = diagnosis_brief(_load(ctx, session_id))
    if model is None:
        click.echo(brief, nl=False)
        return
    print_answer(ask_model(model, brief))


sessions_group.add_command(issues_command)
