"""Detected issues: the types a detector of your own works with (docs/issues.md).

When a session ends, before its root span ends, detectors judge the steps this process
recorded in it and their findings go on the root span (``sentrial.session.issues``,
``sentrial.session.issue_count`` and one ``sentrial.issue`` event per finding). The
built-in detectors find ``tool_loop``, ``tool_error_streak``, ``low_confidence``,
``empty_output``, ``truncated_output``, ``over_budget`` and ``slow_step``; a detector of
your own is a function of a :class:`SessionSteps` returning :class:`Finding` s::

    from sentrial_otel.detectors import Finding, register_detector

    @register_detector
    def refunds_without_lookup(session):
        tools = [step.name for step in session.steps if step.kind == "tool"]
        if "refund" in tools and "lookup_order" not in tools:
            yield Finding("refund_without_lookup", "refund issued with no order lookup")

or pass ``detectors=[...]`` where the engine is configured (``SentrialClient``,
``sentrial.configure``, ``sentrial_otel.configure``). A detector that raises is skipped
with one warning and never breaks the session.
"""

from __future__ import annotations

from sentrial_otel._internal.spans.detectors import (
    KINDS,
    Detector,
    Finding,
    SessionSteps,
    register_detector,
    unregister_detector,
)
from sentrial_otel._internal.spans.steps import AGENT, DECISION, LLM, TOOL, Step
from sentrial_otel.config import IssueSettings

__all__ = [
    "AGENT",
    "DECISION",
    "KINDS",
    "LLM",
    "TOOL",
    "Detector",
    "Finding",
    "IssueSettings",
    "SessionSteps",
    "Step",
    "register_detector",
    "unregister_detector",
]
