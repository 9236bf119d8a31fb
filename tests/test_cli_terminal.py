"""The CLI on a real terminal (a pseudo-terminal of a set size), as a person reads it:
tables that fit its width, the tree of a session, progress while it waits, NO_COLOR."""

from __future__ import annotations

import os
import re
import shutil
import socket
import sys
from pathlib import Path

import pytest
from rich.cells import cell_len

from sentrial_otel.store import LocalStoreExporter
from tests.session_builder import BASE_NS, SECOND, SessionSpec, make_provider, record_session
from tests.support.terminal import TerminalRun, run_in_terminal

REPO = Path(__file__).resolve().parents[1]
LONG_AGENT = "order-status-and-refund-escalation-agent-" * 5 + "end"
WIDE_AGENT = "客服代理"
pytestmark = pytest.mark.slow


@pytest.fixture
def store(tmp_path: Path) -> Path:
    directory = tmp_path / "store"
    provider = make_provider(LocalStoreExporter(directory))
    record_session(provider, SessionSpec("plain-0001", agent="support-agent"))
    record_session(provider, SessionSpec("wide-0002", agent=WIDE_AGENT, outcome="failed",
                                         start_ns=BASE_NS + SECOND))
    record_session(provider, SessionSpec("long-0003", agent=LONG_AGENT,
                                         start_ns=BASE_NS + 2 * SECOND))
    provider.shutdown()
    return directory


def cli(store: Path, *args: str, columns: int = 80, **env: str) -> TerminalRun:
    full = {k: v for k, v in os.environ.items()
            if not k.startswith(("OTEL_", "SENTRIAL_")) and k not in ("COLUMNS", "LINES",
                                                                      "NO_COLOR")}
    full.update(PYTHONPATH=str(REPO / "src"), TERM="xterm-256color", **env)
    return run_in_terminal([sys.executable, "-m", "sentrial_otel.cli", "--store", str(store),
                            *args], full, columns=columns)


def colour_codes(raw: str) -> list[str]:
    """The SGR parameters that set a colour (30-49, 90-107), in every escape of ``raw``."""
    found = []
    for params in re.findall(r"\x1b\[([0-9;]*)m", raw):
        for number in filter(None, params.split(";")):
            if 30 <= int(number) <= 49 or 90 <= int(number) <= 107:
                found.append(number)
    return found


@pytest.mark.parametrize("columns", [80, 120])
def test_list_fits_the_terminal_and_folds_long_names(store: Path, columns: int) -> None:
    result = cli(store, "sessions", "list", columns=columns)
    assert result.returncode == 0, result.raw
    lines = result.text.splitlines()
    assert max(cell_len(line) for line in lines) <= columns
    # Nothing is cut off: the long name is all there, folded over lines of its column.
    header = lines[0]
    agent_at = cell_len(header[:header.index("AGENT")])
    user_at = cell_len(header[:header.index("USER")])
    agent_column = "".join(_cells_between(line, agent_at, user_at) for line in lines[1:])
    assert LONG_AGENT in agent_column.replace(" ", "")
    assert WIDE_AGENT in agent_column
    # Columns line up in terminal cells, wide characters or not: each row's status starts
    # where the header's STATUS does.
    status_at = cell_len(header[:header.index("STATUS")])
    for line in lines:
        for symbol in ("✓", "✗"):
            if symbol in line:
                assert cell_len(line[:line.index(symbol)]) == status_at, line


def _cells_between(line: str, start: int, end: int) -> str:
    """The characters of ``line`` that occupy terminal cells ``start`` to ``end``."""
    out, position = [], 0
    for char in line:
        if start <= position < end:
            out.append(char)
        position += cell_len(char)
    return "".join(out).strip()


def test_show_is_a_tree_of_the_spans(store: Path) -> None:
    result = cli(store, "sessions", "show", "plain-0001", columns=100)
    assert result.returncode == 0, result.raw
    lines = result.text.splitlines()
    root = next(line for line in lines if "SESSION support-agent" in line)
    tools = [line for line in lines if "TOOL search_orders" in line]
    assert root.lstrip().startswith("└── ")  # the root span under the session header
    assert len(tools) == 2 and all(line.lstrip().startswith(("├── ", "└── ")) for line in tools)
    # Each child is drawn one level deeper than the root span it ran in.
    assert all(line.index("TOOL") > root.index("SESSION") for line in tools)
    assert "arguments: {\"order_id\": \"A0\"}" in result.text
    assert max(cell_len(line) for line in lines) <= 100


@pytest.mark.parametrize("command", [["sessions", "list"], ["sessions", "show", "wide"],
                                     ["sessions", "replay", "wide", "--speed", "0"]])
def test_no_color_turns_colour_off(store: Path, command: list[str]) -> None:
    assert colour_codes(cli(store, *command).raw), "no colour even without NO_COLOR"
    assert colour_codes(cli(store, *command, NO_COLOR="1").raw) == []


def test_first_listing_of_a_store_without_summaries_shows_progress(tmp_path: Path) -> None:
    """A big store the writers kept no summaries for (an older version, the collector's
    file exporter) is parsed once, which takes seconds: a progress bar says so."""
    store = tmp_path / "store"
    provider = make_provider(LocalStoreExporter(store))
    record_session(provider, SessionSpec("template"))
    provider.shutdown()
    shutil.rmtree(store / ".summaries")
    template = (store / "spans.jsonl").read_text()
    trace_id = re.search(r'"traceId":"([0-9a-f]{32})"', template).group(1)
    with open(store / "spans.jsonl", "a") as handle:
        size = len(template)
        for n in range(1, 6 * 1024 * 1024 // size):  # past the bar's 4 MiB threshold
            handle.write(template.replace(trace_id, f"{n:032x}").replace("template", f"s-{n}"))
    first = cli(store, "sessions", "list", "--limit", "1")
    assert first.returncode == 0, first.raw
    assert "Indexing spans.jsonl" in first.text
    again = cli(store, "sessions", "list", "--limit", "1")
    assert "Indexing" not in again.text  # the index is kept: no bar the second time


def test_export_to_a_dead_collector_shows_its_retries_on_the_bar(store: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = cli(store, "export", "--endpoint", f"http://127.0.0.1:{port}", "--max-attempts",
                 "2", "--initial-backoff", "0.5")
    assert result.returncode == 1
    assert "retrying in 0.5s (attempt 2 of 2)" in result.text
    assert "Sent 0 of 15 spans from 3 sessions" in result.text
