"""Spans to OTLP protobuf bytes, written directly in the wire format.

The SDK's encoder (``opentelemetry.exporter.otlp.proto.common``) builds a protobuf object
for every span, attribute and value, then serializes the tree: 87 % of an export's time
(docs/benchmarks.md, section 9). Protobuf's wire format is a concatenation of
``tag, length, bytes`` fields, so the same request can be written straight from the spans,
with the keys (and the short string values that repeat from span to span: operation,
tool and agent names, session ids) encoded once and reused.

The output is byte for byte what ``encode_spans(spans).SerializePartialToString()``
gives, fields in number order, defaults left out as proto3 does, an attribute the SDK
cannot encode skipped with the same log line (``tests/test_otlp_encoding.py`` and
``test_otlp_encoding_random.py`` hold the two encoders to that). It covers the fields the
SDK's encoder writes and no others. One difference, where the SDK's loses the whole batch: a
lone surrogate in a span's own text (name, status, event name, scope) becomes U+FFFD.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

# The SDK's encoder logs a value it cannot encode on this logger; so do we.
_logger = logging.getLogger("opentelemetry.exporter.otlp.proto.common._internal")

_SPAN_KIND = {
    SpanKind.INTERNAL: b"\x30\x01",
    SpanKind.SERVER: b"\x30\x02",
    SpanKind.CLIENT: b"\x30\x03",
    SpanKind.PRODUCER: b"\x30\x04",
    SpanKind.CONSUMER: b"\x30\x05",
}
# Span.flags (field 16, fixed32): the parent's "is remote" is known, and whether it is.
_FLAGS_LOCAL = b"\x85\x01\x00\x01\x00\x00"
_FLAGS_REMOTE = b"\x85\x01\x00\x03\x00\x00"
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
_pack_double = struct.Struct("<d").pack
# Short string values repeat from span to span; longer ones (content) rarely do.
_CACHED_VALUE_CHARS = 64
# Keys are short names; a long one (an id or content used as a key) is encoded every time,
# so that 4096 cached entries stay a few megabytes whatever a process sends for days.
_CACHED_KEY_BYTES = 256
_CACHE_ENTRIES = 4096


def _varint(value: int) -> bytes:
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _field(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field: its tag, the payload's length, the payload."""
    size = len(payload)
    return tag + (bytes((size,)) if size < 0x80 else _varint(size)) + payload


def _fixed64(tag: bytes, value: int) -> bytes:
    return tag + value.to_bytes(8, "little") if value else b""


def _uint(tag: bytes, value: int) -> bytes:
    return tag + _varint(value) if value else b""


def _string(tag: bytes, value: str | None) -> bytes:
    """A span's own text (name, status, event name, scope): never fails the batch."""
    if not value:
        return b""
    try:
        data = value.encode()
    except UnicodeEncodeError:
        # A lone surrogate: a file name that is not UTF-8 (os.fsdecode) in an exception's
        # message, as a status description. The SDK's encoder fails the whole batch on it;
        # here the span goes with U+FFFD in its place (attribute values stay the SDK's: skipped).
        data = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode()
    return _field(tag, data)


# --- attributes (common.proto: KeyValue, AnyValue) ---------------------------------------
def _any_value(value: Any) -> bytes:
    """An AnyValue's payload; the SDK's type tests in the SDK's order (str before
    Sequence, bool before int)."""
    if value is None:
        return b""
    if isinstance(value, bool):
        return b"\x10\x01" if value else b"\x10\x00"
    if isinstance(value, str):
        return _field(b"\x0a", value.encode())
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ValueError(f"Value out of range: {value}")
        return b"\x18" + _varint(value & 0xFFFFFFFFFFFFFFFF)
    if isinstance(value, float):
        return b"\x21" + _pack_double(value)
    if isinstance(value, bytes):
        return _field(b"\x3a", value)
    if isinstance(value, Sequence):
        return _field(b"\x2a", b"".join([_field(b"\x0a", _any_value(v)) for v in value]))
    if isinstance(value, Mapping):
        pairs = [_field(b"\x0a", _key_value(str(k), v)) for k, v in value.items()]
        return _field(b"\x32", b"".join(pairs))
    raise Exception(f"Invalid type {type(value)} of value {value}")  # noqa: TRY002 - the SDK's


def _plain(attributes: Any) -> Any:
    """The dict inside the SDK's ``BoundedAttributes``, whose ``items()`` loop runs in C
    (the mapping's own goes through Python per item); anything else as it is."""
    inner = getattr(attributes, "_dict", None)
    return inner if type(inner) is dict else attributes


def _key_value(key: str, value: Any) -> bytes:
    return _key_field(key) + _field(b"\x12", _any_value(value))


def _key_field(key: Any) -> bytes:
    """``KeyValue.key`` as protobuf takes it: a str, or UTF-8 bytes, or None for empty.
    The SDK's cleaning keeps only str keys; a hand-built span may carry others, and
    protobuf refuses any other type, so the attribute is skipped as the SDK skips it."""
    if isinstance(key, str):
        data = key.encode()
    elif key is None:
        data = b""
    elif isinstance(key, bytes):
        key.decode()  # protobuf's UTF-8 check: bytes that are not fail there too
        data = key
    else:
        raise TypeError(f"bad argument type for a key: {type(key).__name__}")
    return _field(b"\x0a", data) if data else b""


class _AttributeCache:
    """Encoded keys, and encoded ``key = short string`` pairs, bounded in size."""

    def __init__(self) -> None:
        self.keys: dict[str, bytes] = {}
        # (key, value) -> the KeyValue with its length, ready to follow any field's tag.
        self.pairs: dict[tuple[str, str], bytes] = {}

    def encode(self, attributes: Mapping[str, Any] | None, tag: bytes) -> bytes:
        """``attributes`` as repeated KeyValue fields under ``tag``."""
        if not attributes:
            return b""
        keys, pairs = self.keys, self.pairs
        parts: list[bytes] = []
        for key, value in _plain(attributes).items():
            short = type(value) is str and len(value) <= _CACHED_VALUE_CHARS
            if short:
                pair = pairs.get((key, value))
                if pair is not None:
                    parts += (tag, pair)
                    continue
            try:
                encoded_key = keys.get(key)
                if encoded_key is None:
                    encoded_key = _key_field(key)
                    if len(encoded_key) <= _CACHED_KEY_BYTES:
                        if len(keys) >= _CACHE_ENTRIES:
                            keys.clear()
                        keys[key] = encoded_key
                pair = _field(b"", encoded_key + _field(b"\x12", _any_value(value)))
            except Exception as error:  # noqa: BLE001 - as the SDK: skip the attribute, say so
                _logger.exception("Failed to encode key %s: %s", key, error)
                continue
            if short and len(encoded_key) <= _CACHED_KEY_BYTES:
                if len(pairs) >= _CACHE_ENTRIES:
                    pairs.clear()
                pairs[(key, value)] = pair
            parts += (tag, pair)
        return b"".join(parts)


# --- spans (trace.proto) ------------------------------------------------------------------
class SpanEncoder:
    """Encodes batches of spans into an ``ExportTraceServiceRequest``'s bytes; keeps the
    caches (keys, short pairs, resources and scopes) from batch to batch."""

    def __init__(self) -> None:
        self._attributes = _AttributeCache()
        # id(object) -> (object, its encoding): the object is kept, so the id stays its own.
        self._resources: dict[int, tuple[Any, bytes]] = {}
        self._scopes: dict[int, tuple[Any, bytes]] = {}

    def encode(self, spans: Sequence[ReadableSpan]) -> bytes:
        # Grouped as the SDK groups them: by resource, then by scope, first seen first.
        groups: dict[Any, dict[Any, list[bytes]]] = {}
        by_identity: dict[tuple[int, int], list[bytes]] = {}
        encode_span = self._span
        for span in spans:
            resource, scope = span.resource, span.instrumentation_scope or None
            identity = (id(resource), id(scope))
            encoded = by_identity.get(identity)
            if encoded is None:
                # Equal but distinct resources (or scopes) share a group, as in the SDK.
                encoded = groups.setdefault(resource, {}).setdefault(scope, [])
                by_identity[identity] = encoded
            encoded.append(encode_span(span))
        out = []
        for resource, scopes in groups.items():
            scope_spans = [
                _field(b"\x12", self._scope_field(scope) + b"".join(encoded)
                       + _string(b"\x1a", scope.schema_url if scope else None))
                for scope, encoded in scopes.items()
            ]
            body = self._resource_field(resource) + b"".join(scope_spans)
            out.append(_field(b"\x0a", body + _string(b"\x1a", resource.schema_url)))
        return b"".join(out)

    def _resource_field(self, resource: Any) -> bytes:
        cached = self._resources.get(id(resource))
        if cached is None or cached[0] is not resource:
            if len(self._resources) >= 64:
                self._resources.clear()
            cached = (resource, _field(b"\x0a", self._attributes.encode(resource.attributes, b"\x0a")))
            self._resources[id(resource)] = cached
        return cached[1]

    def _scope_field(self, scope: Any) -> bytes:
        cached = self._scopes.get(id(scope))
        if cached is None or cached[0] is not scope:
            if len(self._scopes) >= 256:
                self._scopes.clear()
            body = b""
            if scope is not None:
                body = (_string(b"\x0a", scope.name) + _string(b"\x12", scope.version)
                        + self._attributes.encode(scope.attributes, b"\x1a"))
            cached = (scope, _field(b"\x0a", body))
            self._scopes[id(scope)] = cached
        return cached[1]

    def _span(self, span: ReadableSpan) -> bytes:
        context = span.get_span_context()
        if context is None:  # the SDK's encoder fails on it too: the batch fails to encode
            raise ValueError(f"span {span.name!r} has no span context")
        parent = span.parent
        # The attributes themselves, not the read-only view ``span.attributes`` makes of them.
        attributes = getattr(span, "_attributes", None)
        if attributes is None:
            attributes = span.attributes
        trace_state = context.trace_state
        parts = [
            b"\x0a\x10", context.trace_id.to_bytes(16, "big"),
            b"\x12\x08", context.span_id.to_bytes(8, "big"),
        ]
        if trace_state:
            parts.append(_string(b"\x1a", ",".join([f"{k}={v}" for k, v in trace_state.items()])))
        if parent:
            parts += (b"\x22\x08", parent.span_id.to_bytes(8, "big"))
        parts += (
            _string(b"\x2a", span.name),
            _SPAN_KIND[span.kind],
            _fixed64(b"\x39", span.start_time or 0),
            _fixed64(b"\x41", span.end_time or 0),
            self._attributes.encode(attributes, b"\x4a"),
            _uint(b"\x50", span.dropped_attributes),
        )
        for event in span.events:
            body = (_fixed64(b"\x09", event.timestamp or 0) + _string(b"\x12", event.name)
                    + self._attributes.encode(event.attributes, b"\x1a")
                    + _uint(b"\x20", event.dropped_attributes))
            parts.append(_field(b"\x5a", body))
        parts.append(_uint(b"\x60", span.dropped_events))
        for link in span.links:
            linked = link.context
            body = (b"\x0a\x10" + linked.trace_id.to_bytes(16, "big")
                    + b"\x12\x08" + linked.span_id.to_bytes(8, "big")
                    + self._attributes.encode(link.attributes, b"\x22")
                    + _uint(b"\x28", link.dropped_attributes)
                    + (b"\x35\x00\x03\x00\x00" if linked.is_remote else b"\x35\x00\x01\x00\x00"))
            parts.append(_field(b"\x6a", body))
        parts.append(_uint(b"\x70", span.dropped_links))
        status = span.status
        if status is not None:
            code = status.status_code.value
            parts.append(_field(b"\x7a", _string(b"\x12", status.description)
                                + (b"\x18" + _varint(code) if code else b"")))
        parts.append(_FLAGS_REMOTE if parent is not None and parent.is_remote else _FLAGS_LOCAL)
        return _field(b"\x12", b"".join(parts))  # ScopeSpans.spans
