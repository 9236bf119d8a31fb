"""Our encoder against the SDK's over thousands of generated spans, byte for byte.

``test_otlp_encoding.py`` holds the two to chosen cases; this file draws the spans from a
seeded generator (hypothesis is not installed here), through the SDK's API (its attribute
cleaning and limits) and by hand (``ReadableSpan(...)``, which skips the cleaning, as
processors that copy spans do). One encoder encodes every batch, so its caches carry over
from batch to batch as in a long-running process; a failure names the seed and the batch.
"""

from __future__ import annotations

import logging
import math
import random

import pytest
from opentelemetry import trace as api
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from sentrial_otel._internal.export import otlp_encoding
from sentrial_otel._internal.export.otlp_encoding import SpanEncoder

SEEDS = (1, 2, 3)
BATCHES_PER_SEED = 120  # over 1,000 spans a seed (asserted)

# Strings chosen for their encodings: empty, ASCII, two/three/four-byte UTF-8, lengths whose
# varint takes one, two and three bytes, and a few values that repeat (the short-pair cache).
_REPEATED = ("execute_tool", "invoke_agent", "search_kb", "gpt-4o", "session-1", "")


def _text(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.35:
        return rng.choice(_REPEATED)
    if roll < 0.55:
        return "".join(rng.choice("abcxyz_.-0") for _ in range(rng.randint(1, 70)))
    if roll < 0.7:
        return "".join(rng.choice("éü✓€🔑𝄞中") for _ in range(rng.randint(1, 40)))
    if roll < 0.8:
        return f"unique-{rng.getrandbits(48):x}"  # short and never repeating
    if roll < 0.95:
        return "x" * rng.choice((63, 64, 65, 127, 128, 129, 300, 16_383, 16_384))
    return "y" * rng.choice((65_536, 70_000, 2_097_152))


def _number(rng: random.Random) -> int | float:
    return rng.choice((
        0, 1, -1, 127, 128, -128, 2**31, -(2**31), 2**63 - 1, -(2**63), rng.getrandbits(40),
        -rng.getrandbits(62), 0.0, -0.0, math.nan, math.inf, -math.inf, 1e-300, 5e-324,
        rng.uniform(-1e6, 1e6), 1.5,
    ))


def _scalar(rng: random.Random) -> object:
    kind = rng.randrange(4)
    if kind == 0:
        return _text(rng)
    if kind == 1:
        return rng.random() < 0.5
    return _number(rng)


def _api_value(rng: random.Random) -> object:
    """A value as the SDK's API takes it: a scalar, or a sequence of one type (None allowed),
    possibly empty; bytes (decoded by the SDK's cleaning)."""
    roll = rng.random()
    if roll < 0.7:
        return _scalar(rng)
    if roll < 0.75:
        return rng.choice((b"raw bytes", "é".encode(), b"\xff\xfe not utf-8"))
    make = rng.choice((lambda: _text(rng), lambda: rng.random() < 0.5,
                       lambda: rng.getrandbits(20), lambda: rng.uniform(-1, 1)))
    values = [None if rng.random() < 0.1 else make() for _ in range(rng.randint(0, 5))]
    return values if rng.random() < 0.5 else tuple(values)


def _raw_value(rng: random.Random, depth: int = 0) -> object:
    """A value a hand-built span may carry: also bytes, None, mixed and nested sequences,
    mappings (with non-str keys), ints beyond int64 and a lone surrogate (the SDK skips
    those two with a log line)."""
    roll = rng.random()
    if roll < 0.5 or depth > 2:
        return _scalar(rng)
    if roll < 0.58:
        return rng.choice((b"", b"\x00\xff", bytes(range(200)), None, bytearray(b"ab")))
    if roll < 0.62:
        return rng.choice((2**64, -(2**63) - 1, "\ud800 lone", object()))
    if roll < 0.82:
        return [_raw_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {rng.choice(("k", "", 1, None, _text(rng)[:10])): _raw_value(rng, depth + 1)
            for _ in range(rng.randint(0, 4))}


def _keys(rng: random.Random, n: int) -> list[str]:
    common = ("gen_ai.operation.name", "gen_ai.tool.name", "session.id", "n", "é.key")
    keys = []
    for _ in range(n):
        roll = rng.random()
        if roll < 0.6:
            keys.append(rng.choice(common))
        elif roll < 0.95:
            keys.append(f"k{rng.randrange(10_000)}")
        else:  # around the length up to which keys are cached
            keys.append("long." + "k" * rng.choice((240, 250, 251, 300)))
    return keys


def _attributes(rng: random.Random, value, most: int = 6) -> dict:
    return {key: value(rng) for key in _keys(rng, rng.randint(0, most))}


def _context(rng: random.Random) -> api.SpanContext:
    trace_state = None
    if rng.random() < 0.3:
        trace_state = api.TraceState([(f"v{i}", f"x{rng.randrange(99)}")
                                      for i in range(rng.randint(0, 3))])
    return api.SpanContext(rng.getrandbits(128) or 1, rng.getrandbits(64) or 1,
                           is_remote=rng.random() < 0.5,
                           trace_flags=api.TraceFlags(rng.choice((0, 1))), trace_state=trace_state)


def _status(rng: random.Random) -> api.Status:
    description = rng.choice((None, "", "tool failed", "é"))
    return api.Status(rng.choice(list(api.StatusCode)), description)


def _resources(rng: random.Random) -> list[Resource]:
    resources = [Resource({"service.name": f"svc{i}", "n": i}) for i in range(3)]
    resources.append(Resource({"service.name": "svc0", "n": 0}))  # equal to the first
    resources.append(Resource({"service.name": "s"}, schema_url="https://x.test/1.26.0"))
    resources.append(Resource({}))
    return resources


def _scopes() -> list[InstrumentationScope | None]:
    return [
        InstrumentationScope("a"),
        InstrumentationScope("a"),  # equal to the first, another object
        InstrumentationScope("b", "1.2.3"),
        InstrumentationScope("c", "2", "https://x.test/schema", {"scope.k": "v", "n": 2}),
        InstrumentationScope("", None),
        None,
    ]


def _api_spans(rng: random.Random, resource: Resource, n: int) -> list[ReadableSpan]:
    limits = SpanLimits(
        max_span_attributes=rng.choice((None, 1, 3)), max_events=rng.choice((None, 1, 2)),
        max_links=rng.choice((None, 1)), max_event_attributes=rng.choice((None, 1)),
        max_link_attributes=rng.choice((None, 1)),
        max_attribute_length=rng.choice((None, None, 5, 100)),
    )
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=resource, span_limits=limits, shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracers = [provider.get_tracer("api"),
               provider.get_tracer("scoped", "0.1", schema_url="https://x.test/s",
                                   attributes={"scope.attr": rng.choice(_REPEATED)})]
    for _ in range(n):
        parent = None
        if rng.random() < 0.3:
            parent = api.set_span_in_context(api.NonRecordingSpan(_context(rng)))
        links = [api.Link(_context(rng), _attributes(rng, _api_value, 3) or None)
                 for _ in range(rng.randint(0, 3))]
        span = rng.choice(tracers).start_span(
            _text(rng)[:80], parent, kind=rng.choice(list(api.SpanKind)),
            attributes=_attributes(rng, _api_value, 8), links=links,
            start_time=rng.choice((None, rng.getrandbits(62))),
        )
        for _ in range(rng.randint(0, 3)):
            span.add_event(_text(rng)[:40], _attributes(rng, _api_value, 3),
                           timestamp=rng.choice((None, 0, rng.getrandbits(62))))
        if rng.random() < 0.5:
            span.set_status(_status(rng))
        span.end(end_time=rng.choice((None, rng.getrandbits(63))))
    return list(exporter.get_finished_spans())


def _raw_spans(rng: random.Random, resource: Resource, n: int) -> list[ReadableSpan]:
    scopes = _scopes()
    spans = []
    for _ in range(n):
        events = [Event(_text(rng)[:30], _attributes(rng, _raw_value, 3) or None,
                        timestamp=rng.getrandbits(62))
                  for _ in range(rng.randint(0, 2))]
        links = [api.Link(_context(rng), _attributes(rng, _raw_value, 2) or None)
                 for _ in range(rng.randint(0, 2))]
        attributes = _attributes(rng, _raw_value, 6)
        if rng.random() < 0.1:  # keys the SDK's cleaning would have dropped
            attributes[rng.choice((0, b"k", None, b"\xff"))] = "v"
        spans.append(ReadableSpan(
            name=_text(rng)[:60], context=_context(rng),
            parent=rng.choice((None, _context(rng))), resource=resource,
            attributes=attributes, events=events, links=links,
            kind=rng.choice(list(api.SpanKind)), status=_status(rng),
            start_time=rng.getrandbits(62), end_time=rng.choice((None, rng.getrandbits(62))),
            instrumentation_scope=rng.choice(scopes),
        ))
    return spans


def _batch(rng: random.Random, resources: list[Resource]) -> list[ReadableSpan]:
    spans: list[ReadableSpan] = []
    for _ in range(rng.randint(0, 4)):
        make = _api_spans if rng.random() < 0.5 else _raw_spans
        spans += make(rng, rng.choice(resources), rng.randint(1, 12))
    rng.shuffle(spans)  # resources and scopes interleaved: the grouping's order is tested
    return spans


@pytest.fixture(autouse=True)
def _quiet_encoders() -> None:
    # Both encoders log every value they skip (tested in test_otlp_encoding.py); thousands
    # of lines here would only slow the run.
    logging.disable(logging.CRITICAL)
    yield
    logging.disable(logging.NOTSET)


@pytest.mark.parametrize("seed", SEEDS)
def test_generated_batches_encode_to_the_sdks_bytes(seed: int, monkeypatch) -> None:
    # Small caches, so that they fill and are cleared many times within the run.
    monkeypatch.setattr(otlp_encoding, "_CACHE_ENTRIES", 50)
    rng = random.Random(seed)
    resources = _resources(rng)
    encoder = SpanEncoder()
    spans_seen = failed_batches = 0
    for index in range(BATCHES_PER_SEED):
        batch = _batch(rng, resources)
        spans_seen += len(batch)
        try:
            theirs = encode_spans(batch).SerializePartialToString()
        except Exception as error:  # noqa: BLE001 - a batch the SDK cannot encode fails for us too
            with pytest.raises(type(error)):
                encoder.encode(batch)
            failed_batches += 1
            continue
        ours = encoder.encode(batch)
        assert ours == theirs, f"seed {seed}, batch {index}: {len(batch)} spans differ"
        request = ExportTraceServiceRequest.FromString(ours)
        assert sum(len(ss.spans) for rs in request.resource_spans
                   for ss in rs.scope_spans) == len(batch)
    assert spans_seen > 1000 and failed_batches < BATCHES_PER_SEED // 10, (spans_seen, failed_batches)
