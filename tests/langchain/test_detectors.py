"""Detected issues in LangChain runs: a real ``create_agent`` loop driven by a scripted fake
chat model, inside a Sentrial session (the Sentrial handler, and the auto-instrumentation
under a native session), read back over real OTLP/HTTP."""

from __future__ import annotations

from typing import Any

from langchain.agents import create_agent
from langchain_core.messages import AIMessage
from langchain_core.tools import StructuredTool, ToolException, tool

import sentrial_otel
from sentrial import SentrialClient
from sentrial.langchain import SentrialCallbackHandler
from sentrial_otel import semconv as sc
from tests.langchain import fakes
from tests.langchain.conftest import instrumented
from tests.test_detectors import Wire, findings, issue, wire  # noqa: F401 - the fixture

QUESTION = {"messages": [{"role": "user", "content": "where is my order?"}]}


def _lookup(order_id: str) -> str:
    raise ToolException(f"order {order_id} not found")


lookup = StructuredTool.from_function(_lookup, name="lookup", description="Find an order.",
                                      handle_tool_error=True)


@tool
def order_status(order_id: str) -> str:
    """The status of an order."""
    return "pending"


def answer(text: str, finish_reason: str) -> AIMessage:
    return AIMessage(
        content=text,
        usage_metadata={"input_tokens": 30, "output_tokens": 8, "total_tokens": 38},
        response_metadata={"model_name": f"{fakes.MODEL}-2024-07-18", "finish_reason": finish_reason},
    )


def order_agent() -> Any:
    call = fakes.tool_call_message
    model = fakes.ScriptedChatModel([
        call("lookup", {"order_id": "A1"}, "c1", (10, 5)),
        call("lookup", {"order_id": "A-1"}, "c2", (12, 5)),
        call("order_status", {"order_id": "A1"}, "c3", (14, 5)),
        call("order_status", {"order_id": "A1"}, "c4", (16, 5)),
        call("order_status", {"order_id": "A1"}, "c5", (18, 5)),
        answer("Your order A1 is still", "length"),
    ])
    return create_agent(model, [lookup, order_status], name="order_agent")


def test_a_looping_agent_run_through_the_sentrial_handler(wire: Wire) -> None:
    client = SentrialClient(tracer_provider=wire.provider)
    sid = client.create_session(name="s", agent_name="support-agent", user_id="u")
    handler = SentrialCallbackHandler(client, sid)
    order_agent().invoke(QUESTION, {"callbacks": [handler]})
    handler.finish()

    total = 1 + 1 + 6 + 5  # root, agent, chats, tools
    root = wire.root(total)
    assert root.attributes[sc.SENTRIAL_SESSION_ISSUES] == [
        "tool_loop", "tool_error_streak", "truncated_output",
    ]
    assert root.attributes[sc.SENTRIAL_SESSION_ISSUE_COUNT] == 3
    assert findings(root) == [
        issue("tool_loop", "order_status called 3 times with the same arguments",
              wire.span_id(total, "execute_tool order_status", 2)),
        issue("tool_error_streak", "2 tool calls in a row failed, the last with sentrial.tool_error",
              wire.span_id(total, "execute_tool lookup", 1)),
        issue("truncated_output", f"{fakes.MODEL} stopped at its output limit",
              wire.span_id(total, f"chat {fakes.MODEL}", 5)),
    ]
    client.shutdown()


def test_instrumented_runs_in_a_native_session(wire: Wire) -> None:
    telemetry = sentrial_otel.Telemetry(sentrial_otel.resolve_settings(),
                                        tracer_provider=wire.provider)
    silent = create_agent(fakes.ScriptedChatModel([answer("  ", "stop")]), [order_status],
                          name="silent_agent")
    with instrumented(wire.provider), telemetry.session("support-agent"):
        silent.invoke(QUESTION)

    root = wire.root(3)
    assert findings(root) == [
        issue("empty_output", f"{fakes.MODEL} returned no text and no tool call",
              wire.span_id(3, f"chat {fakes.MODEL}")),
    ]


def test_a_healthy_agent_run_has_no_issue(wire: Wire) -> None:
    telemetry = sentrial_otel.Telemetry(
        sentrial_otel.resolve_settings(budget_usd=1.0, slow_step_seconds=30),
        tracer_provider=wire.provider,
    )
    model = fakes.ScriptedChatModel([
        fakes.tool_call_message("order_status", {"order_id": "A1"}, "c1", (10, 5)),
        fakes.tool_call_message("order_status", {"order_id": "B2"}, "c2", (10, 5)),
        fakes.answer_message("A1 and B2 are pending.", (20, 6)),
    ])
    agent = create_agent(model, [order_status], name="order_agent")
    with instrumented(wire.provider), telemetry.session("support-agent"):
        agent.invoke(QUESTION)

    root = wire.root(1 + 1 + 3 + 2)
    assert sc.SENTRIAL_SESSION_ISSUES not in root.attributes
    assert findings(root) == []
