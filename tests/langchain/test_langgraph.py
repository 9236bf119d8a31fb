"""Hand-built LangGraph graphs, LCEL chains and retrievers under auto-instrumentation."""

from __future__ import annotations

import asyncio
import logging
from typing import Any, TypedDict

import pytest

from langchain_core.documents import Document
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import StatusCode

from sentrial_otel import semconv as sc
from sentrial_otel.instrumentation.langchain import LangChainInstrumentor
from tests.langchain import fakes
from tests.langchain.conftest import Spans, attrs, instrumented, loads


class State(TypedDict):
    x: int


def graph_with_subgraph(tracer_provider: TracerProvider) -> Any:
    tracer = tracer_provider.get_tracer("app")

    def inner(state: State) -> State:
        # User code inside a node makes its own span: it must nest under the node.
        with tracer.start_as_current_span("db.query"):
            return {"x": state["x"] + 1}

    sub = StateGraph(State)
    sub.add_node("inner", inner)
    sub.add_edge(START, "inner")
    sub.add_edge("inner", END)

    def double(state: State) -> State:
        return {"x": state["x"] * 2}

    def route(state: State) -> str:
        return "sub" if state["x"] < 100 else END

    graph = StateGraph(State)
    graph.add_node("double", double)
    graph.add_node("sub", sub.compile())
    graph.add_edge(START, "double")
    graph.add_conditional_edges("double", route)
    graph.add_edge("sub", END)
    return graph.compile(name="pricing_flow")


def test_state_graph_with_subgraph(
    instrumentor: Any, lc_provider: TracerProvider, lc_spans: Spans
) -> None:
    assert graph_with_subgraph(lc_provider).invoke({"x": 1}) == {"x": 3}

    # The router ("route"), __start__ and the subgraph's own root are plumbing.
    assert lc_spans.tree() == [
        (
            "invoke_workflow pricing_flow",
            [("double", []), ("sub", [("inner", [("db.query", [])])])],
        )
    ]
    workflow = lc_spans.one("invoke_workflow pricing_flow")
    assert attrs(workflow) == {
        sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_WORKFLOW,
        sc.GEN_AI_WORKFLOW_NAME: "pricing_flow",
    }


def test_async_subgraph(instrumentor: Any, lc_provider: TracerProvider, lc_spans: Spans) -> None:
    assert asyncio.run(graph_with_subgraph(lc_provider).ainvoke({"x": 1})) == {"x": 3}
    assert lc_spans.tree() == [
        (
            "invoke_workflow pricing_flow",
            [("double", []), ("sub", [("inner", [("db.query", [])])])],
        )
    ]


def test_plumbing_spans_on_request(lc_provider: TracerProvider, lc_spans: Spans) -> None:
    with instrumented(lc_provider, emit_plumbing_spans=True):
        graph_with_subgraph(lc_provider).invoke({"x": 1})

    assert lc_spans.tree() == [
        (
            "invoke_workflow pricing_flow",
            [
                ("double", [("route", [])]),
                ("sub", [("LangGraph", [("inner", [("db.query", [])])])]),
            ],
        )
    ]
    assert attrs(lc_spans.one("route"))[sc.SENTRIAL_LANGCHAIN_RUN_TYPE] == "chain"


def approval_flow() -> Any:
    """A one-node graph whose node asks a human (``interrupt``), with a checkpointer."""

    def ask(state: State) -> State:
        return {"x": interrupt("how many?")}

    graph = StateGraph(State)
    graph.add_node("ask", ask)
    graph.add_edge(START, "ask")
    graph.add_edge("ask", END)
    return graph.compile(checkpointer=InMemorySaver(), name="approval_flow")


def test_interrupt_is_not_an_error(instrumentor: Any, lc_spans: Spans) -> None:
    app = approval_flow()
    config = {"configurable": {"thread_id": "t1"}}

    first = app.invoke({"x": 1}, config)
    assert "__interrupt__" in first
    assert app.invoke(Command(resume=5), config) == {"x": 5}

    assert lc_spans.tree() == [
        ("invoke_workflow approval_flow", [("ask", [])]),
        ("invoke_workflow approval_flow", [("ask", [])]),
    ]
    for span in lc_spans.all():
        assert span.status.status_code is StatusCode.UNSET, span.name
        assert sc.ERROR_TYPE not in attrs(span)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_interrupt_and_resume_callbacks_are_handled(
    mode: str,
    instrumentor: LangChainInstrumentor,
    lc_spans: Spans,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Regression: LangGraph's graph callback manager calls ``on_interrupt`` / ``on_resume``
    on every handler it carries; ours once lacked them and every interrupt logged an error."""
    from langgraph import callbacks

    # Spy on LangGraph's dispatch (not on our handler) to prove the events were sent.
    seen: list[str] = []
    for manager in (callbacks._GraphCallbackManager, callbacks._AsyncGraphCallbackManager):
        for name in ("on_interrupt", "on_resume"):
            original = getattr(manager, name)

            def spy(self: Any, event: Any, _original: Any = original, _name: str = name) -> Any:
                seen.append(_name)
                return _original(self, event)

            monkeypatch.setattr(manager, name, spy)

    app = approval_flow()
    config: Any = {"configurable": {"thread_id": f"t-{mode}"}}
    caplog.set_level(logging.DEBUG)

    if mode == "sync":
        first = app.invoke({"x": 1}, config)
        resumed = app.invoke(Command(resume=5), config)
    else:
        first = asyncio.run(app.ainvoke({"x": 1}, config))
        resumed = asyncio.run(app.ainvoke(Command(resume=5), config))

    assert "__interrupt__" in first
    assert resumed == {"x": 5}
    assert seen == ["on_interrupt", "on_resume"]
    # Nothing logged about our handler, by us or by LangChain's callback dispatch.
    assert not [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING
        and ("OpenTelemetryCallbackHandler" in r.getMessage() or r.name.startswith("sentrial"))
    ]
    # Both runs' spans ended (the registry is empty, checked by a fixture) and are not errors.
    assert lc_spans.tree() == [
        ("invoke_workflow approval_flow", [("ask", [])]),
        ("invoke_workflow approval_flow", [("ask", [])]),
    ]
    for span in lc_spans.all():
        assert span.status.status_code is StatusCode.UNSET, span.name
        assert sc.ERROR_TYPE not in attrs(span)


def test_inside_a_session_an_interrupt_keeps_the_session_ids(
    lc_provider: TracerProvider, lc_spans: Spans
) -> None:
    """The resume link is for runs outside a session: inside one, its spans carry the
    session's conversation id (none given: the thread's), and the interrupted run is still
    marked."""
    from sentrial import SentrialClient

    client = SentrialClient(tracer_provider=lc_provider)
    app = approval_flow()
    config: Any = {"configurable": {"thread_id": "t-in-session"}}
    with instrumented(lc_provider):
        with client.telemetry.session("support-agent", convo_id="conv-7"):
            app.invoke({"x": 1}, config)
            app.invoke(Command(resume=5), config)
        with client.telemetry.session("support-agent"):
            app.invoke({"x": 1}, {"configurable": {"thread_id": "t-in-session-2"}})
    client.shutdown()

    workflows = lc_spans.named("invoke_workflow approval_flow")
    assert len(workflows) == 3
    runs = workflows + lc_spans.named("ask")
    assert [attrs(s).get(sc.GEN_AI_CONVERSATION_ID) for s in runs] == (
        ["conv-7"] * 2 + ["t-in-session-2"] + ["conv-7"] * 2 + ["t-in-session-2"]
    )
    assert [list(s.links) for s in runs] == [[]] * 6
    assert [attrs(s).get(sc.SENTRIAL_LANGCHAIN_INTERRUPTED) for s in workflows] == [True, None, True]


def test_failing_node_marks_node_and_workflow(instrumentor: Any, lc_spans: Spans) -> None:
    def broken(state: State) -> State:
        raise ValueError("no stock")

    graph = StateGraph(State)
    graph.add_node("broken", broken)
    graph.add_edge(START, "broken")
    app = graph.compile(name="stock_flow")
    try:
        app.invoke({"x": 1})
    except ValueError:
        pass
    else:
        raise AssertionError("the error must reach the caller unchanged")

    for name in ("invoke_workflow stock_flow", "broken"):
        span = lc_spans.one(name)
        assert span.status.status_code is StatusCode.ERROR
        assert attrs(span)[sc.ERROR_TYPE] == "ValueError"


def test_lcel_chain_with_retriever(instrumentor: Any, lc_spans: Spans) -> None:
    retriever = fakes.KeywordRetriever(
        docs=[
            Document(page_content="Paris is sunny", id="d1", metadata={"source": "wiki", "score": 0.9}),
            Document(page_content="Oslo is cold", id="d2"),
        ]
    )
    prompt = ChatPromptTemplate.from_messages(
        [("system", "Answer from: {context}"), ("human", "{question}")]
    )
    model = fakes.ScriptedChatModel([fakes.answer_message("sunny", (7, 1))])
    chain = (
        {"context": retriever, "question": RunnableLambda(lambda q: q)} | prompt | model
    ).with_config(run_name="rag_chain")

    assert chain.invoke("paris weather").content == "sunny"

    assert lc_spans.tree() == [
        (
            "invoke_workflow rag_chain",
            [("retrieval KeywordRetriever", []), ("chat gpt-4o-mini", [])],
        )
    ]
    retrieval = lc_spans.one("retrieval KeywordRetriever")
    values = attrs(retrieval)
    assert values[sc.GEN_AI_OPERATION_NAME] == sc.OP_RETRIEVAL
    assert values[sc.GEN_AI_DATA_SOURCE_ID] == "KeywordRetriever"
    assert values[sc.GEN_AI_RETRIEVAL_QUERY_TEXT] == "paris weather"
    assert loads(retrieval, sc.GEN_AI_RETRIEVAL_DOCUMENTS) == [
        {"id": "d1", "score": 0.9, "content": "Paris is sunny", "metadata": {"source": "wiki"}}
    ]
    chat = lc_spans.one("chat gpt-4o-mini")
    assert loads(chat, sc.GEN_AI_SYSTEM_INSTRUCTIONS) == [
        {"type": "text", "content": "Answer from: [Document(id='d1', metadata={'source': 'wiki', 'score': 0.9}, page_content='Paris is sunny')]"}
    ]
    assert loads(chat, sc.GEN_AI_INPUT_MESSAGES) == [
        {"role": "user", "parts": [{"type": "text", "content": "paris weather"}]}
    ]
