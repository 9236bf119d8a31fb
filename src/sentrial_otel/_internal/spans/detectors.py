"""The detectors that judge a session when it ends (SEMCONV.md "Detected issues").

A session keeps the :class:`~steps.Step` of each of its steps (``totals.py``); when it
ends, just before its root span ends (``root.py`` hands the session the root's step while
the span is open), :func:`judge` shows the detectors a read-only :class:`SessionSteps` and
puts what they found on the root: ``sentrial.session.issues`` (the distinct kinds),
``sentrial.session.issue_count`` and one ``sentrial.issue`` event per finding, pointing at
the offending step's span. Nothing runs while the agent works: a step costs the session a
list append, and the detectors one pass each over the steps at the end.

The built-in detectors are the seven kinds of SEMCONV.md; an application adds its own
(``detectors=`` where the engine is configured, or :func:`register_detector`). A detector
of the application that raises, or returns something that is not a finding, is skipped
with one warning for that detector in this process, never an error in the session.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

from opentelemetry import trace

from sentrial_otel import semconv as sc
from sentrial_otel._internal.errors import handle_internal_errors
from sentrial_otel._internal.logs import logger
from sentrial_otel._internal.spans.steps import DECISION, LLM, TOOL, Step
from sentrial_otel.config import IssueSettings

TOOL_LOOP = "tool_loop"
TOOL_ERROR_STREAK = "tool_error_streak"
LOW_CONFIDENCE = "low_confidence"
EMPTY_OUTPUT = "empty_output"
TRUNCATED_OUTPUT = "truncated_output"
OVER_BUDGET = "over_budget"
SLOW_STEP = "slow_step"
KINDS = (TOOL_LOOP, TOOL_ERROR_STREAK, LOW_CONFIDENCE, EMPTY_OUTPUT, TRUNCATED_OUTPUT,
         OVER_BUDGET, SLOW_STEP)
"""The built-in kinds, in the order their findings are listed."""

FINISH_REASON_LENGTH = "length"
"""The finish reason of an LLM call cut at its output limit (OpenAI's name, and the one
LangChain and the GenAI conventions use)."""

MAX_ISSUE_EVENTS = 100
"""``sentrial.issue`` events on one root at most (the count still counts every finding)."""
MAX_KIND_LENGTH = 64
MAX_DETAIL_LENGTH = 256


class Finding(NamedTuple):
    """One issue a detector found."""

    kind: str
    """A short, low-cardinality name (``tool_loop``, or one of your own)."""
    detail: str = ""
    """A short description; no content (inputs, outputs, arguments) when capture is off."""
    span_id: int = 0
    """The offending step's span (``Step.span_id``); 0: the session as a whole."""


class SessionSteps(NamedTuple):
    """What a detector is shown: a read-only view of one session at its end."""

    steps: tuple[Step, ...]
    """The steps this process recorded in the session, in the order they ended."""
    root: Step
    """The session itself (``kind="agent"``): its duration, error and totals (cost, tokens)."""
    session_id: str
    agent_name: str
    settings: IssueSettings
    """The thresholds in effect."""
    capture_content: bool
    """Whether content is captured: when not, a finding's detail must hold none."""
    complete: bool
    """False when the session had more steps than it keeps (``totals.MAX_KEPT_STEPS``)."""


Detector = Callable[[SessionSteps], Iterable[Finding]]
"""A function of a session's view returning its findings (an iterable, empty for none)."""


# --- the built-in detectors -----------------------------------------------------------------
def tool_loops(view: SessionSteps) -> Iterator[Finding]:
    """``tool_loop``: one tool called with the same arguments ``tool_loop_repeats`` times or
    more; one finding per tool and arguments, at the call that reached the limit."""
    limit = view.settings.tool_loop_repeats
    counts: dict[tuple[str, int | None], int] = {}
    reached: dict[tuple[str, int | None], int] = {}
    for step in view.steps:
        if step.kind != TOOL:
            continue
        key = (step.name, step.arguments_hash)
        count = counts.get(key, 0) + 1
        counts[key] = count
        if count == limit:
            reached[key] = step.span_id
    for key, span_id in reached.items():
        yield Finding(TOOL_LOOP, f"{key[0]} called {counts[key]} times with the same arguments",
                      span_id)


def tool_error_streaks(view: SessionSteps) -> Iterator[Finding]:
    """``tool_error_streak``: ``tool_error_streak`` or more tool calls in a row failed (other
    kinds of steps between them do not break the row); one finding per streak, at the call
    that made it long enough."""
    limit = view.settings.tool_error_streak
    streak = 0
    at = 0
    last_error = ""
    for step in (*(s for s in view.steps if s.kind == TOOL), None):
        if step is not None and step.error_type is not None:
            streak += 1
            last_error = step.error_type
            if streak == limit:
                at = step.span_id
            continue
        if streak >= limit:
            yield Finding(TOOL_ERROR_STREAK,
                          f"{streak} tool calls in a row failed, the last with {last_error}", at)
        streak = 0


def low_confidence(view: SessionSteps) -> Iterator[Finding]:
    """``low_confidence``: a decision whose confidence is below ``low_confidence``."""
    below = view.settings.low_confidence
    for step in view.steps:
        if step.kind == DECISION and step.confidence is not None and step.confidence < below:
            yield Finding(LOW_CONFIDENCE, f"decision confidence {step.confidence:g} below {below:g}",
                          step.span_id)


def empty_outputs(view: SessionSteps) -> Iterator[Finding]:
    """``empty_output``: an LLM call that answered no text (or only whitespace) and no tool
    call. A call that failed, or whose output was not given, is not judged."""
    for step in view.steps:
        if step.kind == LLM and step.empty_output and step.error_type is None:
            yield Finding(EMPTY_OUTPUT, f"{step.name} returned no text and no tool call",
                          step.span_id)


def truncated_outputs(view: SessionSteps) -> Iterator[Finding]:
    """``truncated_output``: an LLM call that finished for ``length`` (its output limit)."""
    for step in view.steps:
        if step.kind == LLM and FINISH_REASON_LENGTH in step.finish_reasons:
            yield Finding(TRUNCATED_OUTPUT, f"{step.name} stopped at its output limit",
                          step.span_id)


def over_budget(view: SessionSteps) -> Iterator[Finding]:
    """``over_budget``: the session cost more than ``budget_usd`` (only when one is set);
    a finding about the session as a whole."""
    budget = view.settings.budget_usd
    cost = view.root.cost
    if budget is not None and cost > budget:
        yield Finding(OVER_BUDGET, f"cost ${cost:.6g} above the budget of ${budget:.6g}")


def slow_steps(view: SessionSteps) -> Iterator[Finding]:
    """``slow_step``: a tool call, LLM call or decision that took longer than
    ``slow_step_s`` (only when set). Agent runs are not steps here: their time is their
    steps' time."""
    limit = view.settings.slow_step_s
    if limit is None:
        return
    limit_ns = limit * 1e9
    for step in view.steps:
        if step.kind != "agent" and step.end_ns - step.start_ns > limit_ns:
            yield Finding(SLOW_STEP, f"{step.kind} {step.name} took {step.duration_s:.3g} s, "
                          f"longer than {limit:g} s", step.span_id)


BUILT_IN: tuple[Detector, ...] = (
    tool_loops, tool_error_streaks, low_confidence, empty_outputs, truncated_outputs,
    over_budget, slow_steps,
)

# --- the application's detectors ------------------------------------------------------------
_registered: tuple[Detector, ...] = ()
_registry_lock = threading.Lock()
_reported: set[int] = set()
"""``id()`` of the application's detectors already reported as failing (one warning each)."""


def register_detector(detector: Detector) -> Detector:
    """Have ``detector`` judge every session of every engine in this process when it ends
    (after the built-in detectors). Returns it, so it can decorate a function."""
    global _registered
    if not callable(detector):
        raise TypeError(f"a detector must be callable, not {type(detector).__name__}")
    with _registry_lock:
        if detector not in _registered:
            _registered = (*_registered, detector)
    return detector


def unregister_detector(detector: Detector) -> None:
    """Stop ``detector`` (registered with :func:`register_detector`) judging sessions."""
    global _registered
    with _registry_lock:
        _registered = tuple(d for d in _registered if d is not detector)


def _report(detector: Detector, problem: str) -> None:
    """One warning per failing detector in this process: a detector that fails for one
    session usually fails for all of them."""
    key = id(detector)
    with _registry_lock:
        if key in _reported:
            return
        _reported.add(key)
    name = getattr(detector, "__qualname__", None) or repr(detector)
    logger.warning("sentrial: the detector %s %s; its findings are skipped (this is said "
                   "once per detector; sessions are not affected)", name, problem)


def _checked(detector: Detector, found: Any) -> list[Finding] | None:
    """The findings a detector of the application returned, or None if it returned
    something else (reported)."""
    findings = []
    try:
        items = list(found) if found is not None else []
    except Exception as error:  # a generator that raises while iterated
        _report(detector, f"raised {type(error).__name__}: {error}")
        return None
    for item in items:
        kind = getattr(item, "kind", None)
        detail = getattr(item, "detail", "")
        span_id = getattr(item, "span_id", 0)
        if (not isinstance(kind, str) or not kind.strip() or not isinstance(detail, str)
                or isinstance(span_id, bool) or not isinstance(span_id, int)
                or not 0 <= span_id < 2**64):
            _report(detector, f"returned {item!r}, not a Finding(kind, detail, span_id)")
            return None
        findings.append(Finding(kind.strip()[:MAX_KIND_LENGTH], detail[:MAX_DETAIL_LENGTH],
                                span_id))
    return findings


# Our own detectors' errors are ours: logged as internal errors, never raised.
_BUILT_IN_GUARD = handle_internal_errors("a built-in detector")


def judge(view: SessionSteps) -> list[Finding]:
    """Every detector's findings on ``view``: the built-in ones, then the engine's, then
    the registered ones."""
    findings: list[Finding] = []
    for detector in BUILT_IN:
        with _BUILT_IN_GUARD:
            findings.extend(detector(view))
    for detector in (*view.settings.detectors, *_registered):
        try:
            found = detector(view)
        except Exception as error:
            _report(detector, f"raised {type(error).__name__}: {error}")
            continue
        checked = _checked(detector, found)
        if checked:
            findings.extend(checked)
    return findings


def record_findings(span: trace.Span, findings: list[Finding], at_ns: int) -> None:
    """Put ``findings`` on a session's root span (SEMCONV.md "Detected issues")."""
    if not findings:
        return
    span.set_attribute(sc.SENTRIAL_SESSION_ISSUES, list(dict.fromkeys(f.kind for f in findings)))
    span.set_attribute(sc.SENTRIAL_SESSION_ISSUE_COUNT, len(findings))
    for finding in findings[:MAX_ISSUE_EVENTS]:
        attributes: dict[str, Any] = {sc.SENTRIAL_ISSUE_KIND: finding.kind}
        if finding.span_id:
            attributes[sc.SENTRIAL_ISSUE_SPAN_ID] = f"{finding.span_id:016x}"
        if finding.detail:
            attributes[sc.SENTRIAL_ISSUE_DETAIL] = finding.detail
        span.add_event(sc.SENTRIAL_ISSUE_EVENT, attributes, timestamp=at_ns)
