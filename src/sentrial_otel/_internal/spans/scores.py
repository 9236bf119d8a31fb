"""Scores of a session (user feedback, evaluations) as ``gen_ai.evaluation.result`` log records.

SEMCONV.md "Scores and feedback". A score is an OpenTelemetry log record rather than an
attribute of the root span because it usually comes after the session ended (a user's
thumbs-up a minute later, an offline evaluation the next day), often from another process.
Its trace id and span id are the session root's, derived from the session id
(``ids.root_span_context``): a backend joins it to the trace, and the local store files it
with the session, whoever sent it.

What counts as a session id: any non-empty ``str``. Ours are UUIDs, and an id of the
caller's own maps to its trace by a hash, as for every other event; so the ids refused are
those that are not a ``str`` or are empty (or blank).

Bad input (an empty name, a value that is not a finite number, a label that is not a
string, neither a value nor a label) gets one warning and nothing is sent; in strict mode
(``fail_silently=False``) a ``TypeError`` / ``ValueError`` naming the argument.

The log records go through the logger provider the engine was given, else the one built
next to our own trace pipeline (``export/log_export.py``), else the application's global
one. One recorder per engine, reached from a session through its ``Recording``, as its
metrics are.
"""

from __future__ import annotations

import math
import numbers
import time
from decimal import Decimal
from typing import Any

from opentelemetry import _logs, trace
from opentelemetry.trace import NonRecordingSpan, SpanContext

from sentrial_otel import semconv as sc
from sentrial_otel._internal.content.policy import ContentPolicy
from sentrial_otel._internal.content.pii import FIELD_REASONING
from sentrial_otel._internal.errors import by_instance, handle_internal_errors
from sentrial_otel._internal.misuse import MisuseReporter, check_content, name_argument
from sentrial_otel._internal.spans import ids
from sentrial_otel.version import __version__


def is_configured(provider: Any) -> bool:
    """Whether a real logger provider is set globally (not the API's proxy or no-op)."""
    # The proxy class is private to the API package: known by its name.
    return not isinstance(provider, _logs.NoOpLoggerProvider) and (
        type(provider).__name__ != "ProxyLoggerProvider"
    )

def check_text(value: Any, argument: str, report: MisuseReporter) -> bool:
    """Whether ``value`` is a non-empty (not blank) str; reports what it is otherwise."""
    if not isinstance(value, str):
        report(TypeError, f"{argument} must be a str, not {type(value).__name__}")
        return False
    if not value.strip():
        report(ValueError, f"{argument} must be a non-empty str, got {value!r}")
        return False
    return True


def check_session_id(session_id: Any, report: MisuseReporter) -> bool:
    """Whether ``session_id`` can name a session (a non-empty str); reports it otherwise."""
    return check_text(session_id, "session_id", report)


class ScoreRecorder:
    """Checks scores and emits them as log records, for one engine."""

    def __init__(
        self,
        logger_provider: _logs.LoggerProvider | None,
        content: ContentPolicy,
        report: MisuseReporter,
    ) -> None:
        self._provider = logger_provider  # None: the global one, looked up at each score
        self._logger: _logs.Logger | None = None
        self.content = content
        self.report = report
        self.strict = report.strict  # read by handle_internal_errors(strict=by_instance)

    @handle_internal_errors(fallback=dict, strict=by_instance)
    def record(
        self,
        session_id: str,
        name: Any,
        *,
        value: Any = None,
        label: Any = None,
        explanation: Any = None,
        root: SpanContext | None = None,
    ) -> dict[str, Any]:
        """Send one score of the session; ``{}`` when the input was refused.

        ``root``: the span context of the session's root when it is open here (its ids
        are the derived ones unless the tracer provider could not take planned ids).
        """
        attributes = self._attributes(session_id, name, value, label, explanation)
        if attributes is None:
            return {}
        context = root if root is not None else ids.root_span_context(session_id)
        record = _logs.LogRecord(
            timestamp=time.time_ns(),
            context=trace.set_span_in_context(NonRecordingSpan(context)),
            event_name=sc.GEN_AI_EVALUATION_RESULT_EVENT,
            attributes=attributes,
        )
        self._logger_now().emit(record)
        return {
            "session_id": session_id,
            "name": attributes[sc.GEN_AI_EVALUATION_NAME],
            "trace_id": f"{context.trace_id:032x}",
            "span_id": f"{context.span_id:016x}",
        }

    def flush(self, timeout_s: float) -> bool:
        """Export the scores queued so far (those of a provider with ``force_flush``)."""
        provider = self._provider or _logs.get_logger_provider()
        flush = getattr(provider, "force_flush", None)
        if flush is None:
            return True
        return bool(flush(int(timeout_s * 1000)))

    # --- internals -----------------------------------------------------------------------
    def _attributes(
        self, session_id: str, name: Any, value: Any, label: Any, explanation: Any
    ) -> dict[str, Any] | None:
        report = self.report
        if not check_text(name, "score name", report):
            return None
        attributes: dict[str, Any] = {
            sc.GEN_AI_EVALUATION_NAME: name_argument(name, "score name", report),
            sc.SENTRIAL_SESSION_ID: session_id,
        }
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, (numbers.Real, Decimal)):
                report(TypeError, f"score value must be a number, not {type(value).__name__}"
                                  + (" (give 1.0 / 0.0, or a label)" if isinstance(value, bool)
                                     else ""))
                return None
            try:
                number = float(value)
            except OverflowError:  # an int beyond any float
                number = math.inf
            if not math.isfinite(number):
                report(ValueError, f"score value must be a finite number, got {value!r}")
                return None
            attributes[sc.GEN_AI_EVALUATION_SCORE_VALUE] = number
        if label is not None:
            if not isinstance(label, str):
                report(TypeError, f"score label must be a str, not {type(label).__name__}")
                return None
            if label.strip():
                attributes[sc.GEN_AI_EVALUATION_SCORE_LABEL] = name_argument(label, "score label", report)
        if len(attributes) == 2:
            report(ValueError, f"score {name!r} needs a value or a label")
            return None
        if explanation is not None and self.content.capture:
            # Content, redacted and cut like a tool's reasoning (SEMCONV.md: absent when off).
            encoded = check_content(
                self.content.text(FIELD_REASONING, explanation), "explanation", report
            )
            attributes[sc.GEN_AI_EVALUATION_EXPLANATION] = encoded.value
            if encoded.truncated:
                attributes[sc.SENTRIAL_CONTENT_TRUNCATED] = True
        return attributes

    def _logger_now(self) -> _logs.Logger:
        if self._provider is not None:
            if self._logger is None:
                self._logger = self._provider.get_logger("sentrial_otel", __version__)
            return self._logger
        if not is_configured(_logs.get_logger_provider()):
            self.report.warn(
                "scores are not exported: no OpenTelemetry LoggerProvider is in use (an "
                "application's own tracer provider is, and it set no logger provider); set "
                "one with opentelemetry._logs.set_logger_provider(), or pass logger_provider="
            )
        # A proxy logger forwards to the provider set later, so it is worth keeping.
        if self._logger is None:
            self._logger = _logs.get_logger("sentrial_otel", __version__)
        return self._logger
