"""``SpanRecord``: a light, plain-Python view of one stored span.

Decoding a line into protobuf messages is only needed to send spans on; listing and
showing sessions read the OTLP/JSON dicts directly into these records, which is several
times faster and keeps attribute values as ordinary Python values.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode

STATUS_ERROR = 2  # OTLP Status.StatusCode.STATUS_CODE_ERROR


def decode_any_value(value: Mapping[str, Any]) -> Any:
    """An OTLP/JSON ``AnyValue`` dict as a Python value (int64 strings become ints)."""
    if "stringValue" in value:
        return value["stringValue"]
    if "boolValue" in value:
        return value["boolValue"]
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "arrayValue" in value:
        return [decode_any_value(v) for v in value["arrayValue"].get("values", ())]
    if "kvlistValue" in value:
        return decode_attributes(value["kvlistValue"].get("values", ()))
    if "bytesValue" in value:
        return value["bytesValue"]
    return None


def decode_attributes(key_values: Any) -> dict[str, Any]:
    """OTLP/JSON ``KeyValue`` list as a dict."""
    return {kv["key"]: decode_any_value(kv.get("value", {})) for kv in key_values}


@dataclass
class SpanEvent:
    """A span event (e.g. ``exception``) with its time and attributes."""

    name: str
    time_ns: int
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class SpanRecord:
    """One span: ids as lowercase hex, times in ns since the epoch, plain attributes."""

    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: int
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    status_code: int = 0
    status_message: str = ""
    events: list[SpanEvent] = field(default_factory=list)

    @property
    def is_error(self) -> bool:
        """True when the span's status is ERROR."""
        return self.status_code == STATUS_ERROR

    @property
    def duration_ns(self) -> int:
        """End minus start, never negative."""
        return max(0, self.end_ns - self.start_ns)

    @classmethod
    def from_dict(cls, span: Mapping[str, Any]) -> SpanRecord:
        """From one span dict of the collector's OTLP/JSON (hex ids)."""
        status = span.get("status", {})
        return cls(
            trace_id=span.get("traceId", ""),
            span_id=span.get("spanId", ""),
            parent_span_id=span.get("parentSpanId", ""),
            name=span.get("name", ""),
            kind=int(span.get("kind", 0)),
            start_ns=int(span.get("startTimeUnixNano", 0)),
            end_ns=int(span.get("endTimeUnixNano", 0)),
            attributes=decode_attributes(span.get("attributes", ())),
            status_code=int(status.get("code", 0)),
            status_message=status.get("message", ""),
            events=[
                SpanEvent(
                    name=event.get("name", ""),
                    time_ns=int(event.get("timeUnixNano", 0)),
                    attributes=decode_attributes(event.get("attributes", ())),
                )
                for event in span.get("events", ())
            ],
        )

    @classmethod
    def from_readable_span(cls, span: ReadableSpan) -> SpanRecord:
        """From an SDK span, as a span processor or exporter receives it."""
        context = span.get_span_context()
        parent = span.parent
        return cls(
            trace_id=f"{context.trace_id:032x}" if context else "",
            span_id=f"{context.span_id:016x}" if context else "",
            parent_span_id=f"{parent.span_id:016x}" if parent else "",
            name=span.name,
            kind=span.kind.value + 1,  # SDK kinds start at 0, OTLP's at 1 (UNSPECIFIED=0)
            start_ns=span.start_time or 0,
            end_ns=span.end_time or 0,
            attributes={k: _plain(v) for k, v in (span.attributes or {}).items()},
            status_code=STATUS_ERROR if span.status.status_code is StatusCode.ERROR else 0,
            status_message=span.status.description or "",
            events=[
                SpanEvent(
                    event.name,
                    event.timestamp,
                    {k: _plain(v) for k, v in (event.attributes or {}).items()},
                )
                for event in span.events
            ],
        )


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def parse_json_attribute(value: Any) -> Any:
    """A JSON-string content attribute decoded for display; other values unchanged."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
