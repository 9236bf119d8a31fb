"""Small text helpers shared by the CLI commands (and the console exporter).

Colour goes through ``click.style``; ``click.echo`` strips it when stdout is not a terminal,
so pipes and ``--json`` consumers never see escape codes.
"""

from __future__ import annotations

import json
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


def cost_text(usd: float) -> str:
    """``$0.0042``; four decimals because agent steps cost fractions of a cent."""
    return f"${usd:.4f}"


def local_time_text(nanoseconds: int) -> str:
    """A start time in the local zone, to the second."""
    if not nanoseconds:
        return "-"
    moment = datetime.fromtimestamp(nanoseconds / 1e9, tz=timezone.utc).astimezone()
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> str:
    """A plain aligned table; ``right`` holds the indexes of right-aligned columns.

    Cells may carry colour codes, so widths are measured on the unstyled text.
    """
    plain_rows = [[click.unstyle(cell) for cell in row] for row in rows]
    widths = [
        max([len(header)] + [len(row[i]) for row in plain_rows])
        for i, header in enumerate(headers)
    ]

    def line(cells: Sequence[str], plain: Sequence[str]) -> str:
        out = []
        for i, (cell, bare) in enumerate(zip(cells, plain)):
            pad = " " * (widths[i] - len(bare))
            out.append(pad + cell if i in right else cell + pad)
        return "  ".join(out).rstrip()

    header = click.style(line(headers, headers), bold=True)
    return "\n".join([header] + [line(row, plain) for row, plain in zip(rows, plain_rows)])


def value_text(value: Any, indent: str = "") -> str:
    """A decoded attribute value for reading: messages as ``role: text``, JSON otherwise."""
    messages = _messages_text(value)
    if messages is not None:
        return messages.replace("\n", "\n" + indent)
    if isinstance(value, (dict, list)):
        compact = json.dumps(value, ensure_ascii=False)
        if len(compact) <= 100:
            return compact
        pretty = json.dumps(value, ensure_ascii=False, indent=2)
        return pretty.replace("\n", "\n" + indent)
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
