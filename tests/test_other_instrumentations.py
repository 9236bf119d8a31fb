"""Other instrumentations' LLM spans inside a session (SEMCONV.md "Spans of other
instrumentations inside a session"): counted in the session's totals, once.

Real parts: the real ``openai`` client instrumented by the real
``opentelemetry-instrumentation-openai-v2`` (or OpenInference's), talking to an OpenAI-compatible server of the
tests on 127.0.0.1 (``tests/support/fake_openai.py``: 1,000 input and 100 output tokens per
call, model ``gpt-4o-2024-08-06``); LangChain agents built with ``create_agent`` and
``langchain-openai``'s ``ChatOpenAI`` pointed at the same server; OpenInference-shaped spans
made with the plain OpenTelemetry API.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from click.testing import CliRunner
from opentelemetry import trace
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

import sentrial
import sentrial_otel
from sentrial_otel import semconv as sc
from sentrial_otel.cli import main
from sentrial_otel.instrumentation.langchain import LangChainInstrumentor
from sentrial_otel.store import LocalStoreExporter
from tests.support.fake_openai import (
    INPUT_TOKENS,
    OUTPUT_TOKENS,
    RESPONSE_MODEL,
    FakeOpenAI,
)

OPENAI_V2_SCOPE = "opentelemetry.util.genai.handler"  # openai-v2 2.4b0 records through it
GPT_4O_CALL_USD = (INPUT_TOKENS * 2.50 + OUTPUT_TOKENS * 10.0) / 1e6  # 0.0035
MESSAGES = [{"role": "user", "content": "What is the answer?"}]


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(tool_arguments={"city": "Paris"}) as fake:
        yield fake


@pytest.fixture
def metrics() -> InMemoryMetricReader:
    return InMemoryMetricReader()


@pytest.fixture
def meter_provider(metrics: InMemoryMetricReader) -> Iterator[MeterProvider]:
    provider = MeterProvider(metric_readers=[metrics])
    yield provider
    provider.shutdown()


@contextlib.contextmanager
def openai_v2(tracer_provider: Any, meter_provider: Any = None) -> Iterator[None]:
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    try:
        yield
    finally:
        instrumentor.uninstrument()


@pytest.fixture
def telemetry(meter_provider: MeterProvider) -> sentrial_otel.Telemetry:
    return sentrial_otel.configure(fail_silently=False, meter_provider=meter_provider)


def client_for(server: FakeOpenAI) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="test-key", max_retries=0)


def inference_spans(spans: Any) -> list[ReadableSpan]:
    return [s for s in spans.all() if s.attributes.get(sc.GEN_AI_OPERATION_NAME) == sc.OP_CHAT]


def metric_sum(reader: InMemoryMetricReader, name: str, **attributes: Any) -> float:
    data = reader.get_metrics_data()
    total = 0.0
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name != name:
                    continue
                for point in metric.data.data_points:
                    if all(point.attributes.get(k) == v for k, v in attributes.items()):
                        total += getattr(point, "sum", None) or getattr(point, "value", 0)
    return total


OPENINFERENCE_LLM = {sc.OI_SPAN_KIND: sc.OI_KIND_LLM}
GENAI_CHAT = {sc.GEN_AI_OPERATION_NAME: sc.OP_CHAT}


def foreign_call(tracer: trace.Tracer, name: str, kind: dict[str, Any], **attributes: Any) -> None:
    """A span as another instrumentation makes one: its kind at the start, the rest later."""
    with tracer.start_as_current_span(name, attributes=kind) as span:
        span.set_attributes(attributes)


def assert_totals(root: ReadableSpan, calls: int) -> None:
    attributes = root.attributes
    assert attributes[sc.SENTRIAL_SESSION_INPUT_TOKENS] == calls * INPUT_TOKENS
    assert attributes[sc.SENTRIAL_SESSION_OUTPUT_TOKENS] == calls * OUTPUT_TOKENS
    assert attributes[sc.SENTRIAL_SESSION_TOTAL_TOKENS] == calls * (INPUT_TOKENS + OUTPUT_TOKENS)
    assert attributes[sc.SENTRIAL_SESSION_COST_USD] == pytest.approx(calls * GPT_4O_CALL_USD)
    # The usage is on the LLM spans; the root keeps to sentrial.* (or backends count twice).
    assert sc.GEN_AI_USAGE_INPUT_TOKENS not in attributes


# --- §1: the provider's spans count in the session ----------------------------------------------
def test_native_session_counts_openai_v2_calls_sync_streamed_and_async(
    telemetry, spans, provider, server, metrics
):
    with openai_v2(provider):
        client = client_for(server)
        with telemetry.session("support-agent") as session:
            reply = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
            stream = client.chat.completions.create(
                model="gpt-4o", messages=MESSAGES, stream=True,
                stream_options={"include_usage": True},
            )
            streamed = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

            async def call_async() -> None:
                async_client = openai.AsyncOpenAI(
                    base_url=server.base_url, api_key="test-key", max_retries=0
                )
                await async_client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
                await async_client.close()

            asyncio.run(call_async())
        result = session.finish()  # already finished by the with-block: {}
    assert reply.choices[0].message.content == streamed == "The answer is 42."
    root = spans.one("invoke_agent support-agent")
    chats = inference_spans(spans)
    assert len(chats) == 3
    for chat in chats:
        assert chat.instrumentation_scope.name == OPENAI_V2_SCOPE
        assert chat.parent.span_id == root.context.span_id
        assert chat.attributes[sc.SENTRIAL_SESSION_ID] == session.session_id  # stamped
        assert chat.attributes[sc.GEN_AI_RESPONSE_MODEL] == RESPONSE_MODEL
    assert server.requests[1]["stream_options"] == {"include_usage": True}
    assert_totals(root, calls=3)
    assert result == {}
    # The session's cost metric has them too.
    assert metric_sum(metrics, sc.METRIC_COST) == pytest.approx(3 * GPT_4O_CALL_USD)


def test_a_stream_without_usage_is_a_call_with_no_tokens(telemetry, spans, provider, server):
    with openai_v2(provider):
        with telemetry.session("agent") as session:
            for _ in client_for(server).chat.completions.create(
                model="gpt-4o", messages=MESSAGES, stream=True
            ):
                pass
            assert session.totals.sums().llm_calls == 1
    root = spans.one("invoke_agent agent")
    assert root.attributes[sc.SENTRIAL_SESSION_TOTAL_TOKENS] == 0
    assert root.attributes[sc.SENTRIAL_SESSION_COST_USD] == 0.0


def test_facade_session_counts_openai_v2_calls(spans, provider, server):
    sentrial.configure(api_key="k", fail_silently=False)
    with openai_v2(provider):
        interaction = sentrial.begin(user_id="user_1", event="chat_message", input="question")
        client_for(server).chat.completions.create(model="gpt-4o", messages=MESSAGES)
        result = interaction.finish(output="The answer is 42.")
        with sentrial.SessionContext(user_id="user_2", agent="support") as context:
            client_for(server).chat.completions.create(model="gpt-4o", messages=MESSAGES)
            context.set_output("The answer is 42.")
    assert_totals(spans.one("invoke_agent chat_message"), calls=1)
    assert result["prompt_tokens"] == INPUT_TOKENS
    assert result["estimated_cost"] == pytest.approx(GPT_4O_CALL_USD)
    assert_totals(spans.one("invoke_agent support"), calls=1)


def test_a_timed_llm_call_around_an_instrumented_client_counts_once(
    telemetry, spans, provider, server, metrics, meter_provider
):
    with openai_v2(provider, meter_provider):
        client = client_for(server)
        with telemetry.session("agent"):
            with telemetry.current_session().llm("gpt-4o", "openai") as call:
                client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
                call.finish("The answer is 42.")  # no usage given: the provider's span has it
            with telemetry.current_session().llm("gpt-4o", "openai") as call:
                client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
                call.finish("The answer is 42.", prompt_tokens=INPUT_TOKENS,
                            completion_tokens=OUTPUT_TOKENS)
    chats = inference_spans(spans)
    ours = [s for s in chats if s.instrumentation_scope.name.startswith("sentrial_otel")]
    theirs = [s for s in chats if s.instrumentation_scope.name == OPENAI_V2_SCOPE]
    assert len(ours) == len(theirs) == 2
    for mine, child in zip(ours, sorted(theirs, key=lambda s: s.start_time)):
        assert child.parent.span_id == mine.context.span_id
        assert mine.attributes[sc.SENTRIAL_USAGE_ON_CHILD] is True
        assert sc.GEN_AI_USAGE_INPUT_TOKENS not in mine.attributes
    assert_totals(spans.one("invoke_agent agent"), calls=2)
    token_usage = metric_sum(metrics, sc.METRIC_TOKEN_USAGE, **{sc.GEN_AI_TOKEN_TYPE: "input"})
    assert token_usage == 2 * INPUT_TOKENS  # the provider's records only


def test_openinference_llm_spans_count_priced_or_with_their_own_cost(telemetry, spans):
    tracer = trace.get_tracer("openinference.instrumentation.anthropic")
    with telemetry.session("agent"):
        foreign_call(tracer, "Messages", OPENINFERENCE_LLM, **{
            sc.LLM_MODEL_NAME: "claude-3-5-haiku-20241022", sc.LLM_PROVIDER: "anthropic",
            sc.LLM_TOKEN_COUNT_PROMPT: 500, sc.LLM_TOKEN_COUNT_COMPLETION: 50,
        })
        foreign_call(tracer, "Messages", OPENINFERENCE_LLM, **{
            sc.LLM_MODEL_NAME: "my-own-model", sc.LLM_TOKEN_COUNT_PROMPT: 10,
            sc.LLM_TOKEN_COUNT_COMPLETION: 5, sc.LLM_COST_TOTAL: 0.25,
        })
        # Not a model call: an OpenInference chain span with token counts is left alone.
        foreign_call(tracer, "chain", {sc.OI_SPAN_KIND: "CHAIN"},
                     **{sc.LLM_TOKEN_COUNT_PROMPT: 7000})
    root = spans.one("invoke_agent agent")
    assert root.attributes[sc.SENTRIAL_SESSION_INPUT_TOKENS] == 510
    assert root.attributes[sc.SENTRIAL_SESSION_OUTPUT_TOKENS] == 55
    haiku = (500 * 0.80 + 50 * 4.0) / 1e6
    assert root.attributes[sc.SENTRIAL_SESSION_COST_USD] == pytest.approx(haiku + 0.25)


def test_cache_and_reasoning_tokens_of_other_spans_reach_the_totals_and_the_price(
    telemetry, spans
):
    # As opentelemetry-instrumentation-genai-openai 1.3b0 reports a cached, reasoning call
    # (GenAI keys), and OpenInference the same call (its keys): each counted as one call.
    genai = trace.get_tracer("opentelemetry.instrumentation.genai.openai")
    openinference = trace.get_tracer("openinference.instrumentation.openai")
    with telemetry.session("agent"):
        foreign_call(genai, "chat gpt-4o", GENAI_CHAT, **{
            sc.GEN_AI_RESPONSE_MODEL: RESPONSE_MODEL, sc.GEN_AI_PROVIDER_NAME: "openai",
            sc.GEN_AI_USAGE_INPUT_TOKENS: 1000, sc.GEN_AI_USAGE_OUTPUT_TOKENS: 100,
            sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 200,
            sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: 30,
        })
        foreign_call(openinference, "ChatCompletion", OPENINFERENCE_LLM, **{
            sc.LLM_MODEL_NAME: RESPONSE_MODEL, sc.LLM_TOKEN_COUNT_PROMPT: 1000,
            sc.LLM_TOKEN_COUNT_COMPLETION: 100, sc.LLM_TOKEN_COUNT_CACHE_READ: 200,
            sc.LLM_TOKEN_COUNT_REASONING: 30,
        })
    root = spans.one("invoke_agent agent").attributes
    assert root[sc.SESSION_USAGE_PREFIX + sc.USAGE_CACHE_READ] == 2 * 200
    assert root[sc.SESSION_USAGE_PREFIX + sc.USAGE_REASONING] == 2 * 30
    assert root[sc.SENTRIAL_SESSION_INPUT_TOKENS] == 2 * 1000
    # gpt-4o: 800 input at $2.50/M, 200 cached at $1.25/M, 100 output at $10/M.
    assert root[sc.SENTRIAL_SESSION_COST_USD] == pytest.approx(2 * (800 * 2.5 + 200 * 1.25 + 100 * 10) / 1e6)


def test_a_framework_span_around_the_provider_span_is_one_call(telemetry, spans, provider, server):
    framework = trace.get_tracer("some.agent.framework")
    with openai_v2(provider):
        with telemetry.session("agent"):
            with framework.start_as_current_span(
                "chat gpt-4o",
                attributes={sc.GEN_AI_OPERATION_NAME: sc.OP_CHAT, sc.GEN_AI_REQUEST_MODEL: "gpt-4o"},
            ):
                client_for(server).chat.completions.create(model="gpt-4o", messages=MESSAGES)
    assert len(inference_spans(spans)) == 2  # the framework's and the provider's
    assert_totals(spans.one("invoke_agent agent"), calls=1)  # the inner one's usage, once


def test_two_spans_of_one_response_count_once(telemetry, spans):
    tracers = [trace.get_tracer("anthropic.sdk"), trace.get_tracer("openllmetry.anthropic")]
    with telemetry.session("agent"):
        for tracer in tracers:  # siblings, as two instrumentations of one client make them
            foreign_call(tracer, "chat", GENAI_CHAT, **{
                sc.GEN_AI_RESPONSE_ID: "msg_01", sc.GEN_AI_RESPONSE_MODEL: "gpt-4o",
                sc.GEN_AI_USAGE_INPUT_TOKENS: INPUT_TOKENS,
                sc.GEN_AI_USAGE_OUTPUT_TOKENS: OUTPUT_TOKENS,
            })
    assert_totals(spans.one("invoke_agent agent"), calls=1)


def test_a_span_that_ends_after_its_session_does_not_change_it(telemetry, spans, caplog):
    tracer = trace.get_tracer("late.instrumentation")
    with telemetry.session("agent"):
        late = tracer.start_span("chat", attributes={sc.GEN_AI_OPERATION_NAME: sc.OP_CHAT})
    late.set_attribute(sc.GEN_AI_USAGE_INPUT_TOKENS, 5)
    with caplog.at_level(logging.DEBUG, logger="sentrial"):
        late.end()
    assert any("ended after its session" in r.getMessage() for r in caplog.records)
    root = spans.one("invoke_agent agent")
    assert root.attributes[sc.SENTRIAL_SESSION_TOTAL_TOKENS] == 0
    assert late.attributes[sc.SENTRIAL_SESSION_ID] == root.attributes[sc.SENTRIAL_SESSION_ID]


def test_store_summaries_and_cli_show_them(tmp_path: Path, server, meter_provider):
    store_provider = TracerProvider()
    store_provider.add_span_processor(SimpleSpanProcessor(LocalStoreExporter(tmp_path)))
    engine = sentrial_otel.Telemetry(tracer_provider=store_provider, meter_provider=meter_provider)
    tracer = store_provider.get_tracer("openinference.instrumentation.openai")
    with openai_v2(store_provider):
        with engine.session("support-agent"):
            client_for(server).chat.completions.create(model="gpt-4o", messages=MESSAGES)
            client_for(server).chat.completions.create(model="gpt-4o", messages=MESSAGES)
            foreign_call(tracer, "ChatCompletion", OPENINFERENCE_LLM, **{
                sc.LLM_MODEL_NAME: "gpt-4o", sc.LLM_TOKEN_COUNT_PROMPT: 1000,
                sc.LLM_TOKEN_COUNT_COMPLETION: 100,
            })
    store_provider.shutdown()
    result = CliRunner().invoke(main, ["--store", str(tmp_path), "sessions", "list", "--json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.output)
    assert row["llm_calls"] == 3
    assert row["tokens"] == 3 * (INPUT_TOKENS + OUTPUT_TOKENS)
    assert row["cost_usd"] == pytest.approx(3 * GPT_4O_CALL_USD)
    table = CliRunner().invoke(main, ["--store", str(tmp_path), "sessions", "list"],
                               catch_exceptions=False)
    assert "3,300" in table.output or "3300" in table.output, table.output


# --- §2: a LangChain chat model over an instrumented client: one span, counted once ------------
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"Sunny in {city}"


def run_agent(agent: Any, mode: str) -> None:
    request = {"messages": [{"role": "user", "content": "Weather in Paris?"}]}
    if mode == "invoke":
        agent.invoke(request)
    elif mode == "stream":
        for _ in agent.stream(request, stream_mode="messages"):
            pass
    elif mode == "ainvoke":
        asyncio.run(agent.ainvoke(request))
    else:

        async def consume() -> None:
            async for _ in agent.astream(request, stream_mode="messages"):
                pass

        asyncio.run(consume())


@contextlib.contextmanager
def both_instrumented(order: str, provider: Any, meter_provider: Any) -> Iterator[None]:
    ours = LangChainInstrumentor()
    with contextlib.ExitStack() as stack:
        if order == "ours_first":
            ours.instrument(tracer_provider=provider, meter_provider=meter_provider)
            stack.callback(ours.uninstrument)
            stack.enter_context(openai_v2(provider, meter_provider))
        else:
            stack.enter_context(openai_v2(provider, meter_provider))
            ours.instrument(tracer_provider=provider, meter_provider=meter_provider)
            stack.callback(ours.uninstrument)
        yield


@pytest.mark.parametrize("mode", ["invoke", "stream", "ainvoke", "astream"])
@pytest.mark.parametrize("order", ["ours_first", "openai_v2_first"])
def test_langchain_agent_over_openai_v2_one_span_per_call_counted_once(
    order, mode, telemetry, spans, provider, server, meter_provider, metrics
):
    from langchain.agents import create_agent
    from langchain_openai import ChatOpenAI

    with both_instrumented(order, provider, meter_provider):
        model = ChatOpenAI(model="gpt-4o", base_url=server.base_url, api_key="test-key",
                           max_retries=0, stream_usage=True)
        agent = create_agent(model, tools=[get_weather], name="weather_agent")
        with telemetry.session("support-agent"):
            run_agent(agent, mode)
    streamed = mode in ("stream", "astream")
    assert len(server.requests) == 2  # model (a tool call), tool, model (the answer)
    for request in server.requests:
        assert bool(request.get("stream")) is streamed
        if streamed:
            assert request["stream_options"] == {"include_usage": True}
    agent_span = spans.one("invoke_agent weather_agent")
    chats = inference_spans(spans)
    assert len(chats) == 2, [(s.name, s.instrumentation_scope.name) for s in spans.all()]
    for chat in chats:
        assert chat.instrumentation_scope.name == OPENAI_V2_SCOPE  # the provider's span
        assert chat.parent.span_id == agent_span.context.span_id  # where ours would be
        assert chat.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == INPUT_TOKENS
    assert spans.one("execute_tool get_weather").parent.span_id == agent_span.context.span_id
    assert_totals(spans.one("invoke_agent support-agent"), calls=2)
    # Metrics: the provider's instrumentation records the calls; we add none of our own.
    token_usage = metric_sum(metrics, sc.METRIC_TOKEN_USAGE, **{sc.GEN_AI_TOKEN_TYPE: "input"})
    assert token_usage == 2 * INPUT_TOKENS
    assert metric_sum(metrics, sc.METRIC_COST) == pytest.approx(2 * GPT_4O_CALL_USD)


def test_real_openinference_spans_count_and_langchain_yields_to_them(
    telemetry, spans, provider, server, meter_provider
):
    from langchain_openai import ChatOpenAI
    from openinference.instrumentation.openai import OpenAIInstrumentor as OpenInference

    openinference = OpenInference()
    ours = LangChainInstrumentor()
    ours.instrument(tracer_provider=provider, meter_provider=meter_provider)
    openinference.instrument(tracer_provider=provider)
    try:
        model = ChatOpenAI(model="gpt-4o", base_url=server.base_url, api_key="test-key",
                           max_retries=0, stream_usage=True)
        with telemetry.session("agent"):
            client_for(server).chat.completions.create(model="gpt-4o", messages=MESSAGES)
            model.invoke("What is the answer?")
            for _ in model.stream("What is the answer?"):
                pass
    finally:
        openinference.uninstrument()
        ours.uninstrument()
    root = spans.one("invoke_agent agent")
    calls = [s for s in spans.all()
             if s.attributes.get(sc.OI_SPAN_KIND) == sc.OI_KIND_LLM]
    assert len(calls) == 3  # OpenInference's span per call, and no chat span of ours
    assert inference_spans(spans) == []
    for call in calls:
        assert call.parent.span_id == root.context.span_id
        assert call.attributes[sc.LLM_TOKEN_COUNT_PROMPT] == INPUT_TOKENS
    assert_totals(root, calls=3)


def test_an_unrecognised_client_under_our_span_is_merged(
    telemetry, spans, provider, server, meter_provider, metrics
):
    from langchain_openai import ChatOpenAI

    class GatewayChat(ChatOpenAI):
        """An OpenAI-compatible gateway's model: a provider name we do not map to a client."""

        def _get_ls_params(self, stop: Any = None, **kwargs: Any) -> Any:
            params = super()._get_ls_params(stop=stop, **kwargs)
            params["ls_provider"] = "my-gateway"
            return params

    with both_instrumented("ours_first", provider, meter_provider):
        model = GatewayChat(model="gpt-4o", base_url=server.base_url, api_key="test-key",
                            max_retries=0)
        with telemetry.session("agent"):
            model.invoke("What is the answer?")
    ours, theirs = sorted(inference_spans(spans), key=lambda s: s.start_time)
    assert ours.instrumentation_scope.name.startswith("sentrial_otel")
    assert theirs.parent.span_id == ours.context.span_id
    assert ours.attributes[sc.SENTRIAL_USAGE_ON_CHILD] is True
    assert not [k for k in ours.attributes if k.startswith("gen_ai.usage.")]
    assert theirs.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == INPUT_TOKENS
    root = spans.one("invoke_agent agent")
    assert root.attributes[sc.SENTRIAL_SESSION_INPUT_TOKENS] == INPUT_TOKENS  # once
    token_usage = metric_sum(metrics, sc.METRIC_TOKEN_USAGE, **{sc.GEN_AI_TOKEN_TYPE: "input"})
    assert token_usage == INPUT_TOKENS


def test_our_span_comes_at_the_end_when_the_provider_span_never_does(
    telemetry, spans, provider, server, meter_provider
):
    from langchain_openai import ChatOpenAI

    ours = LangChainInstrumentor()
    ours.instrument(tracer_provider=provider, meter_provider=meter_provider)
    try:
        # Instrumented, but into a provider we never see: no span reaches us.
        with openai_v2(trace.NoOpTracerProvider()):
            model = ChatOpenAI(model="gpt-4o", base_url=server.base_url, api_key="test-key",
                               max_retries=0)
            with telemetry.session("agent"):
                model.invoke("What is the answer?")
    finally:
        ours.uninstrument()
    [chat] = inference_spans(spans)
    root = spans.one("invoke_agent agent")
    assert chat.instrumentation_scope.name.startswith("sentrial_otel")
    assert chat.parent.span_id == root.context.span_id
    assert chat.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == INPUT_TOKENS
    assert chat.start_time < chat.end_time
    assert chat.start_time >= root.start_time
    assert_totals(root, calls=1)
