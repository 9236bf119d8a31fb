"""Our OTLP span encoder writes exactly the bytes the SDK's encoder writes.

Every span here goes through both ``SpanEncoder().encode`` and the SDK's
``encode_spans(...).SerializePartialToString()``; the two must be byte for byte equal, and
the request must parse back into the spans' own values.
"""

from __future__ import annotations

import logging
import math
import os

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
    set_span_in_context,
)

from sentrial_otel._internal.export.otlp_encoding import SpanEncoder
from tests.support.otlp_receiver import attributes_to_dict

VALUES = {
    "short": "execute_tool",
    "empty": "",
    "unicode": "réinitialiser le mot de passe ✓ 🔑",
    "long": "x" * 300,
    "json": '{"query": "reset", "results": [1, 2, 3]}' * 5,
    "true": True,
    "false": False,
    "zero": 0,
    "int": 120,
    "negative": -7,
    "int64 max": (1 << 63) - 1,
    "int64 min": -(1 << 63),
    "float": 0.0004,
    "float zero": 0.0,
    "negative float": -2.5,
    "infinity": math.inf,
    "strings": ("a", "", "ü"),
    "ints": (1, -1, 0),
    "floats": (1.5, 0.0),
    "bools": (True, False),
    "empty tuple": (),
    "with none": ("a", None),
}


def _provider(resource: Resource, **kwargs) -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=resource, shutdown_on_exit=False, **kwargs)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def _varied_spans() -> list[ReadableSpan]:
    first, first_spans = _provider(Resource.create({"service.name": "agent", "n": 3}))
    second, second_spans = _provider(
        Resource({"service.name": "other"}, schema_url="https://opentelemetry.io/schemas/1.26.0"),
        span_limits=SpanLimits(max_span_attributes=2, max_events=1, max_links=1),
    )
    tracer = first.get_tracer("bench")
    scoped = first.get_tracer(
        "scoped", "1.2.3", schema_url="https://example.test/schema", attributes={"scope.k": "v"}
    )
    remote = SpanContext(
        0x0AF7651916CD43DD8448EB211C80319C, 0x00F067AA0BA902B7, is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED), trace_state=TraceState([("vendor", "a=1")]),
    )
    with tracer.start_as_current_span("invoke_agent support", kind=SpanKind.SERVER,
                                      attributes=VALUES) as root:
        root.add_event("gen_ai.choice", {"index": 0, "text": "hello"})
        root.add_event("bare")
        try:
            raise ValueError("boom")
        except ValueError as error:
            root.record_exception(error)
        root.set_status(Status(StatusCode.ERROR, "tool failed"))
        for kind in SpanKind:
            with tracer.start_as_current_span(f"kind {kind.name}", kind=kind) as child:
                child.set_status(Status(StatusCode.OK))
        scoped.start_span("scoped span", attributes={"gen_ai.tool.name": "search_kb"}).end()
    remote_parent = set_span_in_context(NonRecordingSpan(remote))
    tracer.start_span("remote child", remote_parent, links=[
        Link(remote, {"link.k": "v"}), Link(root.get_span_context()),
    ]).end()
    with second.get_tracer("limited").start_as_current_span(
        "limited", attributes={"a": 1, "b": 2, "c": 3},
        links=[Link(remote), Link(root.get_span_context())],
    ) as limited:
        limited.add_event("one")
        limited.add_event("two")
    return list(first_spans.get_finished_spans()) + list(second_spans.get_finished_spans())


def test_the_bytes_are_the_sdks_for_every_field_and_value_type() -> None:
    spans = _varied_spans()
    assert SpanEncoder().encode(spans) == encode_spans(spans).SerializePartialToString()


def test_batches_reuse_the_caches_and_stay_equal() -> None:
    spans = _varied_spans()
    encoder = SpanEncoder()
    for batch in (spans, spans[:3], spans[::-1], spans[2:]):
        assert encoder.encode(batch) == encode_spans(batch).SerializePartialToString()


def test_the_request_parses_back_into_the_spans_values() -> None:
    spans = _varied_spans()
    request = ExportTraceServiceRequest.FromString(SpanEncoder().encode(spans))
    root = next(s for rs in request.resource_spans for ss in rs.scope_spans for s in ss.spans
                if s.name == "invoke_agent support")
    decoded = attributes_to_dict(root.attributes)
    assert decoded["unicode"] == VALUES["unicode"]
    assert decoded["int64 min"] == VALUES["int64 min"]
    assert decoded["strings"] == list(VALUES["strings"])
    assert root.status.message == "tool failed"
    assert [e.name for e in root.events] == ["gen_ai.choice", "bare", "exception"]
    services = [attributes_to_dict(rs.resource.attributes)["service.name"]
                for rs in request.resource_spans]
    assert services == ["agent", "other"]


def _span(attributes: dict) -> ReadableSpan:
    context = SpanContext(1, 2, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    return ReadableSpan(name="raw", context=context, attributes=attributes,
                        events=[Event("e", {"nested": {"k": [1, "two"]}})],
                        resource=Resource({"service.name": "raw"}), start_time=10, end_time=20)


def test_values_the_sdk_cleaning_never_makes_are_encoded_as_the_sdk_does() -> None:
    # A span built by hand skips the SDK's attribute cleaning: mappings, bytes, lists.
    span = _span({"map": {"a": 1, "b": {"c": "d"}}, "bytes": b"\x00\xff", "list": [1, 2],
                  "none": None})
    assert SpanEncoder().encode([span]) == encode_spans([span]).SerializePartialToString()


@pytest.mark.parametrize("bad", [1 << 64, object(), "\ud800"], ids=["int too big", "object",
                                                                     "lone surrogate"])
def test_a_value_the_sdk_cannot_encode_is_skipped_and_logged_as_the_sdk_does(
    bad: object, caplog: pytest.LogCaptureFixture
) -> None:
    span = _span({"before": "kept", "bad": bad, "after": 2})
    with caplog.at_level(logging.ERROR):
        ours = SpanEncoder().encode([span])
    our_lines = [r.getMessage() for r in caplog.records]
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        theirs = encode_spans([span]).SerializePartialToString()
    assert ours == theirs
    assert [line.split(":")[0] for line in our_lines] == ["Failed to encode key bad"]
    assert [r.getMessage().split(":")[0] for r in caplog.records] == ["Failed to encode key bad"]


@pytest.mark.parametrize("key", [0, False, b"k", b"", b"\xff", None, ""],
                         ids=["0", "False", "bytes", "empty bytes", "bad utf-8", "None", "empty"])
def test_a_key_the_sdk_cleaning_never_makes_is_encoded_or_skipped_as_the_sdk_does(key) -> None:
    # The SDK's cleaning drops non-str keys; a hand-built span keeps them, and protobuf takes
    # UTF-8 bytes and None for a string field and refuses the rest.
    span = _span({"before": "kept", key: "v", "after": 2})
    assert SpanEncoder().encode([span]) == encode_spans([span]).SerializePartialToString()


def test_the_caches_stay_small_when_every_span_brings_new_long_keys() -> None:
    # A process that runs for days may put ids or content into attribute keys: the encoder's
    # caches must not keep them all (the count bound alone would let 4096 such keys stay).
    import tracemalloc

    encoder = SpanEncoder()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(200):
            key = f"{i:06d}" + "k" * 50_000
            encoder.encode([_span({key: "v", key + ".n": 1})])
        kept = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert kept < 5_000_000, f"{kept / 1e6:.1f} MB kept after 200 spans of 50 KB keys"


def _with_text(text: str, field: str) -> ReadableSpan:
    context = SpanContext(1, 2, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED))
    return ReadableSpan(
        name=text if field == "name" else "tool",
        context=context, resource=Resource({"service.name": "raw"}), start_time=10, end_time=20,
        status=Status(StatusCode.ERROR, text if field == "status" else "failed"),
        events=[Event(text if field == "event" else "exception", {"k": "v"}, timestamp=15)],
        instrumentation_scope=InstrumentationScope(text if field == "scope" else "scope"),
    )


@pytest.mark.parametrize("field", ["name", "status", "event", "scope"])
def test_a_lone_surrogate_outside_attributes_costs_one_character_not_the_batch(field) -> None:
    # A file name that is not UTF-8 (os.fsdecode) in an exception's message becomes the status
    # description: the SDK's encoder fails the whole batch on it, 511 other spans with it.
    # Ours sends the span with U+FFFD in its place: the SDK's bytes for the repaired text.
    bad = "cannot read " + os.fsdecode(b"report-\xff.txt")
    good = bad.replace("\udcff", "\ufffd")
    spans = _varied_spans()
    with pytest.raises(UnicodeEncodeError):
        encode_spans([*spans, _with_text(bad, field)]).SerializePartialToString()
    expected = encode_spans([*spans, _with_text(good, field)]).SerializePartialToString()
    assert SpanEncoder().encode([*spans, _with_text(bad, field)]) == expected
