"""Work run through thread and process pools lands in the submitter's session and trace.

Thread pools in process (the application-style provider of conftest, our patch applied and
removed by a fixture); process pools in real subprocesses against a real OTLP receiver,
under fork, forkserver and spawn, sync and from asyncio (``loop.run_in_executor``).
"""

from __future__ import annotations

import asyncio
import collections
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest
from opentelemetry import trace

import sentrial
from sentrial_otel._internal.process import executors
from tests.support.agent_process import agent_env, start_agent, write_script
from tests.support.otlp_receiver import OtlpReceiver

ORIGINAL_THREAD_SUBMIT = ThreadPoolExecutor.submit
ORIGINAL_PROCESS_SUBMIT = ProcessPoolExecutor.submit


@pytest.fixture
def carried():
    executors.instrument()
    yield
    executors.uninstrument()
    assert ThreadPoolExecutor.submit is ORIGINAL_THREAD_SUBMIT


@sentrial.tool
def look_up(i):
    with trace.get_tracer("another.instrumentation").start_as_current_span("http GET"):
        return {"found": i}


def _check_tools_in_session(spans, agent: str, count: int) -> None:
    root = spans.one(f"invoke_agent {agent}")
    tools = spans.named("execute_tool look_up")
    assert len(tools) == count
    for tool in tools:
        assert tool.context.trace_id == root.context.trace_id
        assert tool.parent.span_id == root.context.span_id
        assert tool.attributes["sentrial.session.id"] == root.attributes["sentrial.session.id"]
    # Another instrumentation's span in the worker nests under the tool, in the same trace.
    others = spans.named("http GET")
    assert sorted(s.parent.span_id for s in others) == sorted(t.context.span_id for t in tools)
    assert all(s.attributes["sentrial.session.id"] == root.attributes["sentrial.session.id"] for s in others)


def test_thread_pool_work_records_into_the_session(carried, spans):
    client = sentrial.SentrialClient()
    with client.begin(user_id="u", event="pooled"):
        with ThreadPoolExecutor(2) as pool:
            assert list(pool.map(look_up, [1, 2, 3])) == [{"found": 1}, {"found": 2}, {"found": 3}]
    _check_tools_in_session(spans, "pooled", 3)


def test_run_in_executor_from_asyncio_records_into_the_session(carried, spans):
    client = sentrial.SentrialClient()

    async def agent():
        async with client.begin(user_id="u", event="async-pooled"):
            loop = asyncio.get_running_loop()
            await asyncio.gather(*(loop.run_in_executor(None, look_up, i) for i in range(2)))

    asyncio.run(agent())
    _check_tools_in_session(spans, "async-pooled", 2)


def test_instrument_is_idempotent_and_undone(spans):
    executors.instrument()
    executors.instrument()
    assert executors.is_instrumented()
    executors.uninstrument()
    assert ThreadPoolExecutor.submit is ORIGINAL_THREAD_SUBMIT
    assert ProcessPoolExecutor.submit is ORIGINAL_PROCESS_SUBMIT
    # Undone means undone: a pool thread starts with an empty context again.
    client = sentrial.SentrialClient()
    with client.begin(user_id="u", event="not-carried"):
        with ThreadPoolExecutor(1) as pool:
            pool.submit(look_up, 1).result()
    assert spans.named("execute_tool look_up") == []


def test_another_patch_on_top_of_ours_is_left_alone():
    executors.instrument()
    ours = ThreadPoolExecutor.submit

    def theirs(self, fn, /, *args, **kwargs):
        return ours(self, fn, *args, **kwargs)

    ThreadPoolExecutor.submit = theirs
    try:
        executors.uninstrument()
        assert ThreadPoolExecutor.submit is theirs  # not ours to undo any more
        with ThreadPoolExecutor(1) as pool:
            assert pool.submit(look_up, 1).result() == {"found": 1}  # and still works
    finally:
        ThreadPoolExecutor.submit = ORIGINAL_THREAD_SUBMIT


PROCESS_AGENT = """
    import asyncio, multiprocessing, sys
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
    from opentelemetry import trace
    import sentrial

    @sentrial.tool
    def look_up(i):
        with trace.get_tracer("another.instrumentation").start_as_current_span("http GET"):
            return {"found": i}

    async def from_asyncio(pool):
        loop = asyncio.get_running_loop()
        return await asyncio.gather(*(loop.run_in_executor(pool, look_up, i) for i in range(2)))

    if __name__ == "__main__":
        method, mode = sys.argv[1], sys.argv[2]
        client = sentrial.SentrialClient()
        interaction = client.begin(user_id="u", event="pooled")
        with trace.get_tracer("app").start_as_current_span("plan"):
            if mode == "threads":
                with ThreadPoolExecutor(2) as pool:
                    results = list(pool.map(look_up, range(2)))
            else:
                context = multiprocessing.get_context(method)
                with ProcessPoolExecutor(2, mp_context=context) as pool:
                    if mode == "sync":
                        results = list(pool.map(look_up, range(2)))
                    else:
                        results = asyncio.run(from_asyncio(pool))
        assert results == [{"found": 0}, {"found": 1}], results
        interaction.finish(output="ok")
        print("done", flush=True)
"""


def _run_pool_agent(tmp_path, method: str, mode: str, **env: str) -> list:
    script = write_script(tmp_path, PROCESS_AGENT)
    with OtlpReceiver() as rx:
        agent = start_agent(script, agent_env(rx.endpoint, tmp_path, **env), method, mode)
        out, err = agent.communicate(timeout=120)
        assert agent.returncode == 0 and "done" in out, err
        spans = rx.spans()
    assert len({s.span_id for s in spans}) == len(spans), "a span was delivered twice"
    return spans


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["sync", "asyncio"])
@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_process_pool_work_records_into_the_session(tmp_path, method, mode):
    spans = _run_pool_agent(tmp_path, method, mode)
    (root,) = [s for s in spans if s.is_root]
    (plan,) = [s for s in spans if s.name == "plan"]
    tools = [s for s in spans if s.name == "execute_tool look_up"]
    others = [s for s in spans if s.name == "http GET"]
    assert len(tools) == 2 and len(others) == 2
    # The tool calls are children of the span that submitted them, in the session's trace,
    # and carry its ids; so does another instrumentation's span inside them.
    assert {s.trace_id for s in [plan, *tools, *others]} == {root.trace_id}
    assert {t.parent_span_id for t in tools} == {plan.span_id}
    assert sorted(o.parent_span_id for o in others) == sorted(t.span_id for t in tools)
    session_id = root.attributes["sentrial.session.id"]
    assert all(s.attributes["sentrial.session.id"] == session_id for s in [*tools, *others])
    assert root.attributes["sentrial.session.success"] is True


@pytest.mark.slow
def test_with_the_setting_off_pools_are_left_alone(tmp_path):
    spans = _run_pool_agent(tmp_path, "fork", "threads", SENTRIAL_INSTRUMENT_EXECUTORS="false")
    names = collections.Counter(s.name for s in spans)
    assert names["execute_tool look_up"] == 0  # no session in the pool's threads, as before
    assert names["http GET"] == 2
    roots = {s.trace_id for s in spans if s.is_root}
    assert len(roots) == 3  # the session, and one trace of its own per pool span
