"""``sentrial-otel sessions``: list, show and replay what the local store holds."""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from sentrial_otel.cli.events import (
    event_json,
    event_lines,
    ordered_events,
    session_header,
)
from sentrial_otel.cli.formatting import (
    cost_text,
    duration_text,
    echo_json,
    local_time_text,
    status_text,
    table,
)
from sentrial_otel.cli.options import filter_options, session_filter, store_path
from sentrial_otel.cli.sources import open_source, source_errors, source_option
from sentrial_otel.store import Session

LIST_HEADERS = ("START", "SESSION", "AGENT", "USER", "STATUS", "DURATION", "LLM", "TOOLS",
                "TOKENS", "COST")
RIGHT_ALIGNED = {5, 6, 7, 8, 9}


@click.group("sessions")
def sessions_group() -> None:
    """Browse the sessions in the local store, or in Jaeger (--source)."""


@sessions_group.command("list")
@filter_options
@source_option
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True,
              help="Show at most this many sessions (newest first).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_context
def list_command(ctx: click.Context, limit: int, as_json: bool, source_spec: str = "local",
                 **filters: Any) -> None:
    """List sessions, newest first, with the dashboard's filters."""
    source = open_source(ctx, source_spec, store_path(ctx))
    with source_errors(ctx):
        found = source.list_sessions(session_filter(filters), limit=limit)
    if as_json:
        echo_json([summary.to_json() for summary in found])
        return
    if not found:
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
        )
        for s in found
    ]
    click.echo(table(LIST_HEADERS, rows, RIGHT_ALIGNED))


def _load(ctx: click.Context, session_id: str, source_spec: str) -> Session:
    source = open_source(ctx, source_spec, store_path(ctx))
    with source_errors(ctx):
        return source.load_session(session_id)
    raise AssertionError("unreachable")  # source_errors exits


@sessions_group.command("show")
@click.argument("session_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@source_option
@click.pass_context
def show_command(ctx: click.Context, session_id: str, as_json: bool,
                 source_spec: str = "local") -> None:
    """Show every event of a session in time order.

    SESSION_ID may be any unique prefix of the session id (or of the trace id); Jaeger
    needs the whole id.
    """
    session = _load(ctx, session_id, source_spec)
    start = session.summary.start_ns
    events = ordered_events(session)
    if as_json:
        echo_json({
            "session": session.summary.to_json(),
            "events": [event_json(span, kind, start) for span, kind in events],
        })
        return
    click.echo("\n".join(session_header(session)))
    click.echo()
    for span, kind in events:
        click.echo("\n".join(event_lines(span, kind, start)))


@sessions_group.command("replay")
@click.argument("session_id")
@click.option("--speed", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="Replay speed: 1 is real time, 10 ten times faster, 0 no waiting.")
@click.option("--step", is_flag=True, help="Wait for Enter between steps (q to stop).")
@source_option
@click.pass_context
def replay_command(ctx: click.Context, session_id: str, speed: float, step: bool,
                   source_spec: str = "local") -> None:
    """Replay a session step by step, in time order."""
    session = _load(ctx, session_id, source_spec)
    start = session.summary.start_ns
    events = ordered_events(session)
    click.echo("\n".join(session_header(session)))
    previous_ns = start
    for number, (span, kind) in enumerate(events, 1):
        if step and number > 1:
            click.echo(click.style(f"-- step {number}/{len(events)}: Enter to go on, q to stop",
                                   dim=True), nl=False)
            answer = sys.stdin.readline()
            click.echo()
            if answer.strip().lower() == "q":
                return
        elif speed > 0:
            time.sleep(max(0, span.start_ns - previous_ns) / 1e9 / speed)
        previous_ns = span.start_ns
        click.echo("\n".join(event_lines(span, kind, start)))
    end_ns = session.summary.end_ns
    if not step and speed > 0:
        time.sleep(max(0, end_ns - previous_ns) / 1e9 / speed)
    click.echo(f"+{(end_ns - start) / 1e9:8.3f}s  END {status_text(session.summary.status)}")
