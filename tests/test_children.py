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

    if os.environ.get("CLIENT_AT_IMPORT"):
        # Built at import: spawn and forkserver children build theirs while they import
        # this module, before multiprocessing bootstraps them.
        client = sentrial.SentrialClient()
        begin = client.begin
    else:
        begin = sentrial.begin  # the default client, built on first use

    @sentrial.tool
    def look_up(i):
        return {"found": i}

    def record(tag):
        for i in range(SESSIONS):
            interaction = begin(user_id="u", event=tag)
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


def _run(tmp_path, method: str, mode: str, **env: str) -> tuple[dict[str, int], str]:
    """Sessions delivered per agent name, and the agent's stderr."""
    script = write_script(tmp_path, AGENT)
    with OtlpReceiver() as rx:
        agent = start_agent(script, agent_env(rx.endpoint, tmp_path, **env), method, mode)
        out, err = agent.communicate(timeout=120)
        assert agent.returncode == 0 and "done" in out, err
        return _sessions_by_agent(rx), err


def _every_session(*tasks: str) -> dict[str, int]:
    return {tag: SESSIONS_PER_TASK for tag in ("parent", *tasks)}


ALL_TASKS = ("task-0", "task-1", "task-2", "task-3")


@pytest.mark.parametrize("mode", ["process", "pool", "with_pool"])
@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_sessions_finished_in_children_are_delivered(tmp_path, method, mode):
    counts, stderr = _run(tmp_path, method, mode)
    assert counts == _every_session(*(ALL_TASKS[:2] if mode == "process" else ALL_TASKS))
    assert "not delivered" not in stderr, stderr


@pytest.mark.parametrize("mode", ["process", "with_pool"])
@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_a_client_built_at_import_delivers_from_children(tmp_path, method, mode):
    counts, _ = _run(tmp_path, method, mode, CLIENT_AT_IMPORT="1")
    assert counts == _every_session(*(ALL_TASKS[:2] if mode == "process" else ALL_TASKS))


def test_a_child_ending_with_os_exit_delivers_what_it_flushed(tmp_path):
    counts, _ = _run(tmp_path, "fork", "os_exit")
    assert counts == _every_session("task-0", "task-1")
