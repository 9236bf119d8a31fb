"""The seam between a step and its surroundings: what it records through, what it reports to.

An invocation (``invocations.py``) needs two things and imports neither the engine nor the
session module:

* a :class:`Recording`: the tracer, the content policy, the misuse reporter, the metrics,
  the ``update_state`` tracker, the scores and the dialects (``dialects.py``). One per engine;
  the LangChain instrumentor builds its own from the providers it was given.
* optionally the session the step belongs to, seen through :class:`SessionScope`: the
  attributes every span of it carries, its agent state, and ``step_ended``, which adds the
  step to the session's totals and passes it on to its listeners.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Protocol

from opentelemetry import trace

from sentrial_otel._internal.content.policy import ContentPolicy
from sentrial_otel._internal.misuse import Report
from sentrial_otel._internal.spans.metrics import AgentMetrics
from sentrial_otel._internal.spans.scores import ScoreRecorder
from sentrial_otel._internal.spans.state import AgentState
from sentrial_otel._internal.spans.steps import Step
from sentrial_otel.config import DIALECT_OPENINFERENCE


class Recording:
    """Where a step's span, content, misuse reports and metrics go (a session's scores too)."""

    __slots__ = (
        "content", "defers_roots", "metrics", "openinference", "report", "scores", "state",
        "tracer",
    )

    def __init__(
        self,
        tracer: trace.Tracer,
        content: ContentPolicy,
        report: Report,
        metrics: AgentMetrics,
        state: AgentState | None = None,
        scores: ScoreRecorder | None = None,
        dialects: Collection[str] = (),
    ) -> None:
        self.tracer = tracer
        self.content = content
        self.report = report
        self.metrics = metrics
        self.state = state
        self.scores = scores
        self.openinference = DIALECT_OPENINFERENCE in dialects
        """Whether spans carry the OpenInference keys (the ``openinference`` dialect)."""
        self.defers_roots = False
        """Whether a session's root span is held back until the session ends (the engine
        sets it when its tracer allows it: ``deferral.py``)."""


class SessionScope(Protocol):
    """What a step needs of the session it belongs to (``SessionHandle`` provides it)."""

    @property
    def agent_name(self) -> str | None: ...

    @property
    def stamp(self) -> Mapping[str, Any]:
        """The attributes every span of the session carries (session id, user id, ...)."""
        ...

    @property
    def state(self) -> AgentState | None:
        """The ``update_state`` tracker whose values the session's steps carry."""
        ...

    def step_ended(self, step: Step) -> None: ...
