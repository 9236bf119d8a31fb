"""Tail sampling keeps every session the detectors found an issue in, on the real collector
with otelcol.yaml unchanged, while healthy sessions are sampled away.

40 successful, cheap sessions from one process (``agents.issues``): a quarter call one tool
three times with the same arguments (``tool_loop``), a quarter take a decision with
confidence 0.2 (``low_confidence``), half are healthy. No other policy keeps any of them,
and the baseline share is 0 % (BASELINE_SAMPLING_PERCENTAGE): Jaeger must hold exactly the
sessions with issues, each whole, with its findings on the root.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.backends.agents import DOUBTFUL, HEALTHY, LOOPING, agent_env, run_program
from tests.backends.test_sampling import traces_by_session
from tests.support.backends import Jaeger, Otelcol

pytestmark = pytest.mark.slow

SESSIONS = 40
SPANS = 5  # root, three tool calls, a decision
DECISION_WAIT_S = 3
KIND = {LOOPING: "tool_loop", DOUBTFUL: "low_confidence"}


def tag(span: dict, key: str) -> object:
    return next((t["value"] for t in span["tags"] if t["key"] == key), None)


def test_sessions_with_issues_are_kept_and_healthy_ones_sampled_away(
    jaeger: Jaeger, tmp_path: Path
) -> None:
    service = f"issues-{uuid.uuid4().hex[:8]}"
    run = uuid.uuid4().hex
    with Otelcol(["otelcol.yaml"], jaeger=jaeger, keys=["k"], workdir=tmp_path / "otelcol",
                 env={"DECISION_WAIT": f"{DECISION_WAIT_S}s",
                      "BASELINE_SAMPLING_PERCENTAGE": "0"}) as otelcol:
        agent = agent_env(otelcol.http_endpoint, service, tmp_path / "home", SENTRIAL_API_KEY="k")
        sessions = run_program(agent, "issues", str(SESSIONS), run)[0]["sessions"]
        with_issues = {sid: kind for sid, kind in sessions if kind != HEALTHY}
        # Healthy sessions were recorded between them: once these are decided, so are those.
        traces = jaeger.wait_for_traces(service, {"sentrial.metadata.run": run},
                                        count=len(with_issues), timeout=DECISION_WAIT_S + 40,
                                        settle=DECISION_WAIT_S + 2.0)
    stored = traces_by_session(traces)
    assert len(with_issues) == SESSIONS // 2
    assert set(stored) == set(with_issues)  # every one with issues, not one healthy one
    for sid, kind in with_issues.items():
        spans = stored[sid]["spans"]
        assert len(spans) == SPANS, (kind, sorted(s["operationName"] for s in spans))
        (root,) = [s for s in spans if s["operationName"] == "invoke_agent issues-agent"]
        assert tag(root, "sentrial.session.issue_count") == 1
        events = [{f["key"]: f["value"] for f in log["fields"]} for log in root["logs"]]
        assert [e.get("sentrial.issue.kind") for e in events
                if e.get("event") == "sentrial.issue"] == [KIND[kind]]
