"""Sessions as the CLI shows them: the spans of one trace, summed up.

One session is one trace (DESIGN.md). Its root is the ``invoke_agent`` span carrying
``sentrial.session.id`` (and the detected issues, SEMCONV.md); children are tool
(``execute_tool``), decision and LLM spans; scores are log records of the same trace.
Spans are exported as they end, so children are usually stored before their root, and a
session may straddle two files. A :class:`SessionSummary` is therefore a *partial*
aggregate that can be built from any subset of a trace's spans and merged with another
(``merge``), which is what lets ``index.py`` keep one summary row per session per file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta, timezone
from typing import Any

from sentrial_otel import semconv as sc
from sentrial_otel.store.records import SpanRecord
from sentrial_otel.store.scores import StoredScore, score_row_json

STATUS_SUCCESS = "success"
STATUS_FAILED = "failed"
STATUS_ABANDONED = "abandoned"
STATUS_OPEN = "open"  # no root span stored (yet): the session has not ended
STATUSES = (STATUS_SUCCESS, STATUS_FAILED, STATUS_ABANDONED, STATUS_OPEN)

# How sure we are that a span is the session's root: a parentless span beats an
# ``invoke_agent`` span that looks like a session root but has a (remote) parent.
_RANK_NONE, _RANK_SESSION_SHAPED, _RANK_PARENTLESS = 0, 1, 2
_SESSION_ONLY_KEYS = (
    sc.SENTRIAL_SESSION_NAME,
    sc.SENTRIAL_SESSION_SUCCESS,
    sc.SENTRIAL_SESSION_ABANDONED,
)


@dataclass(slots=True)
class SessionSummary:
    """What ``sessions list`` shows about one session, mergeable across partial views.

    Slotted: a listing holds one per session (100,000 and more), and a per-instance
    ``__dict__`` would be most of their memory.
    """

    trace_id: str
    session_id: str = ""
    agent: str = ""
    user: str = ""
    convo: str = ""
    start_ns: int = 0
    end_ns: int = 0
    root_rank: int = _RANK_NONE
    root_status: str = STATUS_OPEN
    root_tokens: int = -1  # -1: the root gave no total
    root_cost: float = -1.0
    leaf_tokens: int = 0
    leaf_cost: float = 0.0
    llm_calls: int = 0
    tool_calls: int = 0
    decisions: int = 0
    errors: int = 0
    span_count: int = 0
    # None rather than an empty dict or list: most sessions have neither, and a listing
    # holds 100,000 summaries and more.
    issues: dict[str, int] | None = None
    """Findings on the root, by kind (``sentrial.session.issues``, ``sentrial.issue`` events)."""
    issue_count: int = 0
    scores: list[list[Any]] | None = None
    """``StoredScore.to_row()`` of each score, in no particular order."""
    files: list[str] = field(default_factory=list)

    # --- derived ------------------------------------------------------------------------
    @property
    def status(self) -> str:
        """``success``, ``failed``, ``abandoned``, or ``open`` when no root is stored."""
        return self.root_status

    @property
    def tokens(self) -> int:
        """The root's total when it gave one, else the sum over the children."""
        return self.root_tokens if self.root_tokens >= 0 else self.leaf_tokens

    @property
    def cost(self) -> float:
        """The root's total cost in USD when it gave one, else the children's sum."""
        return self.root_cost if self.root_cost >= 0 else self.leaf_cost

    @property
    def display_id(self) -> str:
        """The Sentrial session id, or the trace id for a trace without one."""
        return self.session_id or self.trace_id

    @property
    def duration_ns(self) -> int:
        """From the first span's start to the last span's end."""
        return max(0, self.end_ns - self.start_ns)

    @property
    def start(self) -> datetime:
        """The session's start as an aware UTC datetime."""
        return datetime.fromtimestamp(self.start_ns / 1e9, tz=timezone.utc)

    # --- building -----------------------------------------------------------------------
    def add_span(self, span: SpanRecord) -> None:
        """Fold one span of this trace into the summary."""
        attrs = span.attributes
        self.span_count += 1
        if span.start_ns and (not self.start_ns or span.start_ns < self.start_ns):
            self.start_ns = span.start_ns
        self.end_ns = max(self.end_ns, span.end_ns)
        # Every span of a session carries these; the root's win (see _take_root). Children
        # name the agent too: all a session has whose process was killed before its end.
        self.session_id = self.session_id or _text(attrs.get(sc.SENTRIAL_SESSION_ID))
        self.user = self.user or _text(attrs.get(sc.USER_ID))
        self.convo = self.convo or _conversation(attrs)
        self.agent = self.agent or _text(attrs.get(sc.GEN_AI_AGENT_NAME))

        rank = _root_rank(span)
        if rank > self.root_rank:
            self._take_root(span, rank)
            return
        operation = attrs.get(sc.GEN_AI_OPERATION_NAME)
        if operation in sc.INFERENCE_OPERATIONS or (
            attrs.get(sc.OI_SPAN_KIND) == sc.OI_KIND_LLM
        ):
            # One call per span; ours that another instrumentation's child span also
            # describes (sentrial.usage.on_child) is that call, already counted there.
            if attrs.get(sc.SENTRIAL_USAGE_ON_CHILD) is not True:
                self.llm_calls += 1
            self.leaf_tokens += _int(
                attrs.get(sc.GEN_AI_USAGE_INPUT_TOKENS, attrs.get(sc.LLM_TOKEN_COUNT_PROMPT))
            ) + _int(
                attrs.get(sc.GEN_AI_USAGE_OUTPUT_TOKENS, attrs.get(sc.LLM_TOKEN_COUNT_COMPLETION))
            )
        else:
            if operation == sc.OP_EXECUTE_TOOL:
                self.tool_calls += 1
            elif attrs.get(sc.SENTRIAL_SPAN_KIND) == sc.SPAN_KIND_DECISION:
                self.decisions += 1
            self.leaf_tokens += _int(attrs.get(sc.SENTRIAL_USAGE_TOTAL_TOKENS))
        self.leaf_cost += _float(attrs.get(sc.SENTRIAL_COST_USD))
        if span.is_error:
            self.errors += 1

    def add_score(self, score: StoredScore) -> None:
        """Fold one score of this trace into the summary."""
        self.session_id = self.session_id or score.session_id
        self.scores = (self.scores or []) + [score.to_row()]

    def _take_root(self, span: SpanRecord, rank: int) -> None:
        attrs = span.attributes
        self.root_rank = rank
        self.issues, self.issue_count = root_issues(span)
        self.session_id = _text(attrs.get(sc.SENTRIAL_SESSION_ID)) or self.session_id
        self.agent = (
            _text(attrs.get(sc.GEN_AI_AGENT_NAME))
            or _text(attrs.get(sc.GEN_AI_WORKFLOW_NAME))
            or span.name
        )
        self.user = _text(attrs.get(sc.USER_ID)) or self.user
        self.convo = _conversation(attrs) or self.convo
        if attrs.get(sc.SENTRIAL_SESSION_ABANDONED) is True:
            self.root_status = STATUS_ABANDONED
        elif attrs.get(sc.SENTRIAL_SESSION_SUCCESS) is False or (
            # The session's own verdict wins over an error recorded along the way; roots
            # without one (a LangChain workflow) go by their status.
            sc.SENTRIAL_SESSION_SUCCESS not in attrs and span.is_error
        ):
            self.root_status = STATUS_FAILED
        else:
            self.root_status = STATUS_SUCCESS
        total = attrs.get(sc.SENTRIAL_SESSION_TOTAL_TOKENS)
        if total is None and (
            sc.SENTRIAL_SESSION_INPUT_TOKENS in attrs or sc.SENTRIAL_SESSION_OUTPUT_TOKENS in attrs
        ):
            total = _int(attrs.get(sc.SENTRIAL_SESSION_INPUT_TOKENS)) + _int(
                attrs.get(sc.SENTRIAL_SESSION_OUTPUT_TOKENS)
            )
        self.root_tokens = _int(total) if total is not None else -1
        cost = attrs.get(sc.SENTRIAL_SESSION_COST_USD)
        self.root_cost = _float(cost) if cost is not None else -1.0

    def merge(self, other: SessionSummary) -> None:
        """Fold in the summary of other spans of the same trace (e.g. from another file)."""
        root, rest = (other, self) if other.root_rank > self.root_rank else (self, other)
        for name in ("root_rank", "root_status", "root_tokens", "root_cost", "issues",
                     "issue_count"):
            setattr(self, name, getattr(root, name))
        for name in ("session_id", "user", "convo", "agent"):
            setattr(self, name, getattr(root, name) or getattr(rest, name))
        starts = [s for s in (self.start_ns, other.start_ns) if s]
        self.start_ns = min(starts) if starts else 0
        self.end_ns = max(self.end_ns, other.end_ns)
        for name in ("leaf_tokens", "leaf_cost", "llm_calls", "tool_calls", "decisions",
                     "errors", "span_count"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if other.scores:
            self.scores = (self.scores or []) + other.scores
        self.files = self.files + [f for f in other.files if f not in self.files]

    # --- index rows ---------------------------------------------------------------------
    def to_row(self, with_files: bool = True) -> list[Any]:
        """A compact list of the fields, for the index and sidecar files.

        The sidecar's rows leave ``files`` out: the file they belong to is implied.
        """
        row = [getattr(self, name) for name in ROW_FIELDS]
        return row if with_files else row[:-1]

    @classmethod
    def from_row(cls, row: list[Any]) -> SessionSummary:
        """The reverse of :meth:`to_row` (rows without ``files`` get none)."""
        return cls(*row)

    def to_json(self) -> dict[str, Any]:
        """The summary as ``--json`` prints it."""
        return {
            "session_id": self.display_id,
            "trace_id": self.trace_id,
            "agent": self.agent,
            "user": self.user,
            "conversation_id": self.convo,
            "status": self.status,
            "start": self.start.isoformat() if self.start_ns else None,
            "duration_s": round(self.duration_ns / 1e9, 6),
            "llm_calls": self.llm_calls,
            "tool_calls": self.tool_calls,
            "decisions": self.decisions,
            "errors": self.errors,
            "tokens": self.tokens,
            "cost_usd": round(self.cost, 8),
            "span_count": self.span_count,
            "issue_count": self.issue_count,
            "issues": dict(sorted((self.issues or {}).items())),
            "scores": [score_row_json(row) for row in self.ordered_scores()],
        }

    def ordered_scores(self) -> list[list[Any]]:
        """The score rows, oldest first."""
        return sorted(self.scores or (), key=lambda row: (row[0], row[1]))


ROW_FIELDS = tuple(f.name for f in fields(SessionSummary))


def summarize(spans: list[SpanRecord]) -> SessionSummary:
    """The summary of one trace's spans."""
    summary = SessionSummary(trace_id=spans[0].trace_id if spans else "")
    for span in spans:
        summary.add_span(span)
    return summary


@dataclass
class StoredSession:
    """One session with all its stored spans, in start-time order, and its scores."""

    summary: SessionSummary
    spans: list[SpanRecord]
    scores: list[StoredScore] = field(default_factory=list)
    """Oldest first."""

    @property
    def root(self) -> SpanRecord | None:
        """The root span, when stored."""
        best: SpanRecord | None = None
        for span in self.spans:
            if _root_rank(span) > (_root_rank(best) if best else _RANK_NONE):
                best = span
        return best

    @property
    def findings(self) -> list[Finding]:
        """What the detectors found: the ``sentrial.issue`` events of the root, in order."""
        root = self.root
        if root is None:
            return []
        return [
            Finding(
                kind=_text(event.attributes.get(sc.SENTRIAL_ISSUE_KIND)) or "?",
                span_id=_text(event.attributes.get(sc.SENTRIAL_ISSUE_SPAN_ID)).lower(),
                detail=_text(event.attributes.get(sc.SENTRIAL_ISSUE_DETAIL)),
                time_ns=event.time_ns,
            )
            for event in root.events
            if event.name == sc.SENTRIAL_ISSUE_EVENT
        ]


@dataclass(frozen=True)
class Finding:
    """One detected issue of a session (SEMCONV.md "Detected issues")."""

    kind: str
    span_id: str
    """Hex id of the offending span; ``""`` for a finding about the whole session."""
    detail: str
    time_ns: int


# --- filters -----------------------------------------------------------------------------
@dataclass(frozen=True)
class SessionFilter:
    """The dashboard's filters; ``None`` means "any"."""

    since: datetime | None = None
    until: datetime | None = None
    agent: str | None = None
    user: str | None = None
    status: str | None = None
    convo: str | None = None
    issue: str | None = None
    """Only sessions with a finding of this kind."""
    has_issues: bool = False
    """Only sessions with at least one finding."""

    def matches(self, summary: SessionSummary) -> bool:
        """True when the session passes every filter that is set."""
        start = summary.start_ns / 1e9
        if self.since is not None and start < self.since.timestamp():
            return False
        if self.until is not None and start > self.until.timestamp():
            return False
        return (
            (self.agent is None or summary.agent == self.agent)
            and (self.user is None or summary.user == self.user)
            and (self.status is None or summary.status == self.status)
            and (self.convo is None or summary.convo == self.convo)
            and (self.issue is None or self.issue in (summary.issues or ()))
            and (not self.has_issues or summary.issue_count > 0)
        )


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


EARLIEST = datetime.min.replace(tzinfo=timezone.utc)
LATEST = datetime.max.replace(tzinfo=timezone.utc)


def parse_time(text: str, now: datetime | None = None) -> datetime:
    """``2h``/``30m``/``7d`` (that long before now) or an ISO 8601 time, as aware UTC.

    A naive ISO time is taken as local time. Times beyond what ``datetime`` holds (``--since
    99999999d``, ``0001-01-01`` shifted to UTC) are clamped to :data:`EARLIEST` or
    :data:`LATEST`, which filter as "since ever" and "until ever" do. Raises ``ValueError``
    for text that is neither a duration nor an ISO time.
    """
    now = now or datetime.now(timezone.utc)
    match = _DURATION.match(text)
    if match:
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2).lower()]
        try:
            return now - timedelta(seconds=seconds)
        except OverflowError:
            return EARLIEST
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    try:
        if value.tzinfo is None:
            value = value.astimezone()  # local time
        return value.astimezone(timezone.utc)
    except (OverflowError, ValueError):  # a zone shift past year 1 or 9999
        return EARLIEST if value.year < 5000 else LATEST


# --- helpers -----------------------------------------------------------------------------
def root_issues(root: SpanRecord) -> tuple[dict[str, int] | None, int]:
    """``(findings by kind or None, number of findings)`` recorded on a session's root.

    Kinds come from ``sentrial.session.issues``, counts from the ``sentrial.issue`` events
    (at least one a kind: events may have been dropped by a span event limit), and the
    total from ``sentrial.session.issue_count`` when given.
    """
    attrs = root.attributes
    kinds = attrs.get(sc.SENTRIAL_SESSION_ISSUES)
    counts: dict[str, int] = {}
    for event in root.events:
        if event.name == sc.SENTRIAL_ISSUE_EVENT:
            kind = _text(event.attributes.get(sc.SENTRIAL_ISSUE_KIND))
            if kind:
                counts[kind] = counts.get(kind, 0) + 1
    if isinstance(kinds, str):
        kinds = [kinds]
    if isinstance(kinds, list):
        for kind in kinds:
            if isinstance(kind, str) and kind:
                counts[kind] = max(counts.get(kind, 0), 1)
    total = attrs.get(sc.SENTRIAL_SESSION_ISSUE_COUNT)
    if isinstance(total, bool) or not isinstance(total, int) or total < sum(counts.values()):
        total = sum(counts.values())
    return counts or None, total


def _root_rank(span: SpanRecord) -> int:
    if not span.parent_span_id:
        return _RANK_PARENTLESS
    attrs = span.attributes
    if attrs.get(sc.GEN_AI_OPERATION_NAME) == sc.OP_INVOKE_AGENT and any(
        key in attrs for key in _SESSION_ONLY_KEYS
    ):
        return _RANK_SESSION_SHAPED
    return _RANK_NONE


def _conversation(attrs: dict[str, Any]) -> str:
    return _text(attrs.get(sc.GEN_AI_CONVERSATION_ID)) or _text(attrs.get(sc.SESSION_ID))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0
    return int(value)


def _float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0.0
    return float(value)
