"""The ``openinference`` dialect: the keys Arize Phoenix (and Langfuse) read, on every span
kind we write, from the content already on the span; nothing when it is off; never a
second token count. (tests/test_phoenix.py shows what Phoenix does with them.)"""

from __future__ import annotations

import json
import logging

import pytest

import sentrial
import sentrial_otel
from sentrial_otel import semconv as sc
from sentrial_otel.config import resolve_dialects

OI_KEYS = (sc.OI_SPAN_KIND, sc.OI_INPUT_VALUE, sc.OI_INPUT_MIME_TYPE, sc.OI_OUTPUT_VALUE, sc.OI_OUTPUT_MIME_TYPE)


def oi(span) -> dict:
    return {key: span.attributes[key] for key in OI_KEYS if key in span.attributes}


def run_support_session(client: sentrial.SentrialClient) -> None:
    interaction = client.begin(user_id="u-1", event="support", input="How do I reset?", convo_id="c-1")
    interaction.track_tool_call("kb_search", {"query": "reset"}, {"articles": ["KB-1"]})
    interaction.track_decision("answer from the KB", alternatives=["escalate"], confidence=0.9)
    client.track_llm_call(
        interaction.session_id, provider="openai", model="gpt-4o", input="How do I reset?",
        output="Use the reset link.", prompt_tokens=1000, completion_tokens=100,
    )
    interaction.finish(output="Use the reset link.")


def test_every_facade_span_gets_its_kind_input_and_output(spans, monkeypatch):
    monkeypatch.setenv("SENTRIAL_DIALECTS", "openinference")
    run_support_session(sentrial.SentrialClient(fail_silently=False))
    assert oi(spans.one("invoke_agent support")) == {
        sc.OI_SPAN_KIND: "AGENT",
        sc.OI_INPUT_VALUE: "How do I reset?", sc.OI_INPUT_MIME_TYPE: "text/plain",
        sc.OI_OUTPUT_VALUE: "Use the reset link.", sc.OI_OUTPUT_MIME_TYPE: "text/plain",
    }
    assert oi(spans.one("execute_tool kb_search")) == {
        sc.OI_SPAN_KIND: "TOOL",
        sc.OI_INPUT_VALUE: '{"query":"reset"}', sc.OI_INPUT_MIME_TYPE: "application/json",
        sc.OI_OUTPUT_VALUE: '{"articles":["KB-1"]}', sc.OI_OUTPUT_MIME_TYPE: "application/json",
    }
    decision = oi(spans.one("decision support"))
    assert decision[sc.OI_SPAN_KIND] == "CHAIN"
    assert json.loads(decision[sc.OI_INPUT_VALUE]) == ["escalate"]
    assert decision[sc.OI_OUTPUT_VALUE] == "answer from the KB"
    assert decision[sc.OI_OUTPUT_MIME_TYPE] == "text/plain"
    chat = spans.one("chat gpt-4o")
    assert oi(chat)[sc.OI_SPAN_KIND] == "LLM"
    # An LLM call's messages stay in the GenAI parts schema, as JSON.
    assert oi(chat)[sc.OI_INPUT_VALUE] == chat.attributes[sc.GEN_AI_INPUT_MESSAGES]
    assert oi(chat)[sc.OI_OUTPUT_VALUE] == chat.attributes[sc.GEN_AI_OUTPUT_MESSAGES]


def test_no_token_count_of_its_own_and_none_on_the_root(spans, monkeypatch):
    """Phoenix reads gen_ai.usage.* itself; a second key per count would double its totals."""
    monkeypatch.setenv("SENTRIAL_DIALECTS", "openinference")
    run_support_session(sentrial.SentrialClient(fail_silently=False))
    for span in spans.all():
        assert not [key for key in span.attributes if key.startswith("llm.")], span.name
    root = spans.one("invoke_agent support")
    assert not [key for key in root.attributes if key.startswith("gen_ai.usage.")]
    # Our LLM span now says openinference.span.kind=LLM, the mark of another
    # instrumentation's call that the session's roll-up counts: it still counts once.
    assert root.attributes[sc.SENTRIAL_SESSION_INPUT_TOKENS] == 1000
    assert root.attributes[sc.SENTRIAL_SESSION_OUTPUT_TOKENS] == 100


def test_a_timed_tool_and_llm_call_of_the_native_api(spans):
    telemetry = sentrial_otel.configure(fail_silently=False, dialects=["openinference"])
    with telemetry.session("research", input="find papers") as session:
        with session.tool("search", {"q": "otel"}) as call:
            call.result = ["paper-1"]
        with session.llm("gpt-4o-mini", "openai") as llm:
            llm.finish("two papers", prompt_tokens=20, completion_tokens=4)
        with pytest.raises(ZeroDivisionError):
            with session.tool("divide", {"a": 1}):
                1 / 0  # noqa: B018
    tool = oi(spans.one("execute_tool search"))
    assert tool[sc.OI_INPUT_VALUE] == '{"q":"otel"}'
    assert tool[sc.OI_OUTPUT_VALUE] == '{"result":["paper-1"]}'
    assert oi(spans.one("chat gpt-4o-mini"))[sc.OI_SPAN_KIND] == "LLM"
    failed = oi(spans.one("execute_tool divide"))
    assert failed[sc.OI_SPAN_KIND] == "TOOL" and sc.OI_OUTPUT_VALUE not in failed
    root = oi(spans.one("invoke_agent research"))
    assert root[sc.OI_INPUT_VALUE] == "find papers" and sc.OI_OUTPUT_VALUE not in root


def test_content_capture_off_leaves_only_the_kinds(spans, monkeypatch):
    monkeypatch.setenv("SENTRIAL_DIALECTS", "openinference")
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "NO_CONTENT")
    run_support_session(sentrial.SentrialClient(fail_silently=False))
    kinds = {span.name.split()[0]: oi(span) for span in spans.all()}
    assert kinds == {
        "invoke_agent": {sc.OI_SPAN_KIND: "AGENT"},
        "execute_tool": {sc.OI_SPAN_KIND: "TOOL"},
        "decision": {sc.OI_SPAN_KIND: "CHAIN"},
        "chat": {sc.OI_SPAN_KIND: "LLM"},
    }


def test_the_client_takes_the_dialect_as_an_argument(spans):
    run_support_session(sentrial.SentrialClient(fail_silently=False, dialects="openinference"))
    assert oi(spans.one("invoke_agent support"))[sc.OI_SPAN_KIND] == "AGENT"
    assert oi(spans.one("chat gpt-4o"))[sc.OI_SPAN_KIND] == "LLM"


def test_off_by_default(spans):
    run_support_session(sentrial.SentrialClient(fail_silently=False))
    assert all(not oi(span) for span in spans.all())


def test_unknown_dialects_are_dropped_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="sentrial"):
        assert resolve_dialects("OpenInference, klingon") == frozenset({"openinference"})
    assert "unknown dialect(s) klingon ignored" in caplog.text
    assert resolve_dialects("") == frozenset()
