"""The whole exit, ending the open sessions included, stays within the shutdown budget,
whatever the collector does, and what could not be delivered is counted and reported.

Each agent is a real subprocess: it completes some sessions (their spans are queued), leaves
many open and returns from its script; the test times the exit from its last line.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from tests.support.agent_process import EXIT_AGENT, agent_env, start_agent, write_script
from tests.support.otlp_receiver import OtlpReceiver

pytestmark = pytest.mark.slow


def _exit(tmp_path, endpoint: str, completed: int, still_open: int, **env: str) -> tuple[float, str]:
    """(seconds from the agent's last line to its end, its stderr)."""
    script = write_script(tmp_path, EXIT_AGENT)
    agent = start_agent(script, agent_env(endpoint, tmp_path, **env), str(completed), str(still_open))
    out, err = agent.communicate(timeout=120)
    ended_at = time.time()
    assert agent.returncode == 0, err
    return ended_at - json.loads(out)["leaving_at"], err


def _not_delivered(stderr: str) -> int:
    found = re.search(r"(\d+) spans were not delivered", stderr)
    assert found, stderr
    return int(found.group(1))


def test_abandoned_roots_are_not_dropped_for_a_full_queue(tmp_path):
    with OtlpReceiver() as rx:
        # A queue of 64 spans, and 1,000 sessions still open at exit.
        _, stderr = _exit(tmp_path, rx.endpoint, 10, 1000, OTEL_BSP_MAX_QUEUE_SIZE="64",
                          OTEL_BSP_MAX_EXPORT_BATCH_SIZE="64")
        roots = [s for s in rx.spans() if s.is_root]
    abandoned = [r for r in roots if r.attributes.get("sentrial.session.abandoned")]
    assert len(abandoned) == 1000 and len(roots) == 1010
    assert "not delivered" not in stderr and "queue" not in stderr, stderr


@pytest.mark.parametrize("fault", ["refused", "503", "hang"])
def test_exit_stays_within_the_budget_whatever_the_collector_does(tmp_path, fault):
    with OtlpReceiver() as rx:
        if fault == "503":
            rx.fail_with(503)  # forever
        elif fault == "hang":
            rx.hang()
        endpoint = rx.endpoint
        if fault == "refused":
            rx.stop()
        took, stderr = _exit(tmp_path, endpoint, 100, 1000, SENTRIAL_SHUTDOWN_TIMEOUT="2")
        rx.release()
    assert took < 2 + 1.5, took  # the budget, plus room for a loaded machine
    # Everything is counted: 100 completed sessions (2 spans each) and 1,000 abandoned roots.
    assert _not_delivered(stderr) == 100 * 2 + 1000, stderr


def test_sessions_the_budget_cannot_reach_are_counted(tmp_path):
    dead = OtlpReceiver().start()
    endpoint = dead.endpoint
    dead.stop()
    # 0.1 s cannot end 5,000 sessions: the rest are reported, and the exit stays bounded.
    took, stderr = _exit(tmp_path, endpoint, 100, 5000, SENTRIAL_SHUTDOWN_TIMEOUT="0.1")
    assert took < 0.1 + 1.5, took
    ran_out = re.search(r"after ending (\d+) of 5000 open sessions", stderr)
    assert ran_out and int(ran_out.group(1)) < 5000, stderr
    assert _not_delivered(stderr) == 100 * 2 + 5000, stderr
    assert f"{5000 - int(ran_out.group(1))} sessions not ended within the exit budget" in stderr
