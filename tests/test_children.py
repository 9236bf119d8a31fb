"""Sessions finished in multiprocessing children are delivered, with no code change.

Every start method (fork, forkserver, spawn) with ``Process``, ``Pool`` (close/join) and
``with Pool()`` (whose exit terminates the workers: they get SIGTERM), each in a real
subprocess sending to a real OTLP receiver. See docs/reliability.md, "Processes".
"""

from __future__ import annotations

import collections

import pytest

from tests.support.agent_process import agent_env, start_agent, write_script
from tests.support.otlp_receiver import OtlpReceiver

pytestmark = pytest.mark.slow

SESSIONS_PER_TASK = 5
AGENT = """
    import multiprocessing, os, sys
    import sentrial

    @sentrial.tool
    def look_up(i):
        return {"found": i}

    def record(tag):
        for i in range(SESSIONS):
            interaction = sentrial.begin(user_id="u", event=tag)
            look_up(i)
            interaction.finish(output="ok")
        return interaction.client

    def work(tag):
        record(tag)
        return tag

    def work_then_os_exit(tag):
        client = record(tag)
        client.flush(10)  # a bare os._exit runs no exit hook: flush first
        os._exit(0)

    if __name__ == "__main__":
        method, mode = sys.argv[1], sys.argv[2]
        context = multiprocessing.get_context(method)
        work("parent")  # the parent records too, before its children start
        tags = ["task-0", "task-1", "task-2", "task-3"]
        if mode == "process":
            children = [context.Process(target=work, args=(tag,)) for tag in tags[:2]]
        elif mode == "os_exit":
            children = [context.Process(target=work_then_os_exit, args=(tag,)) for tag in tags[:2]]
        if mode in ("process", "os_exit"):
            for child in children:
                child.start()
            for child in children:
                child.join()
            assert [child.exitcode for child in children] == [0, 0], [c.exitcode for c in children]
        elif mode == "pool":
            pool = context.Pool(2)
            assert pool.map(work, tags) == tags
            pool.close()
            pool.join()
        elif mode == "with_pool":
            with context.Pool(2) as pool:  # __exit__ terminates the workers (SIGTERM)
                assert pool.map(work, tags) == tags
        print("done", flush=True)
""".replace("SESSIONS", str(SESSIONS_PER_TASK))


def _sessions_by_agent(rx: OtlpReceiver) -> dict[str, int]:
    spans = rx.spans()
    assert len({s.span_id for s in spans}) == len(spans), "a span was delivered twice"
    roots = {s.trace_id: s for s in spans if s.is_root}
    tools = [s for s in spans if s.name == "execute_tool look_up"]
    # Every tool call lands in its own session's trace, under its root.
    assert all(roots[t.trace_id].span_id == t.parent_span_id for t in tools)
    assert len(tools) == len(roots)
    return dict(collections.Counter(r.attributes["gen_ai.agent.name"] for r in roots.values()))


@pytest.mark.parametrize("mode", ["process", "pool", "with_pool"])
@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_sessions_finished_in_children_are_delivered(tmp_path, method, mode):
    script = write_script(tmp_path, AGENT)
    with OtlpReceiver() as rx:
        agent = start_agent(script, agent_env(rx.endpoint, tmp_path), method, mode)
        out, err = agent.communicate(timeout=120)
        assert agent.returncode == 0 and "done" in out, err
        counts = _sessions_by_agent(rx)
    tasks = ["task-0", "task-1"] if mode == "process" else ["task-0", "task-1", "task-2", "task-3"]
    assert counts == {"parent": SESSIONS_PER_TASK, **{tag: SESSIONS_PER_TASK for tag in tasks}}
    assert "not delivered" not in err, err


def test_a_child_ending_with_os_exit_delivers_what_it_flushed(tmp_path):
    script = write_script(tmp_path, AGENT)
    with OtlpReceiver() as rx:
        agent = start_agent(script, agent_env(rx.endpoint, tmp_path), "fork", "os_exit")
        out, err = agent.communicate(timeout=120)
        assert agent.returncode == 0 and "done" in out, err
        counts = _sessions_by_agent(rx)
    assert counts == {"parent": SESSIONS_PER_TASK, "task-0": SESSIONS_PER_TASK, "task-1": SESSIONS_PER_TASK}
