"""Span limits, end to end: user scripts in subprocesses, configured by the standard
``OTEL_*_LIMIT`` variables (or a user's own ``TracerProvider(span_limits=...)``), exporting
over real OTLP to the receiver. Our spans keep their own attributes, put what does not fit
into ``sentrial.attributes.overflow``, keep every JSON attribute valid under the value
length limit, and make the SDK print nothing (its "Attributes dict is full" and "String
attribute value exceeds max length" warnings go to stderr through Python's last-resort
handler, so an empty stderr means none fired)."""

from __future__ import annotations

import json

import pytest

from sentrial_otel import semconv as sc
from tests.support.otlp_receiver import OtlpReceiver, SpanRecord
from tests.test_e2e_otlp import run_script

pytestmark = pytest.mark.slow

# Every attribute we write as JSON: content, state, the overflow.
JSON_KEYS = {
    sc.GEN_AI_INPUT_MESSAGES, sc.GEN_AI_OUTPUT_MESSAGES, sc.GEN_AI_SYSTEM_INSTRUCTIONS,
    sc.GEN_AI_TOOL_CALL_ARGUMENTS, sc.GEN_AI_TOOL_CALL_RESULT, sc.GEN_AI_RETRIEVAL_DOCUMENTS,
    sc.SENTRIAL_TOOL_ERROR, sc.SENTRIAL_STATE_PREFIX + "before", sc.SENTRIAL_STATE_PREFIX + "after",
    sc.SENTRIAL_ATTRIBUTES_OVERFLOW,
}
# The keys of the root span that never give way to metadata (SEMCONV.md's table).
ROOT_CORE_KEYS = {
    sc.GEN_AI_OPERATION_NAME, sc.GEN_AI_AGENT_NAME, sc.SENTRIAL_SESSION_ID,
    sc.SENTRIAL_SESSION_NAME, sc.USER_ID, sc.GEN_AI_CONVERSATION_ID, sc.SESSION_ID,
    sc.GEN_AI_INPUT_MESSAGES, sc.GEN_AI_OUTPUT_MESSAGES, sc.SENTRIAL_SESSION_SUCCESS,
    sc.SENTRIAL_SESSION_COST_USD, sc.SENTRIAL_SESSION_INPUT_TOKENS,
    sc.SENTRIAL_SESSION_OUTPUT_TOKENS, sc.SENTRIAL_SESSION_TOTAL_TOKENS,
}
USER_PREFIXES = (sc.SENTRIAL_METADATA_PREFIX, sc.SENTRIAL_METRIC_PREFIX)

MANY_KEYS_SCRIPT = """
    import sentrial
    sentrial.configure()
    interaction = sentrial.begin(
        user_id="u1", event="support", input="hello", convo_id="c1",
        metadata={f"k{i:03}": f"v{i}" for i in range(100)},
    )
    interaction.track_tool_call("search", {"q": "x"}, {"hits": 1})
    interaction.finish(output="bye", custom_metrics={f"m{i:03}": i for i in range(100)})
"""


def _exported(script: str, env: dict[str, str], spans: int, tmp_path) -> tuple[list[SpanRecord], str]:
    with OtlpReceiver(protocol="http/protobuf") as rx:
        done = run_script(
            script, {"OTEL_EXPORTER_OTLP_ENDPOINT": rx.endpoint, "SENTRIAL_HOME": str(tmp_path), **env}
        )
        assert done.returncode == 0, done.stderr
        received = rx.wait_for_spans(spans, timeout=15)
    return received, done.stderr


def _user_keys(span: SpanRecord) -> dict[str, object]:
    """Every metadata and custom metric entry of a span: its attributes and the overflow."""
    found = {k: v for k, v in span.attributes.items() if k.startswith(USER_PREFIXES)}
    overflow = span.attributes.get(sc.SENTRIAL_ATTRIBUTES_OVERFLOW)
    if overflow is not None:
        moved = json.loads(overflow)
        assert not set(moved) & set(found), "a key both on the span and in the overflow"
        found.update(moved)
    return found


@pytest.mark.parametrize(
    ("env", "count_limit"),
    [
        ({}, 128),
        ({"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT": "60"}, 60),
        ({"OTEL_ATTRIBUTE_COUNT_LIMIT": "48"}, 48),
    ],
    ids=["default-128", "span-limit-60", "global-limit-48"],
)
def test_many_keys_keep_the_core_and_overflow_into_one_json(tmp_path, env, count_limit):
    spans, stderr = _exported(MANY_KEYS_SCRIPT, env, 2, tmp_path)

    assert stderr.strip() == "", "no SDK (or other) warning expected"
    root = next(s for s in spans if s.is_root)
    assert ROOT_CORE_KEYS <= set(root.attributes), ROOT_CORE_KEYS - set(root.attributes)
    assert root.attributes[sc.GEN_AI_OPERATION_NAME] == "invoke_agent"
    assert root.attributes[sc.GEN_AI_AGENT_NAME] == "support"
    assert json.loads(root.attributes[sc.GEN_AI_INPUT_MESSAGES])[0]["parts"][0]["content"] == "hello"
    assert len(root.attributes) <= count_limit
    # The documented budget: metadata first, then metrics, count limit less 32.
    on_span = [k for k in root.attributes if k.startswith(USER_PREFIXES)]
    assert len(on_span) == count_limit - 32
    assert root.attributes[sc.SENTRIAL_ATTRIBUTES_TRUNCATED] is True
    # Nothing lost: every entry is on the span or in the overflow, with its value.
    expected = {f"{sc.SENTRIAL_METADATA_PREFIX}k{i:03}": f"v{i}" for i in range(100)}
    expected.update({f"{sc.SENTRIAL_METRIC_PREFIX}m{i:03}": i for i in range(100)})
    assert _user_keys(root) == expected
    tool = next(s for s in spans if s.name == "execute_tool search")
    assert sc.SENTRIAL_ATTRIBUTES_OVERFLOW not in tool.attributes


VALUE_LENGTH_SCRIPT = """
    import sentrial
    big = "é\\"" * 2500 + "x" * 5000
    client = sentrial.SentrialClient()
    sid = client.create_session(name="n", agent_name="agent", user_id="u",
                                metadata={"doc": {"text": big}, "tag": big})
    client.update_state("plan", {"steps": [big, big]})
    client.track_tool_call(sid, "search", {"q": big}, {"r": big, "n": list(range(2000))},
                           reasoning=big, metadata={"note": big})
    client.track_decision(sid, big, alternatives=[big, big, {"o": big}], confidence=0.5, chosen=big)
    client.track_llm_call(sid, provider="openai", model="gpt-4o", input=big, output=big,
                          system_instructions=big, prompt_tokens=1, completion_tokens=1)
    client.track_tool_call(sid, "broken", {"q": 1}, tool_error={"message": big, "type": "Boom"})
    try:
        raise ValueError(big)
    except ValueError as error:
        import traceback
        client.track_error(sid, big, error_type="ValueError", stack_trace=traceback.format_exc() * 3)
    client.complete_session(sid, user_input=big, assistant_output=big, success=False,
                            failure_reason=big)
"""


def _check_lengths_and_json(spans: list[SpanRecord], limit: int, event_limit: int | None) -> int:
    """Every string within ``limit`` (events within ``event_limit``), every JSON attribute
    valid; returns how many JSON attributes were decoded."""
    decoded = 0
    for span in spans:
        for key, value in span.attributes.items():
            for text in value if isinstance(value, (list, tuple)) else [value]:
                if isinstance(text, str):
                    assert len(text) <= limit, (span.name, key, len(text))
            if key in JSON_KEYS or (key.startswith(sc.SENTRIAL_METADATA_PREFIX) and str(value)[:1] == "{"):
                json.loads(value)
                decoded += 1
        for event in span.events:
            for key, value in event.attributes.items():
                if isinstance(value, str) and event_limit is not None:
                    assert len(value) <= event_limit, (span.name, event.name, key, len(value))
    return decoded


@pytest.mark.parametrize(
    ("env", "limit", "event_limit"),
    [
        ({"OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT": "1000"}, 1000, 1000),
        ({"OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT": "300"}, 300, None),
        ({"OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT": "2000", "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT": "500"},
         500, 2000),
    ],
    ids=["global-1000", "span-300", "span-500-events-2000"],
)
def test_value_length_limit_keeps_every_json_attribute_valid(tmp_path, env, limit, event_limit):
    spans, stderr = _exported(VALUE_LENGTH_SCRIPT, env, 5, tmp_path)

    assert stderr.strip() == "", "no SDK (or other) warning expected"
    assert sorted(s.name for s in spans) == [
        "chat gpt-4o", "decision agent", "execute_tool broken", "execute_tool search",
        "invoke_agent agent",
    ]
    decoded = _check_lengths_and_json(spans, limit, event_limit)
    # tool arguments and result, tool error, state (x2 per step), LLM and root messages,
    # system instructions, metadata object: all there and all valid.
    assert decoded >= 14
    by_name = {s.name: s for s in spans}
    for name in ("invoke_agent agent", "execute_tool search", "decision agent", "chat gpt-4o"):
        assert by_name[name].attributes[sc.SENTRIAL_CONTENT_TRUNCATED] is True, name
    arguments = json.loads(by_name["execute_tool search"].attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS])
    assert arguments["q"].startswith("é\"é\"")  # cut inside the string, not the document
    root = by_name["invoke_agent agent"]
    assert root.attributes[sc.GEN_AI_OPERATION_NAME] == "invoke_agent"
    assert root.status_code == "ERROR"


USER_PROVIDER_SCRIPT = """
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import SpanLimits, TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    import sentrial

    provider = TracerProvider(
        span_limits=SpanLimits(max_span_attributes=40, max_span_attribute_length=400)
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    client = sentrial.SentrialClient(tracer_provider=provider)
    big = "y" * 3000
    sid = client.create_session(name="n", agent_name="agent", user_id="u",
                                metadata={f"k{i}": i for i in range(60)})
    client.track_llm_call(sid, provider="openai", model="gpt-4o", input=big, output=big,
                          prompt_tokens=3, completion_tokens=2, metadata={f"x{i}": big for i in range(30)})
    client.complete_session(sid, custom_metrics={f"m{i}": i for i in range(30)}, user_input=big)
    provider.shutdown()
"""


def test_a_users_own_provider_and_its_span_limits_are_honoured(tmp_path):
    with OtlpReceiver(protocol="http/protobuf") as rx:
        # The application's own exporter, configured by the application's variable.
        done = run_script(
            USER_PROVIDER_SCRIPT,
            {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": rx.traces_endpoint, "SENTRIAL_HOME": str(tmp_path)},
        )
        assert done.returncode == 0, done.stderr
        spans, stderr = rx.wait_for_spans(2, timeout=15), done.stderr

    assert stderr.strip() == "", "no SDK (or other) warning expected"
    root = next(s for s in spans if s.is_root)
    llm = next(s for s in spans if s.name == "chat gpt-4o")
    for span in (root, llm):
        assert len(span.attributes) <= 40, span.name
        assert span.attributes[sc.GEN_AI_OPERATION_NAME], span.name
        assert span.attributes[sc.SENTRIAL_ATTRIBUTES_TRUNCATED] is True, span.name
        on_span = [k for k in span.attributes if k.startswith(USER_PREFIXES)]
        assert len(on_span) <= 40 - 32
    assert _check_lengths_and_json(spans, 400, None) >= 4
    # 400 characters cannot hold 80-odd entries: the overflow keeps what fits, valid JSON.
    kept = _user_keys(root)
    assert 8 < len(kept) < 90
    assert set(kept) <= (
        {f"{sc.SENTRIAL_METADATA_PREFIX}k{i}" for i in range(60)}
        | {f"{sc.SENTRIAL_METRIC_PREFIX}m{i}" for i in range(30)}
        | {"…[truncated]"}
    )
    assert root.attributes[sc.SENTRIAL_CONTENT_TRUNCATED] is True
    assert llm.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 3


BAD_METADATA_SCRIPT = """
    import sys
    import sentrial

    class Unprintable:
        def __str__(self): raise RuntimeError("no str")
        def __repr__(self): raise RuntimeError("no repr")
        def __hash__(self): return 1

    strict = sys.argv[1] == "strict"
    sentrial.configure(fail_silently=not strict)
    metadata = {Unprintable(): 1, "value": Unprintable(), 7: "seven", "k" * 500: "long",
                "huge": "h" * 100_000, "fine": "ok"}
    try:
        interaction = sentrial.begin(user_id="u", event="support", input="hi", metadata=metadata)
    except TypeError as error:
        print("raised:", error)
    else:
        interaction.finish(output="bye")
        print("degraded:", interaction.degraded)
"""


@pytest.mark.parametrize("mode", ["lenient", "strict"])
def test_bad_metadata_keeps_the_session_with_one_warning_per_problem(tmp_path, mode):
    script = BAD_METADATA_SCRIPT.replace("sys.argv[1]", repr(mode))
    with OtlpReceiver(protocol="http/protobuf") as rx:
        done = run_script(
            script, {"OTEL_EXPORTER_OTLP_ENDPOINT": rx.endpoint, "SENTRIAL_HOME": str(tmp_path)}
        )
        assert done.returncode == 0, done.stderr
        if mode == "strict":
            assert done.stdout.startswith("raised: metadata has 1 key(s) that cannot be represented")
            return
        spans = rx.wait_for_spans(1, timeout=15)
    assert done.stdout.strip() == "degraded: False"
    lines = done.stderr.strip().splitlines()
    assert all(line.startswith("sentrial: ") for line in lines), lines
    assert len(lines) == 5, lines  # unreadable key, non-str key, long key, unreadable value, cut value
    root = spans[0]
    meta = {k[len(sc.SENTRIAL_METADATA_PREFIX):]: v for k, v in root.attributes.items()
            if k.startswith(sc.SENTRIAL_METADATA_PREFIX)}
    assert meta["<unrepresentable key 0>"] == 1
    assert json.loads(meta["value"]) == "<unrepresentable Unprintable>"  # an object: as JSON
    assert meta["7"] == "seven"
    assert meta["k" * 128] == "long"
    assert meta["fine"] == "ok"
    assert len(meta["huge"]) < 17 * 1024
    assert root.attributes[sc.SENTRIAL_CONTENT_TRUNCATED] is True
    assert root.attributes[sc.GEN_AI_AGENT_NAME] == "support"
