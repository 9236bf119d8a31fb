"""Auto-instrumentation of a real ``create_agent`` graph: span tree, keys, types, modes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain.agents import create_agent
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import SpanKind, StatusCode

from sentrial_otel import semconv as sc
from tests.langchain import fakes
from tests.langchain.conftest import Spans, attrs, instrumented, loads

QUESTION = {"messages": [{"role": "user", "content": "weather in Paris?"}]}

AGENT_TREE = [
    (
        "invoke_agent weather_agent",
        [
            ("chat gpt-4o-mini", []),
            ("execute_tool get_weather", [("weather-api GET", [])]),
            ("chat gpt-4o-mini", []),
        ],
    )
]


def weather_agent(answer_tokens: tuple[int, int] | None = (20, 3)) -> Any:
    model = fakes.ScriptedChatModel(
        [
            fakes.tool_call_message("get_weather", {"city": "Paris"}, "call_1", (10, 5)),
            fakes.answer_message("It is sunny", answer_tokens),
        ]
    )
    return create_agent(model, [fakes.get_weather], name="weather_agent")


def test_invoke_builds_the_agent_tree(instrumentor: Any, lc_spans: Spans) -> None:
    result = weather_agent().invoke(QUESTION)

    assert result["messages"][-1].content == "It is sunny"
    assert lc_spans.tree() == AGENT_TREE
    lc_spans.one_trace()


def test_agent_span_keys(instrumentor: Any, lc_spans: Spans) -> None:
    weather_agent().invoke(QUESTION)

    agent = lc_spans.one("invoke_agent weather_agent")
    assert agent.kind is SpanKind.INTERNAL
    assert agent.status.status_code is StatusCode.UNSET
    values = attrs(agent)
    assert values[sc.GEN_AI_OPERATION_NAME] == sc.OP_INVOKE_AGENT
    assert values[sc.GEN_AI_AGENT_NAME] == "weather_agent"
    assert loads(agent, sc.GEN_AI_INPUT_MESSAGES) == [
        {"role": "user", "parts": [{"type": "text", "content": "weather in Paris?"}]}
    ]
    assert loads(agent, sc.GEN_AI_OUTPUT_MESSAGES) == [
        {
            "role": "assistant",
            "parts": [{"type": "text", "content": "It is sunny"}],
            "finish_reason": "stop",
        }
    ]
    # Token totals never go on agent spans under gen_ai.usage.* (double counting).
    assert not any(key.startswith("gen_ai.usage.") for key in values)


def test_llm_span_keys_and_types(instrumentor: Any, lc_spans: Spans) -> None:
    weather_agent().invoke(QUESTION)

    first, second = lc_spans.named("chat gpt-4o-mini")
    assert first.kind is SpanKind.CLIENT
    values = attrs(first)
    assert values[sc.GEN_AI_OPERATION_NAME] == "chat"
    assert values[sc.GEN_AI_PROVIDER_NAME] == "openai"
    assert values[sc.GEN_AI_REQUEST_MODEL] == "gpt-4o-mini"
    assert values[sc.GEN_AI_RESPONSE_MODEL] == "gpt-4o-mini-2024-07-18"
    assert values[sc.GEN_AI_AGENT_NAME] == "weather_agent"
    assert values[sc.GEN_AI_REQUEST_TEMPERATURE] == 0.2
    assert values[sc.GEN_AI_USAGE_INPUT_TOKENS] == 10
    assert values[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 5
    assert type(values[sc.GEN_AI_USAGE_INPUT_TOKENS]) is int
    assert tuple(values[sc.GEN_AI_RESPONSE_FINISH_REASONS]) == ("tool_calls",)
    assert values[sc.SENTRIAL_COST_USD] == pytest.approx((10 * 0.15 + 5 * 0.6) / 1e6)
    assert sc.GEN_AI_REQUEST_STREAM not in values
    assert loads(first, sc.GEN_AI_OUTPUT_MESSAGES) == [
        {
            "role": "assistant",
            "parts": [
                {
                    "type": "tool_call",
                    "id": "call_1",
                    "name": "get_weather",
                    "arguments": {"city": "Paris"},
                }
            ],
            "finish_reason": "tool_calls",
        }
    ]
    # The second call saw the tool's answer as a tool_call_response part.
    inputs = loads(second, sc.GEN_AI_INPUT_MESSAGES)
    assert inputs[-1] == {
        "role": "tool",
        "parts": [{"type": "tool_call_response", "response": "sunny in Paris", "id": "call_1"}],
    }


def test_tool_span_keys(instrumentor: Any, lc_spans: Spans) -> None:
    weather_agent().invoke(QUESTION)

    tool = lc_spans.one("execute_tool get_weather")
    assert tool.kind is SpanKind.INTERNAL
    assert attrs(tool) == {
        sc.GEN_AI_OPERATION_NAME: "execute_tool",
        sc.GEN_AI_TOOL_NAME: "get_weather",
        sc.GEN_AI_TOOL_TYPE: "function",
        sc.GEN_AI_AGENT_NAME: "weather_agent",
        sc.GEN_AI_TOOL_CALL_ID: "call_1",
        sc.GEN_AI_TOOL_DESCRIPTION: "The weather in a city.",
        sc.GEN_AI_TOOL_CALL_ARGUMENTS: '{"city":"Paris"}',
        sc.GEN_AI_TOOL_CALL_RESULT: '{"result":"sunny in Paris"}',
    }


def test_agent_loop_nodes_come_back_on_request(lc_provider: TracerProvider, lc_spans: Spans) -> None:
    """create_agent's own ``model``/``tools`` nodes are plumbing: emitted only when asked."""
    with instrumented(lc_provider, emit_plumbing_spans=True):
        weather_agent().invoke(QUESTION)

    assert len(lc_spans.named("model")) == 2
    tools = lc_spans.one("tools")
    assert attrs(tools) == {
        sc.SENTRIAL_LANGCHAIN_RUN_TYPE: "chain",
        sc.GEN_AI_AGENT_NAME: "weather_agent",
    }
    tool_span = lc_spans.one("execute_tool get_weather")
    assert tool_span.parent is not None and tool_span.parent.span_id == tools.context.span_id


def test_a_graph_run_inside_a_tool_keeps_its_node_spans(instrumentor: Any, lc_spans: Spans) -> None:
    """Only the agent's own loop nodes are folded away: a graph the user runs inside a tool
    inherits the agent's metadata, yet its nodes are the user's steps and stay spans."""
    from typing import TypedDict

    from langchain_core.tools import tool
    from langgraph.graph import END, START, StateGraph

    class State(TypedDict):
        x: int

    graph = StateGraph(State)
    graph.add_node("increment", lambda state: {"x": state["x"] + 1})
    graph.add_edge(START, "increment")
    graph.add_edge("increment", END)
    inner = graph.compile(name="increment_flow")

    @tool
    def increment(x: int) -> int:
        """Add one to x."""
        return inner.invoke({"x": x})["x"]

    model = fakes.ScriptedChatModel(
        [
            fakes.tool_call_message("increment", {"x": 1}, "call_1", (10, 5)),
            fakes.answer_message("2", (3, 1)),
        ]
    )
    create_agent(model, [increment], name="math_agent").invoke(QUESTION)

    assert lc_spans.tree() == [
        (
            "invoke_agent math_agent",
            [
                ("chat gpt-4o-mini", []),
                ("execute_tool increment", [("increment", [])]),
                ("chat gpt-4o-mini", []),
            ],
        )
    ]
    assert attrs(lc_spans.one("increment"))[sc.SENTRIAL_LANGCHAIN_RUN_TYPE] == "node"


def test_content_off_leaves_content_keys_out(lc_provider: TracerProvider, lc_spans: Spans) -> None:
    with instrumented(lc_provider, capture_content=False):
        weather_agent().invoke(QUESTION)
    assert lc_spans.tree() == AGENT_TREE
    for span in lc_spans.all():
        assert not set(attrs(span)) & sc.CONTENT_KEYS, span.name
    assert attrs(lc_spans.named("chat gpt-4o-mini")[0])[sc.GEN_AI_USAGE_INPUT_TOKENS] == 10


def test_ainvoke(instrumentor: Any, lc_spans: Spans) -> None:
    result = asyncio.run(weather_agent().ainvoke(QUESTION))

    assert result["messages"][-1].content == "It is sunny"
    assert lc_spans.tree() == AGENT_TREE


def test_stream_usage_from_final_chunk(instrumentor: Any, lc_spans: Spans) -> None:
    chunks = list(weather_agent().stream(QUESTION, stream_mode="messages"))

    assert chunks
    assert lc_spans.tree() == AGENT_TREE
    for span, tokens in zip(lc_spans.named("chat gpt-4o-mini"), [(10, 5), (20, 3)]):
        values = attrs(span)
        assert values[sc.GEN_AI_REQUEST_STREAM] is True
        assert (values[sc.GEN_AI_USAGE_INPUT_TOKENS], values[sc.GEN_AI_USAGE_OUTPUT_TOKENS]) == tokens
        ttfc = values[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK]
        assert isinstance(ttfc, float) and 0 <= ttfc < 5


def test_astream_and_astream_events(instrumentor: Any, lc_spans: Spans) -> None:
    async def run() -> list[str]:
        async for _ in weather_agent().astream(QUESTION):
            pass
        kinds = []
        async for event in weather_agent().astream_events(QUESTION, version="v2"):
            kinds.append(event["event"])
        return kinds

    kinds = asyncio.run(run())
    assert "on_chat_model_stream" in kinds
    assert lc_spans.tree() == AGENT_TREE * 2


def test_unknown_usage_is_not_zero(instrumentor: Any, lc_spans: Spans) -> None:
    weather_agent(answer_tokens=None).invoke(QUESTION)

    answer = attrs(lc_spans.named("chat gpt-4o-mini")[1])
    assert sc.GEN_AI_USAGE_INPUT_TOKENS not in answer
    assert sc.GEN_AI_USAGE_OUTPUT_TOKENS not in answer
    assert sc.SENTRIAL_COST_USD not in answer
    assert answer[sc.SENTRIAL_USAGE_UNKNOWN] is True
    assert sc.SENTRIAL_USAGE_UNKNOWN not in attrs(lc_spans.named("chat gpt-4o-mini")[0])


def test_batch_gives_one_tree_per_input(instrumentor: Any, lc_spans: Spans) -> None:
    model = fakes.ScriptedChatModel(
        [fakes.answer_message("hello", (3, 1)) for _ in range(3)]
    )
    agent = create_agent(model, [], name="greeter_agent")
    agent.batch([QUESTION, QUESTION, QUESTION])

    tree = [("invoke_agent greeter_agent", [("chat gpt-4o-mini", [])])]
    assert lc_spans.tree() == tree * 3
    assert len({s.context.trace_id for s in lc_spans.all()}) == 3


def test_nests_under_the_callers_span_and_leaves_it_current(
    instrumentor: Any, lc_provider: TracerProvider, lc_spans: Spans
) -> None:
    tracer = lc_provider.get_tracer("app")
    with tracer.start_as_current_span("request") as outer:
        weather_agent().invoke(QUESTION)
        assert trace.get_current_span() is outer
        list(weather_agent().stream(QUESTION))
        assert trace.get_current_span() is outer
    assert trace.get_current_span() is trace.INVALID_SPAN
    assert lc_spans.tree() == [("request", AGENT_TREE * 2)]


def test_a_tool_run_from_another_thread_nests_under_its_parent_run(
    instrumentor: Any, lc_provider: TracerProvider, lc_spans: Spans
) -> None:
    """A tool called from a worker thread (code running tools in parallel) starts where no
    OpenTelemetry context is current: its span follows its parent run, not the thread."""
    from concurrent.futures import ThreadPoolExecutor

    from langchain_core.runnables import RunnableConfig, RunnableLambda

    def dispatch(cities: list[str], config: RunnableConfig) -> list[str]:
        with ThreadPoolExecutor(2) as pool:  # its threads start with an empty context
            return list(pool.map(lambda city: fakes.get_weather.invoke({"city": city}, config), cities))

    with lc_provider.get_tracer("app").start_as_current_span("request"):
        result = RunnableLambda(dispatch).invoke(["Paris", "Oslo"])

    assert result == ["sunny in Paris", "sunny in Oslo"]
    tool = ("execute_tool get_weather", [("weather-api GET", [])])
    assert lc_spans.tree() == [("request", [("invoke_workflow dispatch", [tool, tool])])]
    lc_spans.one_trace()


def test_tool_that_raises(instrumentor: Any, lc_spans: Spans) -> None:
    model = fakes.ScriptedChatModel(
        [
            fakes.tool_call_message("explode", {"reason": "bad"}, "call_9", (4, 2)),
            fakes.answer_message("sorry", (6, 1)),
        ]
    )
    agent = create_agent(model, [fakes.explode], name="fragile_agent")
    try:
        agent.invoke(QUESTION)
    except RuntimeError:
        pass  # whether ToolNode re-raises depends on its error handling; the span is what counts

    tool = lc_spans.one("execute_tool explode")
    assert tool.status.status_code is StatusCode.ERROR
    assert attrs(tool)[sc.ERROR_TYPE] == "RuntimeError"
    assert sc.GEN_AI_TOOL_CALL_RESULT not in attrs(tool)
    (event,) = [e for e in tool.events if e.name == "exception"]
    assert event.attributes[sc.EXCEPTION_TYPE] == "RuntimeError"
    assert event.attributes[sc.EXCEPTION_MESSAGE] == "boom: bad"
