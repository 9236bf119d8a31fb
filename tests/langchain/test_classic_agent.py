"""The seed doc's exact call on a classic ``AgentExecutor`` (``langchain-classic``)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("langchain_classic")

from langchain_classic.agents import AgentExecutor, create_tool_calling_agent  # noqa: E402
from langchain_core.prompts import ChatPromptTemplate  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402

from sentrial import SentrialClient  # noqa: E402
from sentrial.langchain import SentrialCallbackHandler  # noqa: E402
from sentrial_otel import semconv as sc  # noqa: E402
from tests.langchain import fakes  # noqa: E402
from tests.langchain.conftest import Spans, attrs  # noqa: E402
from tests.support import documented_ids  # noqa: E402


@pytest.fixture
def client(lc_provider: TracerProvider) -> Iterator[SentrialClient]:
    client = SentrialClient(tracer_provider=lc_provider)
    yield client
    client.shutdown()


CLASSIC_TREE = [
    (
        "invoke_agent AgentExecutor",
        [
            ("chat gpt-4o-mini", []),
            ("execute_tool get_weather", [("weather-api GET", [])]),
            ("chat gpt-4o-mini", []),
        ],
    )
]


def classic_agent() -> AgentExecutor:
    model = fakes.ScriptedChatModel(
        [
            fakes.tool_call_message("get_weather", {"city": "Paris"}, "call_1", (10, 5)),
            fakes.answer_message("It is sunny", (20, 3)),
        ]
    )
    prompt = ChatPromptTemplate.from_messages(
        [
            ("system", "You answer weather questions."),
            ("human", "{input}"),
            ("placeholder", "{agent_scratchpad}"),
        ]
    )
    tools = [fakes.get_weather]
    return AgentExecutor(agent=create_tool_calling_agent(model, tools, prompt), tools=tools)


def test_seed_doc_snippet_on_a_classic_agent_executor(
    client: SentrialClient, lc_spans: Spans
) -> None:
    session_id = client.create_session(name="Support", agent_name="support-agent", user_id="u1")
    agent_executor = classic_agent()
    handler = SentrialCallbackHandler(client, session_id)
    user_query = "weather in Paris?"

    result = agent_executor.invoke({"input": user_query}, {"callbacks": [handler]})
    handler.set_input(user_query)
    handler.finish()

    assert result["output"] == "It is sunny"
    # The session's root, then the executor's run as the agent span.
    assert lc_spans.tree() == [("invoke_agent support-agent", CLASSIC_TREE)]
    assert lc_spans.one_trace() == documented_ids.trace_id(session_id)
    llm_spans = lc_spans.named("chat gpt-4o-mini")
    assert len(llm_spans) == handler.llm_calls == 2
    assert handler.total_prompt_tokens == sum(
        attrs(s)[sc.GEN_AI_USAGE_INPUT_TOKENS] for s in llm_spans
    ) == 30
    assert handler.total_completion_tokens == sum(
        attrs(s)[sc.GEN_AI_USAGE_OUTPUT_TOKENS] for s in llm_spans
    ) == 8
    assert handler.total_tokens == 38
    assert handler.total_cost == pytest.approx(sum(attrs(s)[sc.SENTRIAL_COST_USD] for s in llm_spans))
    assert handler.total_cost > 0


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_classic_agent_executor_under_auto_instrumentation(
    mode: str, instrumentor: Any, lc_spans: Spans
) -> None:
    question = {"input": "weather in Paris?"}
    executor = classic_agent()
    result = executor.invoke(question) if mode == "sync" else asyncio.run(executor.ainvoke(question))
    assert result["output"] == "It is sunny"

    assert lc_spans.tree() == CLASSIC_TREE
    agent = attrs(lc_spans.one("invoke_agent AgentExecutor"))
    assert agent[sc.GEN_AI_OPERATION_NAME] == sc.OP_INVOKE_AGENT
    assert agent[sc.GEN_AI_AGENT_NAME] == "AgentExecutor"
    # The executor runs tools without their call id; it comes from on_agent_action.
    tool = attrs(lc_spans.one("execute_tool get_weather"))
    assert tool[sc.GEN_AI_TOOL_CALL_ID] == "call_1"


def test_verbatim_doc_snippet_runs_unchanged(
    client: SentrialClient, lc_spans: Spans, capsys: pytest.CaptureFixture[str]
) -> None:
    """tests/doc_snippets/langchain_handler.py is the doc's text, checked against the doc."""
    from pathlib import Path

    snippet = Path(__file__).parents[1] / "doc_snippets" / "langchain_handler.py"
    session_id = client.create_session(name="Support", agent_name="support-agent", user_id="u1")
    namespace: dict[str, Any] = {
        "client": client,
        "session_id": session_id,
        "agent_executor": classic_agent(),
        "user_query": "weather in Paris?",
    }
    exec(compile(snippet.read_text(), str(snippet), "exec"), namespace)
    handler = namespace["handler"]
    printed = capsys.readouterr().out
    assert f"Tokens: {handler.total_tokens}" in printed and handler.total_tokens == 38
    assert "LLM calls: 2" in printed
    # The snippet leaves the session open: its spans hang under the (not yet ended) root.
    assert lc_spans.tree() == CLASSIC_TREE
    (executor,) = lc_spans.named("invoke_agent AgentExecutor")
    assert executor.parent.span_id == documented_ids.root_span_id(session_id)
