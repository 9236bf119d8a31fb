"""Offline LangChain parts: a scripted tool-calling chat model, tools, a retriever.

``ScriptedChatModel`` is a real ``GenericFakeChatModel`` subclass: LangChain's own
``invoke``/``stream``/``batch`` machinery runs, callbacks fire as with a real provider, and
its messages carry ``tool_calls`` and ``usage_metadata`` like an OpenAI model's. It reports
itself as OpenAI ``gpt-4o-mini`` (via LangSmith params, as real models do) so the price
table gives real costs.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.language_models.llms import LLM
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult, GenerationChunk
from langchain_core.retrievers import BaseRetriever
from langchain_core.tools import tool
from opentelemetry import trace

MODEL = "gpt-4o-mini"


def tool_call_message(name: str, args: dict[str, Any], call_id: str, tokens: tuple[int, int]) -> AIMessage:
    return AIMessage(
        content="",
        tool_calls=[{"name": name, "args": args, "id": call_id, "type": "tool_call"}],
        usage_metadata={
            "input_tokens": tokens[0],
            "output_tokens": tokens[1],
            "total_tokens": sum(tokens),
        },
        response_metadata={"model_name": f"{MODEL}-2024-07-18", "finish_reason": "tool_calls"},
    )


def answer_message(text: str, tokens: tuple[int, int] | None) -> AIMessage:
    usage = (
        {"input_tokens": tokens[0], "output_tokens": tokens[1], "total_tokens": sum(tokens)}
        if tokens is not None
        else None
    )
    return AIMessage(
        content=text,
        usage_metadata=usage,
        response_metadata={"model_name": f"{MODEL}-2024-07-18", "finish_reason": "stop"},
    )


class ScriptedChatModel(GenericFakeChatModel):
    """Answers from a script, in order (thread-safe); supports ``bind_tools``."""

    lock: Any = None

    def __init__(self, messages: list[AIMessage], **kwargs: Any) -> None:
        super().__init__(messages=iter(messages), lock=threading.Lock(), **kwargs)

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedChatModel:
        # The script already knows which tools it calls.
        return self

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> Any:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params["ls_provider"] = "openai"
        params["ls_model_name"] = MODEL
        params["ls_temperature"] = 0.2
        return params

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        with self.lock:
            return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)

    def _stream(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        """Word by word; the final chunk carries tool calls, usage and finish reason, as
        OpenAI's stream with ``stream_usage`` does."""
        # Not self._generate: a subclass's _generate may do more (see HttpChatModel).
        message = ScriptedChatModel._generate(self, messages, stop=stop).generations[0].message
        words = message.content.split(" ") if isinstance(message.content, str) and message.content else []
        for index, word in enumerate(words):
            text = word if index == 0 else " " + word
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=text, id=message.id))
            if run_manager:
                run_manager.on_llm_new_token(text, chunk=chunk)
            yield chunk
        last = AIMessageChunk(
            content="",
            id=message.id,
            tool_call_chunks=[
                {"name": c["name"], "args": _json(c["args"]), "id": c["id"], "index": i}
                for i, c in enumerate(getattr(message, "tool_calls", []) or [])
            ],
            usage_metadata=message.usage_metadata,
            response_metadata=message.response_metadata,
            chunk_position="last",
        )
        chunk = ChatGenerationChunk(message=last)
        if run_manager:
            run_manager.on_llm_new_token("", chunk=chunk)
        yield chunk


def _json(value: Any) -> str:
    import json

    return json.dumps(value)


HTTP_SPAN = "POST /v1/chat/completions"


def _http_tracer() -> trace.Tracer:
    return TOOL_TRACER.get("tracer", tracer_for_tools)


class HttpChatModel(ScriptedChatModel):
    """A model whose provider call makes its own span, as an HTTP client instrumentation
    (httpx, requests) would: around the request, not around reading the streamed body."""

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        with _http_tracer().start_as_current_span(HTTP_SPAN):
            return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)

    async def _agenerate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        with _http_tracer().start_as_current_span(HTTP_SPAN):
            return ScriptedChatModel._generate(self, messages, stop=stop, **kwargs)

    def _stream(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        with _http_tracer().start_as_current_span(HTTP_SPAN):
            chunks = list(super()._stream(messages, stop=stop, **kwargs))
        yield from chunks

    async def _astream(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any) -> AsyncIterator[ChatGenerationChunk]:
        with _http_tracer().start_as_current_span(HTTP_SPAN):
            chunks = list(ScriptedChatModel._stream(self, messages, stop=stop, **kwargs))
        for chunk in chunks:
            yield chunk


class HttpLLM(LLM):
    """A text-completion model (``BaseLLM``) whose provider call makes its own span."""

    answer: str = "sunny"

    @property
    def _llm_type(self) -> str:
        return "http-fake"

    def _call(self, prompt: str, stop: Any = None, run_manager: Any = None, **kwargs: Any) -> str:
        with _http_tracer().start_as_current_span(HTTP_SPAN):
            return self.answer

    def _stream(self, prompt: str, stop: Any = None, run_manager: Any = None, **kwargs: Any) -> Iterator[GenerationChunk]:
        with _http_tracer().start_as_current_span(HTTP_SPAN):
            words = self.answer.split(" ")
        for word in words:
            yield GenerationChunk(text=word)


# --- tools -------------------------------------------------------------------------------
tracer_for_tools = trace.get_tracer("tests.langchain.tools")
TOOL_TRACER: dict[str, trace.Tracer] = {}


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    # A tool that makes its own span, as user code or an HTTP client instrumentation would.
    tracer = TOOL_TRACER.get("tracer", tracer_for_tools)
    with tracer.start_as_current_span("weather-api GET"):
        return f"sunny in {city}"


@tool
def explode(reason: str) -> str:
    """A tool that always fails."""
    raise RuntimeError(f"boom: {reason}")


counter = itertools.count()


class KeywordRetriever(BaseRetriever):
    """Returns the documents containing a word of the query."""

    docs: list[Document]

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        words = set(query.lower().split())
        return [d for d in self.docs if words & set(d.page_content.lower().split())]
