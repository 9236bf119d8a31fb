"""``sentrial-otel sessions issues``: what the detectors found, counted by kind and agent.

Read from the session summaries (the kinds of each session's findings, with how many,
travel in them), so it costs what ``sessions list`` costs, not a parse of every span.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import click

from sentrial_otel.cli.formatting import count_text, echo_json, echo_table
from sentrial_otel.cli.options import filter_options, session_filter, store_option
from sentrial_otel.cli.sources import note_page, session_source, source_option
from sentrial_otel.store import SessionSummary

HEADERS = ("KIND", "AGENT", "FINDINGS", "SESSIONS", "EXAMPLES")
RIGHT_ALIGNED = {2, 3}
FOLDED = {0, 1, 4}


@dataclass
class IssueCount:
    """The findings of one kind in one agent's sessions."""

    kind: str
    agent: str
    findings: int = 0
    sessions: int = 0
    examples: list[str] = field(default_factory=list)
    """Ids of the newest sessions with such a finding."""
    _newest: list[tuple[int, str]] = field(default_factory=list, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "agent": self.agent, "findings": self.findings,
                "sessions": self.sessions, "examples": self.examples}


def count_issues(summaries: Iterable[SessionSummary], examples: int) -> list[IssueCount]:
    """Findings by kind and agent, most frequent first, each with up to ``examples`` of the
    newest session ids."""
    counts: dict[tuple[str, str], IssueCount] = {}
    for summary in summaries:
        for kind, found in (summary.issues or {}).items():
            count = counts.get((kind, summary.agent))
            if count is None:
                count = counts[(kind, summary.agent)] = IssueCount(kind, summary.agent)
            count.findings += found
            count.sessions += 1
            count._newest.append((summary.start_ns, summary.display_id))
    for count in counts.values():
        count.examples = [sid for _, sid in heapq.nlargest(examples, count._newest)]
        count._newest = []
    return sorted(counts.values(),
                  key=lambda c: (-c.findings, -c.sessions, c.kind, c.agent))


@click.command("issues")
@filter_options
@click.option("--examples", type=click.IntRange(min=0), default=3, show_default=True,
              help="Session ids shown per row (the newest).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@store_option
@source_option
@click.pass_context
def issues_command(ctx: click.Context, examples: int, as_json: bool, **filters: Any) -> None:
    """Count detected issues by kind and agent, most frequent first.

    Takes the filters of `sessions list`: `--since 7d` counts the findings of the sessions
    of the last week.
    """
    with session_source(ctx) as source:
        page = source.list(session_filter(filters), None)
    note_page(page)
    counts = count_issues(page.sessions, examples)
    if as_json:
        echo_json([count.to_json() for count in counts])
        return
    if not counts:
        click.echo(f"No detected issues in the {count_text(page.matching, 'matching session')} "
                   f"of {source.description}.", err=True)
        return
    rows = [(c.kind, c.agent or "-", f"{c.findings:,}", f"{c.sessions:,}",
             " ".join(c.examples) or "-") for c in counts]
    echo_table(HEADERS, rows, RIGHT_ALIGNED, FOLDED)
    with_issues = sum(1 for summary in page.sessions if summary.issue_count)
    click.echo(f"{count_text(sum(c.findings for c in counts), 'finding')} in "
               f"{with_issues:,} of {count_text(page.matching, 'matching session')}.", err=True)
