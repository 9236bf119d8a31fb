"""10,000 sessions at once across 8 threads and 200 asyncio tasks: no span lost or mixed up,
nothing left in memory afterwards."""

from __future__ import annotations

import asyncio
import gc
import json
import threading
import weakref
from collections import defaultdict

import sentrial
from sentrial_otel import semconv as sc
from sentrial_otel._internal.spans.stamping import SESSION_INDEX

THREADS, PER_THREAD = 8, 625  # 5,000 sessions through the client, by session id
TASKS, PER_TASK = 200, 25  # 5,000 sessions as active contexts inside asyncio tasks
SESSIONS = THREADS * PER_THREAD + TASKS * PER_TASK
SPANS_PER_SESSION = 3  # root, tool call, decision


def test_ten_thousand_concurrent_sessions(spans):
    client = sentrial.SentrialClient()
    engine = client.telemetry
    index_before = len(SESSION_INDEX)
    refs: list[weakref.ref] = []
    refs_lock = threading.Lock()
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS + 1)

    def keep(session) -> None:
        with refs_lock:
            refs.append(weakref.ref(session))

    def thread_worker(worker: int) -> None:
        try:
            start.wait()
            for i in range(PER_THREAD):
                sid = client.create_session(name="t", agent_name=f"thread-{worker}", user_id=f"u{i}")
                keep(engine.open_session(sid))
                client.track_tool_call(sid, "lookup", {"owner": sid}, {"ok": True})
                client.track_decision(sid, f"decided for {sid}", alternatives=["a", "b"])
                client.complete_session(sid)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    async def task_worker(task: int) -> None:
        for i in range(PER_TASK):
            with engine.session(f"task-{task}", user_id=f"u{i}") as session:
                keep(session)
                await asyncio.sleep(0)  # let the other 199 tasks run inside their sessions
                # No session id given: the current (context-local) session is used.
                current = engine.current_session()
                current.track_tool_call("lookup", {"owner": current.session_id}, {"ok": True})
                await asyncio.sleep(0)
                engine.current_session().track_decision(f"decided for {session.session_id}")

    async def all_tasks() -> None:
        await asyncio.gather(*(task_worker(t) for t in range(TASKS)))

    threads = [threading.Thread(target=thread_worker, args=(w,)) for w in range(THREADS)]
    for thread in threads:
        thread.start()
    start.wait()
    asyncio.run(all_tasks())
    for thread in threads:
        thread.join(60)
    assert not [thread.name for thread in threads if thread.is_alive()], "a worker hung"
    assert not errors, errors[:3]

    finished = spans.all()
    assert len(finished) == SESSIONS * SPANS_PER_SESSION
    roots = {s.context.trace_id: s for s in finished if s.parent is None}
    assert len(roots) == SESSIONS
    children = defaultdict(list)
    for span in finished:
        if span.parent is not None:
            children[span.context.trace_id].append(span)
    for trace_id, root in roots.items():
        session_id = root.attributes[sc.SENTRIAL_SESSION_ID]
        kids = children[trace_id]
        assert sorted(k.name.split()[0] for k in kids) == ["decision", "execute_tool"], session_id
        for kid in kids:
            assert kid.parent.span_id == root.context.span_id
            assert kid.attributes[sc.SENTRIAL_SESSION_ID] == session_id
            assert kid.attributes[sc.GEN_AI_AGENT_NAME] == root.attributes[sc.GEN_AI_AGENT_NAME]
            if kid.name.startswith("execute_tool"):
                owner = json.loads(kid.attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS])["owner"]
                assert owner == session_id
            else:
                assert session_id in kid.attributes[sc.SENTRIAL_DECISION_REASONING]

    # Nothing left behind: no open session, no stamping entry, no session object alive.
    assert engine.open_sessions() == []
    assert len(SESSION_INDEX) == index_before
    del finished, roots, children
    spans.exporter.clear()
    gc.collect()
    assert len(refs) == SESSIONS
    alive = [ref for ref in refs if ref() is not None]
    assert not alive, f"{len(alive)} sessions still referenced"
