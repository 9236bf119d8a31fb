"""The LLM span is current while the model itself works, so a span the provider call makes
(an HTTP client instrumentation's, or the model code's own) nests under the ``chat`` span;
and the caller's current span is the same afterwards."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from langchain.agents import create_agent
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.language_models.llms import BaseLLM
from langchain_core.retrievers import BaseRetriever
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from sentrial_otel.instrumentation.langchain import LangChainInstrumentor
from tests.langchain import fakes
from tests.langchain.conftest import Spans

HTTP = fakes.HTTP_SPAN
CHAT = "chat gpt-4o-mini"
UNDER_CALLER = [("caller", [(CHAT, [(HTTP, [])])])]


@pytest.fixture(autouse=True)
def _no_detach_errors(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """A detach in the wrong context is logged by OpenTelemetry ("Failed to detach context")."""
    caplog.set_level(logging.DEBUG, logger="opentelemetry.context")
    yield
    assert not [r for r in caplog.records if "detach" in r.getMessage().lower()]


def model() -> fakes.HttpChatModel:
    return fakes.HttpChatModel([fakes.answer_message("It is sunny", (7, 3))])


def in_caller(provider: TracerProvider, run: Any) -> Any:
    """Run inside a caller's span; check it is current again afterwards."""
    with provider.get_tracer("app").start_as_current_span("caller") as caller:
        result = run()
        assert trace.get_current_span() is caller
    assert trace.get_current_span() is trace.INVALID_SPAN
    return result


def test_invoke(instrumentor: Any, lc_provider: TracerProvider, lc_spans: Spans) -> None:
    assert in_caller(lc_provider, lambda: model().invoke("hi")).content == "It is sunny"
    assert lc_spans.tree() == UNDER_CALLER


def test_ainvoke(instrumentor: Any, lc_provider: TracerProvider, lc_spans: Spans) -> None:
    in_caller(lc_provider, lambda: asyncio.run(model().ainvoke("hi")))
    assert lc_spans.tree() == UNDER_CALLER


def test_stream(instrumentor: Any, lc_provider: TracerProvider, lc_spans: Spans) -> None:
    def run() -> str:
        text = ""
        for chunk in model().stream("hi"):
            # Between chunks the caller's span is current, never the chat span.
            assert trace.get_current_span().name == "caller"  # type: ignore[attr-defined]
            text += chunk.text
        return text

    assert in_caller(lc_provider, run) == "It is sunny"
    assert lc_spans.tree() == UNDER_CALLER


def test_astream(instrumentor: Any, lc_provider: TracerProvider, lc_spans: Spans) -> None:
    async def run() -> str:
        text = ""
        async for chunk in model().astream("hi"):
            assert trace.get_current_span().name == "caller"  # type: ignore[attr-defined]
            text += chunk.text
        return text

    assert in_caller(lc_provider, lambda: asyncio.run(run())) == "It is sunny"
    assert lc_spans.tree() == UNDER_CALLER


def test_stream_abandoned_after_one_chunk(
    instrumentor: Any, lc_provider: TracerProvider, lc_spans: Spans
) -> None:
    def run() -> None:
        stream = model().stream("hi")
        next(stream)
        stream.close()

    in_caller(lc_provider, run)
    assert lc_spans.tree()[0][1][0][1] == [(HTTP, [])]


def test_streaming_inside_invoke(
    instrumentor: Any, lc_provider: TracerProvider, lc_spans: Spans
) -> None:
    # LangChain streams internally (the _generate_with_cache path) when asked to.
    streaming = fakes.HttpChatModel([fakes.answer_message("It is sunny", (7, 3))], streaming=True)
    in_caller(lc_provider, lambda: streaming.invoke("hi"))
    assert lc_spans.tree() == UNDER_CALLER


def test_inside_an_agent_node(instrumentor: Any, lc_spans: Spans) -> None:
    agent = create_agent(
        fakes.HttpChatModel(
            [
                fakes.tool_call_message("get_weather", {"city": "Paris"}, "call_1", (10, 5)),
                fakes.answer_message("It is sunny", (20, 3)),
            ]
        ),
        [fakes.get_weather],
        name="weather_agent",
    )
    agent.invoke({"messages": [{"role": "user", "content": "weather in Paris?"}]})
    assert lc_spans.tree() == [
        (
            "invoke_agent weather_agent",
            [
                (CHAT, [(HTTP, [])]),
                ("execute_tool get_weather", [("weather-api GET", [])]),
                (CHAT, [(HTTP, [])]),
            ],
        )
    ]


def test_text_completion_llm(
    instrumentor: Any, lc_provider: TracerProvider, lc_spans: Spans
) -> None:
    llm = fakes.HttpLLM()
    in_caller(lc_provider, lambda: llm.invoke("hi"))
    in_caller(lc_provider, lambda: "".join(llm.stream("hi")))
    [(_, [(first, [(http, [])])]), (_, [(second, [(http2, [])])])] = lc_spans.tree()
    assert first == second and first.startswith("text_completion")
    assert http == http2 == HTTP


def test_uninstrument_restores_the_model_and_retriever_methods(lc_provider: TracerProvider) -> None:
    names = {
        BaseChatModel: ("_generate_with_cache", "_agenerate_with_cache", "stream", "astream"),
        BaseLLM: ("_generate_helper", "_agenerate_helper", "stream", "astream"),
        BaseRetriever: ("invoke", "ainvoke"),
    }
    originals = {(cls, n): cls.__dict__[n] for cls, ns in names.items() for n in ns}
    instrumentor = LangChainInstrumentor()
    instrumentor.instrument(tracer_provider=lc_provider)
    try:
        assert all(cls.__dict__[n] is not f for (cls, n), f in originals.items())
    finally:
        instrumentor.uninstrument()
    assert all(cls.__dict__[n] is f for (cls, n), f in originals.items())
