"""The span limits our spans must stay under, read from the provider that records them.

The SDK enforces ``SpanLimits`` (``OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT`` /
``OTEL_ATTRIBUTE_COUNT_LIMIT``, ``OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT`` /
``OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT``, or a user's ``TracerProvider(span_limits=...)``) by
evicting the *oldest* attribute of a full span and cutting long strings blindly, with a
warning each time. That would lose ``gen_ai.operation.name`` first and break our JSON, so we
stay under the limits ourselves: content is cut inside its JSON to the length limit
(``content/encoding.py``), and the keys a user names (metadata, custom metrics) share what
the span's own attributes leave free (``attributes.place_user_keys``).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from opentelemetry.sdk.trace import SpanLimits

from sentrial_otel._internal.logs import logger

DEFAULT_COUNT_LIMIT = 128
"""The SDK's default ``max_span_attributes``."""


class AttributeLimits(NamedTuple):
    """What one span may hold: None means no limit."""

    attribute_count: int | None = DEFAULT_COUNT_LIMIT
    """Attributes per span."""
    value_length: int | None = None
    """Characters per string attribute value of a span (each string of an array too)."""
    event_value_length: int | None = None
    """Characters per string attribute value of a span event (the SDK applies the global
    ``max_attribute_length`` to events, not the span one)."""


NO_LIMITS = AttributeLimits(None, None, None)


def limits_of(source: Any) -> AttributeLimits:
    """The limits of an SDK ``TracerProvider`` or ``Tracer``; for anything else (a proxy, a
    provider of another SDK), the standard environment variables as the SDK reads them."""
    limits = getattr(source, "_span_limits", None)
    if not isinstance(limits, SpanLimits):
        try:
            limits = SpanLimits()
        except ValueError as error:  # a malformed OTEL_*_LIMIT: the SDK refuses it too
            logger.warning("sentrial: %s; using the default span limits", error)
            return AttributeLimits()
    return AttributeLimits(
        _limit(getattr(limits, "max_span_attributes", DEFAULT_COUNT_LIMIT)),
        _limit(getattr(limits, "max_span_attribute_length", None)),
        _limit(getattr(limits, "max_attribute_length", None)),
    )


def _limit(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None
