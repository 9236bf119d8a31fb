"""A chat history repeated by every call of one run tree: each prompt's attributes are what
the whole prompt encodes to, whether its messages were seen by an earlier call or not,
changed in place since, or hold something to redact or cut."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage, ToolMessage
from langchain_core.runnables import RunnableLambda

from sentrial_otel import semconv as sc
from sentrial_otel._internal.content.policy import ContentPolicy
from sentrial_otel._internal.spans.attributes import as_messages
from sentrial_otel.instrumentation.langchain._messages import message_parts
from tests.langchain import fakes
from tests.langchain.conftest import Spans, attrs

SYSTEM = "You are terse."


def _model(replies: int) -> fakes.ScriptedChatModel:
    return fakes.ScriptedChatModel(
        [fakes.tool_call_message("get_weather", {"city": "Paris"}, f"call_{i}", (5, 2)) for i in range(replies - 1)]
        + [fakes.answer_message("Sunny.", (9, 2))]
    )


def _expected(prompt: list[Any]) -> dict[str, str]:
    """The two attributes of one prompt, encoded whole (what the engine writes)."""
    policy = ContentPolicy()
    converted = [message_parts(m) for m in prompt]
    system = [part for m in converted if m["role"] == sc.ROLE_SYSTEM for part in m["parts"]]
    others = [m for m in converted if m["role"] != sc.ROLE_SYSTEM]
    out = {sc.GEN_AI_INPUT_MESSAGES: policy.json("llm_input", as_messages(others, sc.ROLE_USER)).value}
    if system:
        out[sc.GEN_AI_SYSTEM_INSTRUCTIONS] = policy.json("llm_input", system).value
    return out


def _prompt_attributes(span: Any) -> dict[str, str]:
    keys = (sc.GEN_AI_INPUT_MESSAGES, sc.GEN_AI_SYSTEM_INSTRUCTIONS)
    return {key: value for key, value in attrs(span).items() if key in keys}


def _loop(edit: Any = None, turns: int = 3) -> tuple[RunnableLambda, list[list[Any]]]:
    """An agent loop as a RunnableLambda; ``edit(messages, turn)`` may change the history
    between calls. Returns the chain and, once run, a copy of each prompt as sent."""
    model = _model(turns)
    prompts: list[list[Any]] = []

    def agent(question: str) -> str:
        messages: list[Any] = [SystemMessage(SYSTEM), HumanMessage(question)]
        for turn in range(turns):
            if edit is not None:
                edit(messages, turn)
            prompts.append([m.model_copy(deep=True) for m in messages])
            reply = model.invoke(messages)
            if not reply.tool_calls:
                return str(reply.content)
            messages += [reply, ToolMessage("sunny", tool_call_id=reply.tool_calls[0]["id"])]
        return ""

    return RunnableLambda(agent, name="loop_agent"), prompts


def test_every_prompt_of_a_loop_is_the_whole_history_encoded(instrumentor: Any, lc_spans: Spans) -> None:
    chain, prompts = _loop()
    assert chain.invoke("weather in Paris?") == "Sunny."
    chats = sorted(lc_spans.named(f"chat {fakes.MODEL}"), key=lambda s: s.start_time)
    assert [_prompt_attributes(span) for span in chats] == [_expected(p) for p in prompts]
    assert [len(p) for p in prompts] == [2, 4, 6]


def test_a_message_changed_in_place_is_encoded_again(instrumentor: Any, lc_spans: Spans) -> None:
    def edit(messages: list[Any], turn: int) -> None:
        if turn == 1:
            messages[1].content = "weather in Lyon?"  # the same object, new content
        if turn == 2:
            messages[0] = SystemMessage("Be verbose.")  # a new object in the old one's place
            messages[2].tool_calls[0]["args"]["city"] = "Lyon"  # changed deep inside
            messages[3].tool_call_id = "call_renamed"  # a tool result's other field

    chain, prompts = _loop(edit)
    chain.invoke("weather in Paris?")
    chats = sorted(lc_spans.named(f"chat {fakes.MODEL}"), key=lambda s: s.start_time)
    got = [_prompt_attributes(span) for span in chats]
    assert got == [_expected(p) for p in prompts]
    assert "Lyon" in got[1][sc.GEN_AI_INPUT_MESSAGES] and "Paris?" not in got[1][sc.GEN_AI_INPUT_MESSAGES]
    assert '"arguments":{"city":"Lyon"}' in got[2][sc.GEN_AI_INPUT_MESSAGES]
    assert "verbose" in got[2][sc.GEN_AI_SYSTEM_INSTRUCTIONS]
    assert '"id":"call_renamed"' in got[2][sc.GEN_AI_INPUT_MESSAGES]


def test_a_secret_in_the_history_is_redacted_in_every_prompt(instrumentor: Any, lc_spans: Spans) -> None:
    secret = "sk-" + "a1B2" * 8

    def edit(messages: list[Any], turn: int) -> None:
        if turn == 0:
            messages.append(HumanMessage(f"my key is {secret}"))

    chain, prompts = _loop(edit)
    chain.invoke("weather in Paris?")
    chats = lc_spans.named(f"chat {fakes.MODEL}")
    assert len(chats) == 3
    for span in chats:
        assert secret not in attrs(span)[sc.GEN_AI_INPUT_MESSAGES]
    got = sorted((_prompt_attributes(s) for s in chats), key=lambda a: len(a[sc.GEN_AI_INPUT_MESSAGES]))
    assert got == [_expected(p) for p in prompts]


def test_a_long_history_is_cut_as_one_value(lc_exporter: Any) -> None:
    """Under a value length limit each prompt still fits it, cut inside, as when encoded whole."""
    from opentelemetry.sdk.trace import SpanLimits, TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    from sentrial_otel._internal.spans.limits import limits_of
    from tests.langchain.conftest import instrumented

    provider = TracerProvider(span_limits=SpanLimits(max_span_attribute_length=500))
    provider.add_span_processor(SimpleSpanProcessor(lc_exporter))

    def edit(messages: list[Any], turn: int) -> None:
        messages.append(HumanMessage("x" * 150))

    try:
        with instrumented(provider, capture_content=True):
            chain, prompts = _loop(edit)
            chain.invoke("weather in Paris?")
    finally:
        provider.shutdown()
    chats = sorted(Spans(lc_exporter).named(f"chat {fakes.MODEL}"), key=lambda s: s.start_time)
    policy = ContentPolicy(limits=limits_of(provider))
    for span, prompt in zip(chats, prompts, strict=True):
        others = [message_parts(m) for m in prompt if m.type != "system"]
        encoded = policy.json("llm_input", others)
        assert attrs(span)[sc.GEN_AI_INPUT_MESSAGES] == encoded.value
        assert len(encoded.value) <= 500
        assert attrs(span).get(sc.SENTRIAL_CONTENT_TRUNCATED, False) is encoded.truncated
    assert attrs(chats[-1])[sc.SENTRIAL_CONTENT_TRUNCATED] is True
