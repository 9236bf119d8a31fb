"""Tail sampling keeps sessions whole, on the real collector with otelcol.yaml unchanged.

300 sessions from one process (failed, abandoned, costly, healthy: ``agents.mix``), plus
one tool call on every fifth session from a second process that knows only the session
id (``agents.attach``); baseline sampling at 20 % through BASELINE_SAMPLING_PERCENTAGE.
In Jaeger: every failed, abandoned and costly session is complete; every healthy one is
complete or absent, never partial; and the kept share of healthy ones is near 20 %.
"""

from __future__ import annotations

import math
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.backends.agents import ABANDONED, COSTLY, FAILED, HEALTHY, SPANS, agent_env, run_program
from tests.support.backends import Jaeger, Otelcol

pytestmark = pytest.mark.slow

SESSIONS = 300
BASELINE_PERCENT = 20
ATTACH_EVERY = 5
# Long enough for the second process's spans to arrive before the decision.
DECISION_WAIT_S = 8


def expected_spans(index: int, kind: str) -> int:
    return SPANS[kind] + (1 if index % ATTACH_EVERY == 0 else 0)


def send_mix(endpoint: str, service: str, home: Path, run: str, **env: str
             ) -> list[tuple[str, str]]:
    """Record the mix, then attach from a second process; [(session id, kind)]."""
    agent = agent_env(endpoint, service, home, **env)
    sessions = [tuple(pair) for pair in run_program(agent, "mix", str(SESSIONS), run)[0]["sessions"]]
    attached = [sid for index, (sid, _) in enumerate(sessions) if index % ATTACH_EVERY == 0]
    run_program(agent, "attach", run, *attached)
    return sessions  # type: ignore[return-value]


def traces_by_session(traces: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found = {}
    for trace in traces:
        ids = {tag["value"] for span in trace["spans"] for tag in span["tags"]
               if tag["key"] == "sentrial.session.id"}
        assert len(ids) == 1, ids
        found[ids.pop()] = trace
    return found


def check_whole_sessions(sessions: list[tuple[str, str]], stored: dict[str, dict[str, Any]]
                         ) -> dict[str, int]:
    """Assert the sampling contract; kept count per kind."""
    kept = {FAILED: 0, ABANDONED: 0, COSTLY: 0, HEALTHY: 0}
    for index, (sid, kind) in enumerate(sessions):
        trace = stored.get(sid)
        if trace is None:
            assert kind == HEALTHY, f"{kind} session {sid} was dropped"
            continue
        kept[kind] += 1
        names = sorted(span["operationName"] for span in trace["spans"])
        assert len(names) == expected_spans(index, kind), (kind, sid, names)
        if index % ATTACH_EVERY == 0:
            assert "execute_tool follow_up" in names, (kind, sid, names)
    return kept


def test_tail_sampling_keeps_sessions_whole(jaeger: Jaeger, tmp_path: Path,
                                            record_property: Any) -> None:
    service = f"sampling-{uuid.uuid4().hex[:8]}"
    run = uuid.uuid4().hex
    with Otelcol(["otelcol.yaml"], jaeger=jaeger, keys=["k"], workdir=tmp_path / "otelcol",
                 env={"DECISION_WAIT": f"{DECISION_WAIT_S}s",
                      "BASELINE_SAMPLING_PERCENTAGE": str(BASELINE_PERCENT)}) as otelcol:
        sessions = send_mix(otelcol.http_endpoint, service, tmp_path / "home", run,
                            SENTRIAL_API_KEY="k")
        must_keep = sum(1 for _, kind in sessions if kind != HEALTHY)
        traces = jaeger.wait_for_traces(service, {"sentrial.metadata.run": run},
                                        count=must_keep, timeout=DECISION_WAIT_S + 40,
                                        settle=3.0)
    stored = traces_by_session(traces)
    kept = check_whole_sessions(sessions, stored)
    healthy = sum(1 for _, kind in sessions if kind == HEALTHY)
    assert kept[FAILED] + kept[ABANDONED] + kept[COSTLY] == must_keep
    share = kept[HEALTHY] / healthy
    # Binomial: within 3.5 standard deviations of the configured share.
    p = BASELINE_PERCENT / 100
    sigma = math.sqrt(p * (1 - p) / healthy)
    record_property("healthy_kept", f"{kept[HEALTHY]}/{healthy} = {share:.1%}")
    print(f"sampling: kept {kept}; healthy {kept[HEALTHY]}/{healthy} = {share:.1%} "
          f"(configured {BASELINE_PERCENT} %)")
    assert abs(share - p) <= 3.5 * sigma, (share, p)
