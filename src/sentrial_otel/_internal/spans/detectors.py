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
from collections.abc import Callable, Iterable
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
def built_in(view: SessionSteps) -> list[Finding]:
    """The seven kinds of SEMCONV.md, in one pass over the steps (a pass per kind cost
    three times as much), listed kind by kind (``KINDS``), each in step order:

    * ``tool_loop``: one tool called with the same arguments ``tool_loop_repeats`` times or
      more; one finding per tool and arguments, at the call that reached the limit;
    * ``tool_error_streak``: ``tool_error_streak`` or more tool calls in a row failed (other
      kinds of steps between them do not break the row); one finding per streak, at the
      call that made it long enough;
    * ``low_confidence``: a decision whose confidence is below ``low_confidence``;
    * ``empty_output``: an LLM call that answered no text (or only whitespace) and no tool
      call; a call that failed, or whose output was not given, is not judged;
    * ``truncated_output``: an LLM call that finished for ``length`` (its output limit);
    * ``over_budget``: the session cost more than ``budget_usd`` (only when set), a
      finding about the session as a whole;
    * ``slow_step``: a tool call, LLM call or decision longer than ``slow_step_s`` (only
      when set); agent runs are not judged, their time is their steps' time.
    """
    settings = view.settings
    loop_limit = settings.tool_loop_repeats
    streak_limit = settings.tool_error_streak
    below = settings.low_confidence
    slow_ns = settings.slow_step_s * 1e9 if settings.slow_step_s is not None else None
    calls: dict[tuple[str, int | None], int] = {}
    loops: dict[tuple[str, int | None], int] = {}
    streaks: list[Finding] = []
    doubts: list[Finding] = []
    empty: list[Finding] = []
    truncated: list[Finding] = []
    slow: list[Finding] = []
    streak = streak_at = 0
    last_error = ""
    # The fields read, unpacked from a slice: reading them by name costs a call each, a
    # starred target builds a list per step.
    for step in view.steps:
        (kind, name, span_id, start_ns, end_ns, error, arguments, confidence, empty_output,
         reasons) = step[:10]
        if kind == TOOL:
            key = (name, arguments)
            count = calls[key] = calls.get(key, 0) + 1
            if count == loop_limit:
                loops[key] = span_id
            if error is not None:
                streak += 1
                last_error = error
                if streak == streak_limit:
                    streak_at = span_id
            else:
                if streak >= streak_limit:
                    streaks.append(_streak(streak, last_error, streak_at))
                streak = 0
        elif kind == LLM:
            if empty_output and error is None:
                empty.append(Finding(EMPTY_OUTPUT, f"{name} returned no text and no tool call",
                                     span_id))
            if FINISH_REASON_LENGTH in reasons:
                truncated.append(Finding(TRUNCATED_OUTPUT, f"{name} stopped at its output limit",
                                         span_id))
        elif kind == DECISION:
            if confidence is not None and confidence < below:
                doubts.append(Finding(LOW_CONFIDENCE,
                                      f"decision confidence {confidence:g} below {below:g}",
                                      span_id))
        else:
            continue  # an agent run
        if slow_ns is not None and end_ns - start_ns > slow_ns:
            slow.append(Finding(SLOW_STEP, f"{kind} {name} took {(end_ns - start_ns) / 1e9:.3g} s, "
                                f"longer than {settings.slow_step_s:g} s", span_id))
    if streak >= streak_limit:
        streaks.append(_streak(streak, last_error, streak_at))
    findings = [
        Finding(TOOL_LOOP, f"{key[0]} called {calls[key]} times with the same arguments", span_id)
        for key, span_id in loops.items()
    ]
    findings += streaks + doubts + empty + truncated
    budget, cost = settings.budget_usd, view.root.cost
    if budget is not None and cost > budget:
        findings.append(Finding(OVER_BUDGET, f"cost ${cost:.6g} above the budget of ${budget:.6g}"))
    findings += slow
    return findings


def _streak(length: int, last_error: str, span_id: int) -> Finding:
    return Finding(TOOL_ERROR_STREAK, f"{length} tool calls in a row failed, the last with "
                   f"{last_error}", span_id)


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


# The built-in detectors' errors are ours: logged as internal errors, never raised.
_BUILT_IN_GUARD = handle_internal_errors("the built-in detectors")


def judge(view: SessionSteps) -> list[Finding]:
    """Every detector's findings on ``view``: the built-in ones, then the engine's, then
    the registered ones."""
    findings: list[Finding] = []
    with _BUILT_IN_GUARD:
        findings.extend(built_in(view))
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
