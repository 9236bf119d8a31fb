"""A session's root span, ``invoke_agent {agent}``: started with the session, ended once.

The root takes ids every process can compute from the session id alone (``ids.py``), so it
starts in an empty context: a session is its own trace. Links lead back to the parent
session and to whatever span was current when the session began (the HTTP request that
started the agent, say). At the end it carries the session's outcome and totals; just
before it ends, the session's listeners hear the root's own :class:`~steps.Step` while the
span can still take their findings (SEMCONV.md "Detected issues").

With an SDK tracer the root is held back until the session ends (``deferral.py``): while
it is open the session's span is a stand-in with the root's ids and sampling decision.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple, cast

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Link, Status, StatusCode

from sentrial_otel import semconv as sc
from sentrial_otel._internal.spans import attributes as attrs_of
from sentrial_otel._internal.spans import ids
from sentrial_otel._internal.spans.attributes import Attributes
from sentrial_otel._internal.spans.deferral import RootStandIn, hold_back
from sentrial_otel._internal.spans.dialects import openinference_keys
from sentrial_otel._internal.spans.failures import record_exception
from sentrial_otel._internal.spans.invocations import AgentRun
from sentrial_otel._internal.spans.recording import Recording, SessionScope
from sentrial_otel._internal.spans.steps import AGENT, Step
from sentrial_otel._internal.spans.totals import SessionUsage

_ABANDONED_MESSAGE = "session still open at exit"


def _enabled(tracer: Any) -> bool:
    """False for an SDK tracer a tracer configurator turned off (it starts no spans)."""
    is_enabled = getattr(tracer, "_is_enabled", None)
    return bool(is_enabled()) if callable(is_enabled) else True


class Outcome(NamedTuple):
    """How a session ended, validated."""

    success: bool
    abandoned: bool
    failure_reason: str | None
    """Already through the content policy."""
    error: BaseException | None
    error_type: str | None
    """``error.type`` of a session that did not succeed."""
    end_ns: int | None
    """An end time from a given duration; None: now."""

    @property
    def status(self) -> str:
        """``completed``, ``failed`` or ``abandoned`` (the result dict's ``status``)."""
        return "completed" if self.success else ("abandoned" if self.abandoned else "failed")


class SessionRoot(AgentRun):
    """The root span of a session open in this process."""

    __slots__ = ("error_noted",)

    def __init__(
        self,
        recording: Recording,
        session: SessionScope,
        *,
        session_id: str,
        trace_id: int,
        agent_name: str,
        session_name: str | None,
        parent_session_id: str | None,
        input: Any,  # noqa: A002 - the session's input, as Sentrial names it
        metadata: Any,
        start_ns: int,
    ) -> None:
        links = []
        if parent_session_id:
            links.append(Link(ids.root_span_context(parent_session_id)))
        started_from = trace.get_current_span().get_span_context()
        linked = {(link.context.trace_id, link.context.span_id) for link in links}
        if started_from.is_valid and (started_from.trace_id, started_from.span_id) not in linked:
            # (Begun inside its parent session, a pool thread included: linked once.)
            links.append(Link(started_from))
        super().__init__(
            recording,
            session,
            agent_name=agent_name,
            context=otel_context.Context(),
            input_messages=(
                attrs_of.text_messages(sc.ROLE_USER, input) if input is not None else None
            ),
            metadata=metadata,
            extra={
                sc.SENTRIAL_SESSION_NAME: session_name,
                sc.SENTRIAL_SESSION_PARENT_ID: parent_session_id,
            },
            planned=(trace_id, ids.root_span_id_for(session_id)),
            links=links,
            start_ns=start_ns,
        )
        self.error_noted: str | None = None
        """``error.type`` of an error tracked on the root while the session ran."""
        self.start()
        # The span holds its start attributes and links now; an open session keeps only
        # what its end needs (tens of thousands may stay open until exit).
        self._attrs = None  # type: ignore[assignment]  # read only before the start
        self._links = self._context = self._planned = None

    def _start_span(self, span_name: str, values: dict[str, Any]) -> trace.Span:
        """Held back when our tracer can pin the sampling decision: a stand-in for now."""
        tracer = self.recording.tracer
        if not self.recording.defers_roots or not _enabled(tracer):
            return super()._start_span(span_name, values)
        planned = cast("tuple[int, int]", self._planned)  # a root's ids are always planned
        return hold_back(
            tracer, span_name, self.span_kind, values, self._links, planned,
            cast(int, self.start_ns),
        )

    def _sdk_span(self) -> trace.Span | None:
        """The root's SDK span, handed to the SDK now if it was held back."""
        stand_in = self.span
        if not isinstance(stand_in, RootStandIn):
            return stand_in
        return stand_in.start()

    def end(
        self,
        attributes: Attributes,
        outcome: Outcome,
        usage: SessionUsage,
        ending: Callable[[Step], None],
    ) -> Step:
        """Set the outcome, hand ``ending`` the root's step while the span is open, end it."""
        self.ended = True
        span = self._sdk_span()
        end_ns = outcome.end_ns or time.time_ns()
        try:
            if span is not None:
                values = attributes.finish()
                if outcome.error is None and not outcome.success:
                    # error.type in the same attribute pass: one pass through the SDK's
                    # attribute checks per session end (the exit ends thousands).
                    message = _ABANDONED_MESSAGE if outcome.abandoned else outcome.failure_reason
                    values[sc.ERROR_TYPE] = outcome.error_type or sc.ERROR_TYPE_SESSION_FAILED
                    span.set_status(Status(StatusCode.ERROR, message or None))
                if self.recording.openinference:
                    openinference_keys(values, starting=False, agent=True)
                span.set_attributes(self._limited(values, attributes.user))
                if outcome.error is not None:
                    record_exception(span, outcome.error, self.recording.content)
            self.error_type = outcome.error_type
            # The root's step is the session's end, not one of its steps: it goes to the
            # listeners through ``ending``, not into the session's steps.
            step = Step(
                kind=AGENT,
                name=self.name,
                span_id=span.get_span_context().span_id if span is not None else 0,
                start_ns=self.start_ns or end_ns,
                end_ns=end_ns,
                error_type=outcome.error_type,
                arguments_hash=None,
                confidence=None,
                empty_output=None,
                finish_reasons=(),
                cost=usage.cost,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                total_tokens=usage.total_tokens,
                token_details=usage.token_details or None,
            )
            ending(step)
        finally:
            if span is not None:
                span.end(end_time=end_ns)
        return step
