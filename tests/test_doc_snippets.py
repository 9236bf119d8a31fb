"""Every snippet of the Sentrial sessions doc runs unchanged and produces the right spans."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sentrial_otel import semconv as sc

SNIPPETS = Path(__file__).parent / "doc_snippets"
DOC = Path(__file__).resolve().parents[2] / "shared" / "reference" / "sentrial-sessions-doc.txt"
TRACK_MARKER = "# Track events manually...\n"


def snippet(name: str) -> str:
    return (SNIPPETS / f"{name}.py").read_text()


class FakeAgent:
    """Stands in for the doc's `agent`: the doc leaves the agent itself to the reader."""

    def run(self, user_input: str) -> str:
        return f"Answer to: {user_input}"


@pytest.mark.skipif(not DOC.exists(), reason="shared/ is not beside the checkout")
def test_snippets_are_verbatim_copies_of_the_doc():
    doc = DOC.read_text()
    for path in SNIPPETS.glob("*.py"):
        if path.name != "__init__.py":
            assert path.read_text().strip() in doc, f"{path.name} differs from the doc"


def test_begin_finish_snippet(spans):
    namespace = {"agent": FakeAgent(), "user_input": "How do I reset my password?"}
    exec(compile(snippet("begin_finish"), "begin_finish.py", "exec"), namespace)
    root = spans.one("invoke_agent chat_message")
    assert root.attributes[sc.USER_ID] == "user_123"
    assert root.attributes[sc.GEN_AI_CONVERSATION_ID] == "conv_456"
    assert root.attributes[sc.SENTRIAL_SESSION_SUCCESS] is True
    assert root.attributes[sc.SENTRIAL_SESSION_COST_USD] == 0.023
    output = json.loads(root.attributes[sc.GEN_AI_OUTPUT_MESSAGES])
    assert output[0]["parts"][0]["content"] == "Answer to: How do I reset my password?"
    assert all("sentrial_live_xxx" not in str(v) for v in root.attributes.values())


def test_full_control_snippets_with_events(spans):
    """The full-control snippet, with the two event snippets where it says to track events."""
    full = snippet("full_control")
    before, after = full.split(TRACK_MARKER)
    namespace: dict[str, object] = {}
    for part, name in (
        (before, "full_control.py"),
        (snippet("track_tool_call"), "track_tool_call.py"),
        (snippet("track_decision"), "track_decision.py"),
        (after, "full_control.py"),
    ):
        exec(compile(part, name, "exec"), namespace)
    root = spans.one("invoke_agent support-agent")
    tool = spans.one("execute_tool search_knowledge_base")
    decision = spans.one("decision support-agent")
    assert tool.parent.span_id == root.context.span_id
    assert decision.parent.span_id == root.context.span_id
    assert root.attributes[sc.SENTRIAL_SESSION_NAME] == "Customer Support Request"
    assert root.attributes["sentrial.metadata.ticket_id"] == "TKT-789"
    assert root.attributes[sc.SENTRIAL_SESSION_COST_USD] == 0.045
    assert root.attributes[sc.SENTRIAL_SESSION_TOTAL_TOKENS] == 2000
    assert root.attributes["sentrial.metric.satisfaction"] == 4.5
    assert decision.attributes[sc.SENTRIAL_DECISION_CONFIDENCE] == 0.92


def test_event_snippets_after_completion_still_join_the_trace(spans):
    """Run in the doc's order: events tracked after complete_session land in the same trace."""
    namespace: dict[str, object] = {}
    for name in ("full_control", "track_tool_call", "track_decision"):
        exec(compile(snippet(name), f"{name}.py", "exec"), namespace)
    root = spans.one("invoke_agent support-agent")
    for child in (spans.one("execute_tool search_knowledge_base"), spans.one("decision support-agent")):
        assert child.context.trace_id == root.context.trace_id
        assert child.parent.span_id == root.context.span_id
