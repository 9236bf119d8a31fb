"""begin/finish, Interaction as a context manager, decorators, SessionContext, threads, asyncio."""

from __future__ import annotations

import asyncio
import json
import threading

import pytest
from opentelemetry.trace import StatusCode

import sentrial
from sentrial_otel import semconv as sc


@pytest.fixture(autouse=True)
def default_client() -> sentrial.SentrialClient:
    return sentrial.configure(api_key="k", fail_silently=False)


def test_begin_finish(spans):
    interaction = sentrial.begin(
        user_id="user_123", event="chat_message", input="User's question", convo_id="conv_456",
        event_id="0123456789abcdef", metadata={"channel": "web"},
    )
    assert interaction.event_id == "0123456789abcdef"
    assert interaction.user_id == "user_123"
    assert interaction.event == "chat_message"
    assert sentrial.get_current_session_id() == interaction.session_id
    assert sentrial.get_current_interaction() is interaction
    result = interaction.finish(output="the answer", success=True, estimated_cost=0.023)
    assert sentrial.get_current_session_id() is None
    root = spans.one("invoke_agent chat_message")
    assert root.attributes[sc.SENTRIAL_SESSION_NAME] == "chat_message:01234567"
    assert root.attributes[sc.GEN_AI_AGENT_NAME] == "chat_message"
    assert root.attributes[sc.GEN_AI_CONVERSATION_ID] == "conv_456"
    assert root.attributes["sentrial.metadata.channel"] == "web"
    assert json.loads(root.attributes[sc.GEN_AI_INPUT_MESSAGES])[0]["parts"][0]["content"] == "User's question"
    assert json.loads(root.attributes[sc.GEN_AI_OUTPUT_MESSAGES])[0]["parts"][0]["content"] == "the answer"
    assert root.attributes[sc.SENTRIAL_SESSION_COST_USD] == 0.023
    assert result["success"] is True
    assert interaction.finish() == {}


def test_default_event_id_is_a_uuid(spans):
    import uuid

    interaction = sentrial.begin(user_id="u", event="e")
    uuid.UUID(interaction.event_id)
    interaction.finish()
    assert spans.one("invoke_agent e").attributes[sc.SENTRIAL_SESSION_NAME] == f"e:{interaction.event_id[:8]}"


def test_interaction_events(spans):
    interaction = sentrial.begin(user_id="u", event="agent")
    interaction.track_tool_call("lookup", {"id": 1}, {"name": "x"}, reasoning="why", estimated_cost=0.5)
    interaction.track_decision("pick", alternatives=["a"], confidence=0.5)
    interaction.track_llm_call(provider="openai", model="gpt-4o-mini", prompt_tokens=10, completion_tokens=5)
    interaction.finish(output="ok")
    root = spans.one("invoke_agent agent")
    for name in ("execute_tool lookup", "decision agent", "chat gpt-4o-mini"):
        assert spans.one(name).parent.span_id == root.context.span_id
    assert root.attributes[sc.SENTRIAL_SESSION_TOTAL_TOKENS] == 15
    assert root.attributes[sc.SENTRIAL_SESSION_COST_USD] == pytest.approx(0.5 + (10 * 0.15 + 5 * 0.6) / 1e6)


def test_context_manager_success(spans):
    with sentrial.begin(user_id="u", event="cm") as interaction:
        interaction.set_output("kept output")
    root = spans.one("invoke_agent cm")
    assert root.attributes[sc.SENTRIAL_SESSION_SUCCESS] is True
    assert "kept output" in root.attributes[sc.GEN_AI_OUTPUT_MESSAGES]


def test_context_manager_exception_fails_and_propagates(spans):
    with pytest.raises(KeyError):
        with sentrial.begin(user_id="u", event="cm"):
            raise KeyError("missing")
    root = spans.one("invoke_agent cm")
    assert root.attributes[sc.SENTRIAL_SESSION_SUCCESS] is False
    assert root.attributes[sc.SENTRIAL_SESSION_FAILURE_REASON] == "KeyError: 'missing'"
    assert root.status.status_code is StatusCode.ERROR
    assert root.attributes[sc.ERROR_TYPE] == "KeyError"
    (event,) = [e for e in root.events if e.name == "exception"]
    assert event.attributes[sc.EXCEPTION_TYPE] == "KeyError"
    assert "Traceback" in event.attributes[sc.EXCEPTION_STACKTRACE]


def test_track_error_fails_the_interaction_at_exit(spans):
    with sentrial.begin(user_id="u", event="cm") as interaction:
        interaction.track_error("tool exploded", error_type="ToolError")
    root = spans.one("invoke_agent cm")
    assert root.attributes[sc.SENTRIAL_SESSION_SUCCESS] is False
    assert root.attributes[sc.SENTRIAL_SESSION_FAILURE_REASON] == "tool exploded"
    assert root.attributes[sc.ERROR_TYPE] == "ToolError"


def test_tool_decorator_inside_session(spans):
    @sentrial.tool
    def add(a: int, b: int) -> int:
        return a + b

    @sentrial.tool("multiply")
    def mul(a: int, b: int) -> int:
        return a * b

    @sentrial.tool(name="fails")
    def boom() -> None:
        raise RuntimeError("no")

    with sentrial.begin(user_id="u", event="calc"):
        assert add(2, b=3) == 5
        assert mul(2, 4) == 8
        with pytest.raises(RuntimeError):
            boom()
    root = spans.one("invoke_agent calc")
    add_span = spans.one("execute_tool add")
    assert add_span.parent.span_id == root.context.span_id
    assert json.loads(add_span.attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS]) == {"a": 2, "b": 3}
    assert json.loads(add_span.attributes[sc.GEN_AI_TOOL_CALL_RESULT]) == {"result": 5}
    assert add_span.end_time >= add_span.start_time
    assert spans.one("execute_tool multiply").attributes[sc.GEN_AI_TOOL_NAME] == "multiply"
    failed = spans.one("execute_tool fails")
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.attributes[sc.ERROR_TYPE] == "RuntimeError"
    assert sc.GEN_AI_TOOL_CALL_RESULT not in failed.attributes


def test_tool_decorator_outside_session_just_runs(spans):
    @sentrial.tool
    def double(x: int) -> int:
        return 2 * x

    assert double(4) == 8
    assert spans.all() == []


def test_async_tool_and_session_decorators(spans):
    @sentrial.tool
    async def fetch(url: str) -> str:
        await asyncio.sleep(0)
        return f"body of {url}"

    @sentrial.session("async-agent")
    async def handle(user_id: str, message: str) -> str:
        return await fetch("http://example.invalid")

    assert asyncio.run(handle("user_9", "hello")) == "body of http://example.invalid"
    root = spans.one("invoke_agent async-agent")
    assert root.attributes[sc.USER_ID] == "user_9"
    assert "hello" in root.attributes[sc.GEN_AI_INPUT_MESSAGES]
    assert "body of" in root.attributes[sc.GEN_AI_OUTPUT_MESSAGES]
    assert spans.one("execute_tool fetch").parent.span_id == root.context.span_id


def test_session_decorator_forms(spans):
    @sentrial.session
    def plain(input: str) -> str:  # noqa: A002
        return input.upper()

    @sentrial.session(agent_name="kw-agent", user_id_param="uid", input_param="question")
    def keyword(uid: str, question: str) -> str:
        return "answer"

    @sentrial.session("failing")
    def failing(user_id: str) -> None:
        raise ValueError("bad")

    assert plain("hi") == "HI"
    assert keyword(uid="u7", question="q?") == "answer"
    with pytest.raises(ValueError):
        failing("u1")
    plain_root = spans.one("invoke_agent plain")
    assert plain_root.attributes[sc.USER_ID] == "anonymous"
    kw_root = spans.one("invoke_agent kw-agent")
    assert kw_root.attributes[sc.USER_ID] == "u7"
    assert "q?" in kw_root.attributes[sc.GEN_AI_INPUT_MESSAGES]
    failed = spans.one("invoke_agent failing")
    assert failed.attributes[sc.SENTRIAL_SESSION_SUCCESS] is False
    assert failed.attributes[sc.SENTRIAL_SESSION_FAILURE_REASON] == "ValueError: bad"


def test_session_context_sync_and_async(spans):
    with sentrial.SessionContext(user_id="u1", agent="ctx-agent", input="in") as ctx:
        assert sentrial.get_current_session_id() == ctx.session_id
        assert ctx.interaction is sentrial.get_current_interaction()
        ctx.set_output("out")

    async def run() -> str | None:
        async with sentrial.SessionContext(user_id="u2", agent="async-ctx") as actx:
            actx.set_output("async out")
            return actx.session_id

    async_id = asyncio.run(run())
    assert sentrial.get_current_session_id() is None
    sync_root = spans.one("invoke_agent ctx-agent")
    assert "out" in sync_root.attributes[sc.GEN_AI_OUTPUT_MESSAGES]
    assert spans.one("invoke_agent async-ctx").attributes[sc.SENTRIAL_SESSION_ID] == async_id


def test_nested_sessions_restore_the_outer_one(spans):
    with sentrial.begin(user_id="u", event="outer") as outer:
        with sentrial.begin(user_id="u", event="inner") as inner:
            assert sentrial.get_current_session_id() == inner.session_id
        assert sentrial.get_current_session_id() == outer.session_id
    assert sentrial.get_current_session_id() is None
    # Each session is its own trace.
    assert spans.one("invoke_agent outer").context.trace_id != spans.one("invoke_agent inner").context.trace_id


def test_concurrent_sessions_in_threads_never_mix(spans):
    errors: list[BaseException] = []

    @sentrial.tool
    def work(n: int) -> int:
        return n

    def run(index: int) -> None:
        try:
            with sentrial.begin(user_id=f"user-{index}", event="threaded") as interaction:
                for step in range(5):
                    work(step)
                    interaction.track_decision(f"d{step}")
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    roots = {span.context.trace_id: span for span in spans.named("invoke_agent threaded")}
    assert len(roots) == 16
    children = [s for s in spans.all() if s.parent is not None]
    assert len(children) == 16 * 10
    for child in children:
        root = roots[child.context.trace_id]
        assert child.parent.span_id == root.context.span_id
        assert child.attributes[sc.SENTRIAL_SESSION_ID] == root.attributes[sc.SENTRIAL_SESSION_ID]
        assert child.attributes[sc.USER_ID] == root.attributes[sc.USER_ID]


def test_concurrent_sessions_in_asyncio_tasks_never_mix(spans):
    @sentrial.tool
    async def step(n: int) -> int:
        await asyncio.sleep(0)
        return n

    async def one(index: int) -> None:
        async with sentrial.SessionContext(user_id=f"user-{index}", agent="tasks"):
            for n in range(3):
                await step(n)

    async def main() -> None:
        await asyncio.gather(*(one(i) for i in range(50)))

    asyncio.run(main())
    roots = {span.context.trace_id: span for span in spans.named("invoke_agent tasks")}
    assert len(roots) == 50
    tools = spans.named("execute_tool step")
    assert len(tools) == 150
    for tool in tools:
        root = roots[tool.context.trace_id]
        assert tool.parent.span_id == root.context.span_id
        assert tool.attributes[sc.USER_ID] == root.attributes[sc.USER_ID]
