"""LangChain / LangGraph runs that end early, traced over OTLP/HTTP to
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``: ``python lifecycle_app.py SCENARIO``.

Scenarios: model_cancelled, agent_cancelled, events_cancelled, tool_cancelled, retriever_cancelled,
model_stream_stopped, agent_stream_stopped, interrupt_resume, open_at_exit,
open_at_uninstrument. At exit (after the provider's own exit hook shut it down) it prints
one JSON line: how many spans started and ended in the process, how many runs were left in
the run registry, and the scenario's facts.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Any, TypedDict

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the checkout, for tests.*

from langchain.agents import create_agent  # noqa: E402
from langchain_core.documents import Document  # noqa: E402
from langchain_core.retrievers import BaseRetriever  # noqa: E402
from langchain_core.tools import tool  # noqa: E402
from langgraph.checkpoint.memory import InMemorySaver  # noqa: E402
from langgraph.graph import END, START, StateGraph  # noqa: E402
from langgraph.types import Command, interrupt  # noqa: E402
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: E402
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: E402

from sentrial_otel.instrumentation.langchain import RUNS, LangChainInstrumentor  # noqa: E402
from sentrial_otel.instrumentation.langchain._threads import INTERRUPTED  # noqa: E402
from tests.langchain import fakes  # noqa: E402

FACTS: dict[str, Any] = {}


class Counter(SpanProcessor):
    """Counts the spans started and ended in this process (all of them, ours or not)."""

    started = 0
    ended = 0

    def on_start(self, span: Any, parent_context: Any = None) -> None:
        Counter.started += 1

    def on_end(self, span: Any) -> None:
        Counter.ended += 1


def _report() -> None:
    print(json.dumps({
        "started": Counter.started, "ended": Counter.ended, "open_runs": len(RUNS), **FACTS,
    }))


atexit.register(_report)  # before the provider's exit hook, so it runs after it
provider = TracerProvider()
provider.add_span_processor(Counter())
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(), schedule_delay_millis=100))
fakes.TOOL_TRACER["tracer"] = provider.get_tracer("app.http")
instrumentor = LangChainInstrumentor()
instrumentor.instrument(tracer_provider=provider)

QUESTION = {"messages": [{"role": "user", "content": "weather in Paris?"}]}
TIMEOUT_S = 1.0
ENTERED: list[str] = []  # what the slow parts reached before the timeout


class SlowHttpChatModel(fakes.ScriptedChatModel):
    """A provider call that never answers: its HTTP client span opens, then it waits."""

    async def _agenerate(self, *args: Any, **kwargs: Any) -> Any:
        with fakes.TOOL_TRACER["tracer"].start_as_current_span(fakes.HTTP_SPAN):
            ENTERED.append("model")
            await asyncio.sleep(3600)

    async def _astream(self, *args: Any, **kwargs: Any) -> Any:
        with fakes.TOOL_TRACER["tracer"].start_as_current_span(fakes.HTTP_SPAN):
            ENTERED.append("model")
            await asyncio.sleep(3600)
        yield  # pragma: no cover - never reached


@tool
async def slow_lookup(city: str) -> str:
    """Looks a city up, slowly."""
    ENTERED.append("tool")
    await asyncio.sleep(3600)
    return city


class SlowRetriever(BaseRetriever):
    """A search that never answers."""

    def _get_relevant_documents(self, query: str, **kwargs: Any) -> list[Document]:
        raise NotImplementedError  # only the async path is used

    async def _aget_relevant_documents(self, query: str, **kwargs: Any) -> list[Document]:
        ENTERED.append("retriever")
        await asyncio.sleep(3600)
        return []


def slow_agent() -> Any:
    return create_agent(SlowHttpChatModel([]), [fakes.get_weather], name="weather_agent")


async def _timed_out(call: Any) -> None:
    try:
        await asyncio.wait_for(call, TIMEOUT_S)
    except asyncio.TimeoutError:
        FACTS.setdefault("timed_out", 0)
        FACTS["timed_out"] += 1


async def model_cancelled() -> None:
    await _timed_out(SlowHttpChatModel([]).ainvoke("weather in Paris?"))


async def agent_cancelled() -> None:
    await _timed_out(slow_agent().ainvoke(QUESTION))


async def events_cancelled() -> None:
    async def read_all() -> None:
        async for _ in slow_agent().astream_events(QUESTION, version="v2"):
            pass

    await _timed_out(read_all())


async def tool_cancelled() -> None:
    model = fakes.ScriptedChatModel(
        [fakes.tool_call_message("slow_lookup", {"city": "Paris"}, "call_1", (10, 5))]
    )
    agent = create_agent(model, [slow_lookup], name="weather_agent")
    await _timed_out(agent.ainvoke(QUESTION))


async def retriever_cancelled() -> None:
    # On its own: no chain, tool or graph around it to end its run.
    await _timed_out(SlowRetriever().ainvoke("weather in Paris?"))


def _answers(n: int) -> list[Any]:
    return [fakes.answer_message("It is sunny in Paris today", (20, 6)) for _ in range(n)]


async def model_stream_stopped() -> None:
    model = fakes.ScriptedChatModel(_answers(2))
    chunks = 0
    for _ in model.stream("weather in Paris?"):
        chunks += 1
        break
    async with contextlib.aclosing(model.astream("weather in Paris?")) as stream:
        async for _ in stream:
            chunks += 1
            break
    FACTS["chunks"] = chunks


async def agent_stream_stopped() -> None:
    chunks = 0
    agent = create_agent(fakes.ScriptedChatModel(_answers(1)), [fakes.get_weather], name="sync_agent")
    for _ in agent.stream(QUESTION, stream_mode="messages"):
        chunks += 1
        break
    # The model is mid-call when the consumer stops: LangGraph cancels it.
    agent = create_agent(SlowStreamChatModel(_answers(1)), [fakes.get_weather], name="async_agent")
    async with contextlib.aclosing(agent.astream(QUESTION, stream_mode="messages")) as stream:
        async for _ in stream:
            chunks += 1
            break
    agent = create_agent(SlowStreamChatModel(_answers(1)), [fakes.get_weather], name="events_agent")
    async with contextlib.aclosing(agent.astream_events(QUESTION, version="v2")) as events:
        async for event in events:
            if event["event"] == "on_chat_model_stream":
                chunks += 1
                break
    FACTS["chunks"] = chunks


class SlowStreamChatModel(fakes.ScriptedChatModel):
    """Streams its first word, then takes its time over the rest."""

    async def _astream(self, *args: Any, **kwargs: Any) -> Any:
        first = True
        for chunk in fakes.ScriptedChatModel._stream(self, *args, **kwargs):
            yield chunk
            if first:
                first = False
                await asyncio.sleep(3600)


class Draft(TypedDict, total=False):
    question: str
    draft: str
    answer: str


def interrupt_resume() -> None:
    model = fakes.ScriptedChatModel(_answers(2))

    def write(state: Draft) -> Draft:
        return {"draft": str(model.invoke(state["question"]).content)}

    def approve(state: Draft) -> Draft:
        return {"answer": interrupt({"approve": state["draft"]})}

    def publish(state: Draft) -> Draft:
        return {"answer": state.get("answer", "draft") + "!"}

    def pipeline(*nodes: Any) -> StateGraph:
        graph = StateGraph(Draft)
        for node in nodes:
            graph.add_node(node.__name__, node)
        for before, after in zip((START, *(n.__name__ for n in nodes)), (*(n.__name__ for n in nodes), END)):
            graph.add_edge(before, after)
        return graph

    # interrupt() inside a node, resumed with Command(resume=...)
    app = pipeline(write, approve, publish).compile(checkpointer=InMemorySaver(), name="review")
    config: Any = {"configurable": {"thread_id": "thread-42"}}
    first = app.invoke({"question": "weather in Paris?"}, config)
    FACTS["paused"] = "__interrupt__" in first
    FACTS["answer"] = app.invoke(Command(resume="yes"), config)["answer"]
    # a static breakpoint (interrupt_before), resumed with invoke(None)
    gated = pipeline(write, publish).compile(
        checkpointer=InMemorySaver(), interrupt_before=["publish"], name="gated"
    )
    config = {"configurable": {"thread_id": "thread-43"}}
    gated.invoke({"question": "weather in Paris?"}, config)
    FACTS["gated_answer"] = gated.invoke(None, config)["answer"]
    FACTS["threads_remembered"] = len(INTERRUPTED)


HELD: list[Any] = []


def open_at_exit() -> None:
    stream = fakes.ScriptedChatModel(_answers(1)).stream("weather in Paris?")
    next(stream)
    HELD.append(stream)  # never read to its end nor closed: open when the process exits
    FACTS["open_before_exit"] = len(RUNS)


def open_at_uninstrument() -> None:
    open_at_exit()
    instrumentor.uninstrument()
    FACTS["open_after_uninstrument"] = len(RUNS)


SCENARIOS = {
    name: globals()[name]
    for name in (
        "model_cancelled", "agent_cancelled", "events_cancelled", "tool_cancelled",
        "retriever_cancelled", "model_stream_stopped", "agent_stream_stopped", "interrupt_resume", "open_at_exit",
        "open_at_uninstrument",
    )
}

if __name__ == "__main__":
    scenario = SCENARIOS[sys.argv[1]]
    if asyncio.iscoroutinefunction(scenario):
        asyncio.run(scenario())
    else:
        scenario()
    FACTS["entered"] = sorted(ENTERED)
    FACTS["endpoint_set"] = bool(os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
