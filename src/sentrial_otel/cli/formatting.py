"""Small text helpers shared by the CLI commands, and the plain output for pipes.

Colour goes through ``click.style``; ``click.echo`` strips it when stdout is not a terminal
(or ``NO_COLOR`` is set, see ``cli/__init__.py``), so pipes and ``--json`` consumers never
see escape codes. What only a terminal shows (tables that fit its width, the tree of
``show``, progress bars) is drawn by ``terminal.py`` through rich.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import click

from sentrial_otel.store.sessions import (
    STATUS_ABANDONED,
    STATUS_FAILED,
    STATUS_OPEN,
    STATUS_SUCCESS,
)

_STATUS_STYLE = {
    STATUS_SUCCESS: ("✓ success", "green"),
    STATUS_FAILED: ("✗ failed", "red"),
    STATUS_ABANDONED: ("⊘ abandoned", "yellow"),
    STATUS_OPEN: ("… open", "cyan"),
}


def status_text(status: str, styled: bool = True) -> str:
    """A status word with its symbol, coloured when ``styled``."""
    text, colour = _STATUS_STYLE.get(status, (status, "white"))
    return click.style(text, fg=colour) if styled else text


def duration_text(nanoseconds: int) -> str:
    """``850ms``, ``2.50s``, ``3m05s``, ``1h02m``."""
    seconds = nanoseconds / 1e9
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.2f}s"
    minutes, seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def is_terminal(err: bool = False) -> bool:
    """Whether stdout (``err``: stderr) is a terminal, where a person reads as it happens."""
    stream = sys.stderr if err else sys.stdout
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def cost_text(usd: float) -> str:
    """``$0.0042``: four decimals, as agent steps cost fractions of a cent. A smaller cost
    that is not zero keeps two significant digits (``$0.000012``), never ``$0.0000``."""
    if usd == 0 or abs(usd) >= 0.0001:
        return f"${usd:.4f}"
    if abs(usd) < 1e-9:
        return "<$0.000000001"
    return f"${usd:.{1 - math.floor(math.log10(abs(usd)))}f}"


def count_text(count: int, singular: str, plural: str | None = None) -> str:
    """``1 decision``, ``2 decisions``, ``1,204 tool calls``."""
    return f"{count:,} {singular if count == 1 else plural or singular + 's'}"


def local_time_text(nanoseconds: int) -> str:
    """A start time in the local zone, to the second."""
    if not nanoseconds:
        return "-"
    moment = datetime.fromtimestamp(nanoseconds / 1e9, tz=timezone.utc).astimezone()
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def iso_time(nanoseconds: int) -> str | None:
    """A time as ISO 8601 in UTC, for ``--json`` (None for no time)."""
    if not nanoseconds:
        return None
    return datetime.fromtimestamp(nanoseconds / 1e9, tz=timezone.utc).isoformat()


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> str:
    """A plain aligned table, one line per row; ``right``: the right-aligned columns.

    For pipes: lines are never folded, whatever their length, so scripts can cut them.
    Widths are terminal cells (a CJK character takes two), measured on unstyled text.
    """
    from rich.cells import cell_len  # a small module of rich: widths of wide characters

    plain_rows = [[click.unstyle(cell) for cell in row] for row in rows]
    widths = [
        max([cell_len(header)] + [cell_len(row[i]) for row in plain_rows])
        for i, header in enumerate(headers)
    ]

    def line(cells: Sequence[str], plain: Sequence[str]) -> str:
        out = []
        for i, (cell, bare) in enumerate(zip(cells, plain)):
            pad = " " * (widths[i] - cell_len(bare))
            out.append(pad + cell if i in right else cell + pad)
        return "  ".join(out).rstrip()

    header = click.style(line(headers, headers), bold=True)
    return "\n".join([header] + [line(row, plain) for row, plain in zip(rows, plain_rows)])


def echo_table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int],
               fold: set[int]) -> None:
    """Print a table: on a terminal fitted to its width (``fold``: the columns that may fold),
    in a pipe as :func:`table`."""
    if is_terminal():
        from sentrial_otel.cli.terminal import print_table  # rich: only for a terminal

        print_table(headers, rows, right, fold)
    else:
        click.echo(table(headers, rows, right))


def value_text(value: Any, compact: bool = False) -> str:
    """A decoded attribute value for reading: messages as ``role: text``, JSON otherwise
    (on several lines when long, unless ``compact``); the caller indents the lines after
    the first."""
    messages = _messages_text(value)
    if messages is not None:
        return messages
    if isinstance(value, (dict, list)):
        one_line = json.dumps(value, ensure_ascii=False)
        if compact or len(one_line) <= 100:
            return one_line
        return json.dumps(value, ensure_ascii=False, indent=2)
    return str(value)


def _messages_text(value: Any) -> str | None:
    """GenAI messages (``[{"role", "parts": [...]}]``) as one ``role: text`` per line."""
    if not (isinstance(value, list) and value and all(
        isinstance(m, dict) and "parts" in m for m in value
    )):
        return None
    lines = []
    for message in value:
        texts = []
        for part in message.get("parts", ()):
            if not isinstance(part, dict):
                continue
            kind = part.get("type")
            if kind in ("text", "reasoning"):
                texts.append(str(part.get("content", "")))
            elif kind == "tool_call":
                arguments = json.dumps(part.get("arguments"), ensure_ascii=False)
                texts.append(f"→ {part.get('name')}({arguments})")
            elif kind == "tool_call_response":
                texts.append(f"← {json.dumps(part.get('response'), ensure_ascii=False)}")
            else:
                texts.append(json.dumps(part, ensure_ascii=False))
        lines.append(f"{message.get('role', '?')}: {' '.join(texts)}")
    return "\n".join(lines)


def echo_json(value: Any) -> None:
    """Print ``value`` as indented JSON for scripts."""
    click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))
