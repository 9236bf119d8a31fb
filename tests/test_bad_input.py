"""Bad input: repaired with a warning by default (nothing else lost), a clear error in strict mode."""

from __future__ import annotations

import json
import logging
import math
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sentrial
from sentrial_otel import semconv as sc


class Unserialisable:
    __slots__ = ()


def _cyclic() -> dict:
    value: dict = {"k": 1}
    value["self"] = value
    return value


BAD_PAYLOADS = [
    Unserialisable(),
    _cyclic(),
    b"\xff\x00bytes",
    {1, 2, 3},
    "x" * 3_000_000,
    {"nan": math.nan, "inf": math.inf},
    "lone \ud800 surrogate",
    None,
    [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],
]


def _check_span_attributes(span) -> None:
    for key, value in span.attributes.items():
        if isinstance(value, str):
            assert len(value) <= 16 * 16 * 1024 + 1024, key
            value.encode("utf-8")
            if key in sc.CONTENT_KEYS and key not in (
                sc.SENTRIAL_TOOL_REASONING, sc.SENTRIAL_DECISION_REASONING, sc.SENTRIAL_DECISION_CHOSEN
            ):
                json.loads(value)


@pytest.mark.parametrize("payload", BAD_PAYLOADS, ids=lambda p: type(p).__name__)
def test_default_mode_repairs_bad_payloads(spans, payload):
    client = sentrial.SentrialClient()
    session_id = client.create_session(name=payload, agent_name="a", user_id="u", metadata={"m": payload})
    client.track_tool_call(session_id, "t", payload, payload, reasoning=payload, estimated_cost=math.nan,
                           token_count=-5, metadata={"m": payload})
    client.track_decision(session_id, payload, alternatives=payload, confidence=1.5)
    client.track_error(session_id, payload, error_type=payload)
    client.track_llm_call(session_id, provider=None, model=payload, input=payload, output=payload,
                          prompt_tokens=-1, completion_tokens=math.inf)
    result = client.complete_session(session_id, estimated_cost=math.inf, custom_metrics={"x": "nope"},
                                     user_input=payload, assistant_output=payload, duration_ms=-3)
    assert result["session_id"] == session_id
    names = sorted(span.name for span in spans.all())
    assert len(names) == 4
    assert names[0].startswith("chat ") and len(names[0]) <= 5 + 256
    assert names[1:] == ["decision a", "execute_tool t", "invoke_agent a"]
    for span in spans.all():
        _check_span_attributes(span)
    root = spans.one("invoke_agent a")
    assert root.attributes[sc.SENTRIAL_SESSION_SUCCESS] is True
    decision = spans.one("decision a")
    # Out-of-range confidence is dropped, the rest of the decision kept.
    assert sc.SENTRIAL_DECISION_CONFIDENCE not in decision.attributes
    assert sc.SENTRIAL_SPAN_KIND in decision.attributes


def test_truncation_marks_the_span(spans):
    client = sentrial.SentrialClient()
    session_id = client.create_session(name="n", agent_name="a", user_id="u")
    client.track_tool_call(session_id, "t", {"doc": "y" * 100_000, "keep": "small"}, None)
    tool = spans.one("execute_tool t")
    arguments = json.loads(tool.attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS])
    assert arguments["keep"] == "small"
    assert len(arguments["doc"]) < 17 * 1024
    assert tool.attributes[sc.SENTRIAL_CONTENT_TRUNCATED] is True


def test_warnings_are_logged_once_per_problem(spans, caplog):
    client = sentrial.SentrialClient()
    session_id = client.create_session(name="n", agent_name="a", user_id="u")
    for _ in range(20):
        client.track_decision(session_id, "r", confidence=7)
    messages = [r.getMessage() for r in caplog.records if "confidence" in r.getMessage()]
    assert len(messages) == 1
    assert "confidence must be a number in [0, 1], got 7" in messages[0]


STRICT_CASES = [
    (lambda c, s: c.track_decision(s, "r", confidence=1.5), ValueError, "confidence"),
    (lambda c, s: c.track_decision(s, "r", confidence="high"), TypeError, "confidence"),
    (lambda c, s: c.track_tool_call(s, None, {}, {}), ValueError, "tool_name"),
    (lambda c, s: c.track_tool_call(s, 42, {}, {}), TypeError, "tool_name"),
    (lambda c, s: c.track_tool_call(s, "t", {}, {}, estimated_cost=math.nan), ValueError, "estimated_cost"),
    (lambda c, s: c.track_tool_call(s, "t", {}, {}, token_count=-1), ValueError, "token_count"),
    (lambda c, s: c.track_tool_call(s, "t", {}, {}, metadata="x"), TypeError, "metadata"),
    (lambda c, s: c.track_llm_call(s, model=None), ValueError, "model"),
    (lambda c, s: c.track_llm_call(s, model="m", prompt_tokens=-3), ValueError, "prompt_tokens"),
    (lambda c, s: c.complete_session(s, custom_metrics={"k": "v"}), TypeError, "custom_metrics"),
    (lambda c, s: c.complete_session(s, success="yes"), TypeError, "success"),
    (lambda c, s: c.complete_session(s, duration_ms=-1), ValueError, "duration_ms"),
    (lambda c, s: c.create_session(name="n", agent_name=None, user_id="u"), ValueError, "agent_name"),
    (lambda c, s: c.create_session(name="n", agent_name="a", user_id=None), ValueError, "user_id"),
    (lambda c, s: c.track_tool_call(None, "t", {}, {}), TypeError, "session_id"),
    (lambda c, s: c.complete_session("not-open"), ValueError, "not open"),
    (lambda c, s: sentrial.SentrialClient(pii="yes", fail_silently=c.fail_silently), TypeError, "pii"),
]


@pytest.mark.parametrize(("call", "error", "mentions"), STRICT_CASES)
def test_strict_mode_raises_clear_errors(spans, call, error, mentions):
    client = sentrial.SentrialClient(fail_silently=False)
    session_id = client.create_session(name="n", agent_name="a", user_id="u")
    with pytest.raises(error, match=mentions):
        call(client, session_id)


@pytest.mark.parametrize(("call", "error", "mentions"), STRICT_CASES)
def test_default_mode_never_raises_the_same_calls(spans, caplog, call, error, mentions):
    """No exception: one warning naming the argument, and the session is still recorded."""
    client = sentrial.SentrialClient()
    session_id = client.create_session(name="n", agent_name="a", user_id="u")
    caplog.clear()
    call(client, session_id)

    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and re.search(mentions, warnings[0]), warnings
    if client.telemetry.open_session(session_id) is not None:
        client.complete_session(session_id)
    assert spans.one("invoke_agent a").attributes[sc.SENTRIAL_SESSION_ID] == session_id


anything = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=4), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=anything, tool_input=anything, tool_output=anything, reasoning=anything, cost=anything,
    tokens=anything, alternatives=anything, confidence=anything, metadata=anything,
)
def test_generated_inputs_never_raise_and_stay_valid(
    spans, name, tool_input, tool_output, reasoning, cost, tokens, alternatives, confidence, metadata
):
    spans.exporter.clear()
    client = sentrial.SentrialClient()
    session_id = client.create_session(name=name, agent_name=name, user_id=name, metadata=metadata)
    client.track_tool_call(session_id, name, tool_input, tool_output, reasoning, cost, None, tokens,
                           metadata=metadata)
    client.track_decision(session_id, reasoning, alternatives, confidence, cost, tokens, metadata=metadata)
    client.track_llm_call(session_id, provider=name, model=name, input=tool_input, output=tool_output,
                          prompt_tokens=tokens, completion_tokens=tokens, estimated_cost=cost)
    client.track_error(session_id, reasoning, error_type=name)
    client.complete_session(session_id, estimated_cost=cost, custom_metrics=metadata,
                            prompt_tokens=tokens, assistant_output=tool_output)
    finished = spans.all()
    assert len(finished) == 4
    roots = [s for s in finished if s.parent is None]
    assert len(roots) == 1
    for span in finished:
        _check_span_attributes(span)
        assert span.attributes[sc.SENTRIAL_SESSION_ID] == session_id


def test_raised_recursion_limit_with_deep_or_cyclic_input_does_not_crash(tmp_path):
    """json's C encoder and decoder and the built-in repr recurse in C, guarded only by the
    recursion limit: with the limit raised far, a cycle or a very deep value used to overflow
    the C stack and kill the process (a segfault no try/except sees)."""
    import subprocess
    import sys
    import textwrap
    from pathlib import Path

    code = textwrap.dedent(
        """
        import json, sys
        sys.setrecursionlimit(10**6)
        import sentrial
        client = sentrial.SentrialClient()
        sid = client.create_session(name="deep", agent_name="agent", user_id="u")
        cyclic = {}
        cyclic["self"] = cyclic
        deep = inner = []
        for _ in range(300_000):
            inner.append([])
            inner = inner[0]
        result = client.track_tool_call(sid, "t", cyclic, deep, reasoning='{"a":' * 200_000)
        client.complete_session(sid)
        print(json.dumps(sorted(result)))
        """
    )
    src = str(Path(__file__).resolve().parents[1] / "src")
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": src, "SENTRIAL_HOME": str(tmp_path)},
        check=False,
    )
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert "span_id" in done.stdout
