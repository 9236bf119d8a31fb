"""Recording failures on spans: ERROR status, ``error.type`` and ``exception`` events."""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from sentrial_otel import semconv as sc
from sentrial_otel._internal.content.policy import ContentPolicy
from sentrial_otel._internal.spans.limits import NO_LIMITS, AttributeLimits


def mark_error(
    span: trace.Span, error_type: str, message: str | None, limits: AttributeLimits = NO_LIMITS
) -> None:
    span.set_status(Status(StatusCode.ERROR, message or None))
    span.set_attribute(sc.ERROR_TYPE, _fit(error_type, limits.value_length))


def add_exception_event(
    span: trace.Span,
    error_type: str,
    message: str,
    stacktrace: str | None,
    extra: Mapping[str, Any],
    limits: AttributeLimits = NO_LIMITS,
) -> None:
    """An ``exception`` event, its strings within the events' value length limit (the
    SDK's global ``max_attribute_length``: a stack trace is often longer)."""
    attributes: dict[str, Any] = {sc.EXCEPTION_TYPE: error_type, sc.EXCEPTION_MESSAGE: message}
    if stacktrace:
        attributes[sc.EXCEPTION_STACKTRACE] = stacktrace
    attributes.update({k: v for k, v in extra.items() if v is not None})
    length = limits.event_value_length
    if length is not None:
        attributes = {k: _fit(v, length) for k, v in attributes.items()}
    span.add_event(sc.EXCEPTION_EVENT, attributes)


def _fit(value: Any, length: int | None) -> Any:
    if length is not None and isinstance(value, str) and len(value) > length:
        return value[:length]
    return value


def error_text(error: BaseException) -> str:
    """``str(error)``, or a placeholder when the exception's ``__str__`` raises."""
    try:
        return str(error)
    except Exception:  # noqa: BLE001 - a user exception whose __str__ is broken
        return f"<unprintable {type(error).__name__}>"


def record_exception(span: trace.Span, error: BaseException, content: ContentPolicy) -> None:
    """Exception event + ERROR status; message and stack pass PII and secret redaction."""
    error_type = type(error).__qualname__
    message = content.text("error", error_text(error)).value
    stack = content.text(
        "error", "".join(traceback.format_exception(type(error), error, error.__traceback__))
    ).value
    add_exception_event(span, error_type, message, stack, {}, content.limits)
    mark_error(span, error_type, message or error_type, content.limits)
