"""A hand-built LangGraph workflow with a subgraph, a router and an interrupt, auto-traced.

Trace shape: ``invoke_workflow refund_flow`` > nodes (``classify``, ``review`` > ``check``);
the router and ``__start__`` are suppressed; the interrupt ("needs approval") is control
flow, not an error; the resumed run is a second workflow span. A span the ``check`` node
makes itself (``ledger.lookup``) nests under the node.

Run: ``python examples/langgraph_workflow.py``, or with no instrumentation code at all:
``OTEL_TRACES_EXPORTER=console opentelemetry-instrument python examples/langgraph_workflow.py``.
"""

from __future__ import annotations

from typing import TypedDict

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt
from opentelemetry import trace

from sentrial_otel.instrumentation.langchain import LangChainInstrumentor

tracer = trace.get_tracer("refund-app")


class Refund(TypedDict, total=False):
    amount: float
    approved: bool
    verdict: str


def check(state: Refund) -> Refund:
    with tracer.start_as_current_span("ledger.lookup"):
        return {"verdict": "ok" if state["amount"] < 1000 else "suspicious"}


review = StateGraph(Refund)
review.add_node("check", check)
review.add_edge(START, "check")
review.add_edge("check", END)


def classify(state: Refund) -> Refund:
    return {"approved": state["amount"] < 100}


def approve(state: Refund) -> Refund:
    return {"approved": bool(interrupt({"question": "approve refund?", "amount": state["amount"]}))}


def route(state: Refund) -> str:
    return END if state["approved"] else "review"


graph = StateGraph(Refund)
graph.add_node("classify", classify)
graph.add_node("review", review.compile())
graph.add_node("approve", approve)
graph.add_edge(START, "classify")
graph.add_conditional_edges("classify", route)
graph.add_edge("review", "approve")
graph.add_edge("approve", END)
app = graph.compile(checkpointer=InMemorySaver(), name="refund_flow")


if __name__ == "__main__":
    instrumentor = LangChainInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument()
    config = {"configurable": {"thread_id": "refund-1"}}
    first = app.invoke({"amount": 250.0}, config)
    print("interrupted:", first["__interrupt__"][0].value)
    print("resumed:", app.invoke(Command(resume=True), config))
