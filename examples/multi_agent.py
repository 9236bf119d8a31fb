"""Multi-agent: an orchestrator session hands work to child sessions in worker threads.

    python examples/multi_agent.py
    sentrial-otel sessions list

Each session is its own trace (one session, one trace). A child session names its parent
with ``parent_session_id``: its root span carries ``sentrial.session.parent_id`` and a span
link to the parent's root, so Jaeger and Tempo can jump from child to parent, and each
agent's trace stays small and complete on its own.
"""

from concurrent.futures import ThreadPoolExecutor

import sentrial

client = sentrial.SentrialClient()


def research(parent_id: str, topic: str) -> str:
    """A sub-agent: a session of its own, linked to the orchestrator's session."""
    child_id = client.create_session(
        name=f"research {topic}",
        agent_name="researcher",
        user_id="user_123",
        parent_session_id=parent_id,
    )
    # Events tracked by id from this worker thread land in the child's trace.
    client.track_tool_call(child_id, "web_search", {"query": topic}, {"hits": 3})
    client.track_llm_call(child_id, provider="openai", model="gpt-4o-mini",
                          input=f"Summarise {topic}", output=f"{topic}: three findings",
                          prompt_tokens=300, completion_tokens=60)
    client.complete_session(child_id, success=True)
    return child_id


def main() -> None:
    orchestrator = client.begin(user_id="user_123", event="orchestrator",
                                input="Compare vector databases")
    orchestrator.track_decision(
        reasoning="Split the question: one researcher per candidate",
        alternatives=["answer directly"],
        confidence=0.8,
    )
    topics = ["pgvector", "qdrant", "weaviate"]
    with ThreadPoolExecutor(max_workers=3) as pool:
        children = list(pool.map(lambda t: research(orchestrator.session_id, t), topics))
    orchestrator.track_tool_call("merge_reports", {"reports": len(children)}, {"ok": True})
    orchestrator.finish(output="pgvector for small, qdrant for large collections")

    print(f"orchestrator {orchestrator.session_id}")
    for child in children:
        print(f"  child {child}")


if __name__ == "__main__":
    main()
