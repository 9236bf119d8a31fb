"""What only a terminal shows, drawn by rich: tables that fit, the tree of a session,
progress bars.

rich measures wide characters, folds cells to the terminal's width and honours
``NO_COLOR``. It costs ~0.15 s to import, so this module is imported only on the terminal
path (``formatting.is_terminal``); pipes and ``--json`` get ``formatting.py``'s plain,
stable text.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from sentrial_otel.cli.events import EventView, event_views, issue_mark
from sentrial_otel.store.sessions import StoredSession


def _stdout() -> Console:
    return Console(highlight=False)


def _stderr() -> Console:
    return Console(stderr=True, highlight=False)


FOLD_MIN = 10
"""A folded column keeps this many cells when it can, so a date or a short word stays whole."""


def _longest_word(text: Text) -> int:
    return max((Text(word).cell_len for word in text.plain.split()), default=0)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int],
                fold: set[int]) -> None:
    """A table that fits the terminal: the ``fold`` columns share what room the others
    leave and fold their long cells onto more lines; the others never wrap.

    Cells may carry click's colour codes; they become rich styles.
    """
    console = _stdout()
    cells = [[Text.from_ansi(cell) for cell in row] for row in rows]
    natural = [max([Text(header).cell_len] + [row[i].cell_len for row in cells])
               for i, header in enumerate(headers)]
    gap = 2
    widths: dict[int, int] = {}
    if sum(natural) + gap * (len(headers) - 1) > console.width:
        gap = 1
        room = console.width - gap * (len(headers) - 1)
        room -= sum(width for i, width in enumerate(natural) if i not in fold)
        least = {i: min(FOLD_MIN, max(_longest_word(row[i]) for row in cells) if cells else 0)
                 for i in fold}
        widths = fair_shares({i: natural[i] for i in fold}, room, least)
    table = Table(box=None, pad_edge=False, header_style="bold", show_edge=False,
                  padding=(0, gap, 0, 0))
    for i, header in enumerate(headers):
        table.add_column(header, justify="right" if i in right else "left",
                         no_wrap=i not in fold, overflow="fold", width=widths.get(i))
    for row in cells:
        table.add_row(*row)
    console.print(table)


def fair_shares(wants: dict[int, int], room: int, least: dict[int, int] | None = None
                ) -> dict[int, int]:
    """``room`` cells shared among columns that want ``wants`` cells: each gets its ``least``
    first when they all fit, none more than it wants, the rest is split evenly; so short
    cells stay whole and only long ones fold."""
    least = least or {}
    floor = {i: least.get(i, 0) for i in wants}
    if sum(floor.values()) > room:
        floor = dict.fromkeys(wants, 0)
    room -= sum(floor.values())
    shares = dict(floor)
    left = {i: want - floor[i] for i, want in wants.items() if want > floor[i]}
    while left:
        fair = max(room // len(left), 1)
        content = {i: want for i, want in left.items() if want <= fair}
        if not content:
            for i in left:
                shares[i] = max(shares[i] + fair, 1)
            break
        for i, want in content.items():
            shares[i] += want
            room -= want
            del left[i]
    return {i: max(share, 1) for i, share in shares.items()}


def print_session_tree(session: StoredSession, header: Sequence[str]) -> None:
    """The session's header, then its spans as a tree: each under the span it ran in."""
    tree = Tree(Text.from_ansi("\n".join(header)), guide_style="dim")
    nodes: dict[str, Tree] = {}
    for view in event_views(session):
        parent = nodes.get(view.span.parent_span_id, tree)
        nodes[view.span.span_id] = parent.add(_event_label(view))
    _stdout().print(tree)


def _event_label(view: EventView) -> Text:
    label = Text(f"+{view.offset_s:.3f}s ", style="dim")
    label.append(view.title, style="bold")
    label.append(f"  ({view.duration})")
    if view.error:
        label.append("  ✗ error", style="red")
    if view.issues:
        label.append(f"  {issue_mark(view.issues)}", style="yellow")
    for name, text, colour in view.details:
        label.append("\n")
        label.append(f"{name}:", style=colour)
        label.append(f" {text}")
    if view.usage:
        label.append(f"\n{view.usage}", style="dim")
    return label


class _Bars:
    """A rich ``Progress`` on stderr, started on first use, erased when done."""

    def __init__(self, *columns: Any) -> None:
        self._columns = columns
        self._progress: Progress | None = None

    @property
    def progress(self) -> Progress:
        if self._progress is None:
            self._progress = Progress(*self._columns, console=_stderr(), transient=True)
            self._progress.start()
        return self._progress

    def __enter__(self) -> Any:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()


class ParseProgressBar(_Bars):
    """While files the writers kept no summaries for are parsed on a first listing.

    Called as a ``store.index.ParseProgress``. Only big files get a bar: a small tail
    parses before a bar could be read.
    """

    MIN_BYTES = 4 * 1024 * 1024

    def __init__(self) -> None:
        super().__init__(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                         DownloadColumn(), TimeRemainingColumn())
        self._tasks: dict[str, TaskID] = {}

    def __call__(self, name: str, done: int, total: int) -> None:
        if total < self.MIN_BYTES:
            return
        task = self._tasks.get(name)
        if task is None:
            task = self._tasks[name] = self.progress.add_task(
                f"Indexing {name} (once: it has no session summaries)", total=total)
        self.progress.update(task, completed=done)


class ExportProgressBar(_Bars):
    """Spans sent so far, and what a retry is waiting for."""

    def __init__(self, total: int) -> None:
        super().__init__(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                         MofNCompleteColumn(), TextColumn("spans"))
        self._total = total
        self._task: TaskID | None = None

    def _bar(self) -> TaskID:
        if self._task is None:
            self._task = self.progress.add_task("Exporting", total=self._total)
        return self._task

    def advance(self, spans: int) -> None:
        self.progress.update(self._bar(), advance=spans, description="Exporting")

    def retrying(self, note: str) -> None:
        self.progress.update(self._bar(), description=note)
