"""Recording failures on spans: ERROR status, ``error.type`` and ``exception`` events."""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from sentrial_otel import semconv as sc
from sentrial_otel._internal.content.policy import ContentPolicy


def mark_error(span: trace.Span, error_type: str, message: str | None) -> None:
    span.set_status(Status(StatusCode.ERROR, message or None))
    span.set_attribute(sc.ERROR_TYPE, error_type)


def add_exception_event(
    span: trace.Span, error_type: str, message: str, stacktrace: str | None, extra: Mapping[str, Any]
) -> None:
    attributes: dict[str, Any] = {sc.EXCEPTION_TYPE: error_type, sc.EXCEPTION_MESSAGE: message}
    if stacktrace:
        attributes[sc.EXCEPTION_STACKTRACE] = stacktrace
    attributes.update({k: v for k, v in extra.items() if v is not None})
    span.add_event(sc.EXCEPTION_EVENT, attributes)


def record_exception(span: trace.Span, error: BaseException, content: ContentPolicy) -> None:
    """Exception event + ERROR status; message and stack pass PII and secret redaction."""
    error_type = type(error).__qualname__
    message = content.text("error", str(error)).value
    stack = content.text(
        "error", "".join(traceback.format_exception(type(error), error, error.__traceback__))
    ).value
    add_exception_event(span, error_type, message, stack, {})
    mark_error(span, error_type, message or error_type)
