"""Faults on the real path (agent -> otelcol.yaml -> Jaeger), counted in Jaeger against what
docs/reliability.md promises.

- The collector restarted mid-run (SIGTERM, back on the same ports within seconds): what
  was sent before, during and after arrives, each session once, even the sessions still
  waiting in tail sampling when it stopped (it decides on them as it shuts down); a SIGKILL
  loses the sessions it held.
- Jaeger down, then back: the collector's sending queue keeps retrying, so sessions sent
  while Jaeger was down arrive when it returns (Jaeger's memory storage itself starts empty).

The agent is tests/test_faults.py's driven subprocess (``record N TAG``, ``flush``, ``exit``).
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from tests.support.backends import Jaeger, Otelcol
from tests.test_faults import Agent

pytestmark = pytest.mark.slow

BATCH = 10


def sessions_named(jaeger: Jaeger, service: str, tag: str) -> int:
    traces = jaeger.traces(service, {"sentrial.session.name": tag})
    for trace in traces:
        ids = [span["spanID"] for span in trace["spans"]]
        assert len(ids) == len(set(ids)), f"a span of {tag} was stored twice"
    return len(traces)


def wait_for_sessions(jaeger: Jaeger, service: str, tag: str, count: int,
                      timeout: float) -> tuple[int, float]:
    """(sessions named ``tag`` found, seconds it took) once ``count`` arrived or at timeout."""
    started = time.monotonic()
    found = 0
    while time.monotonic() - started < timeout:
        found = sessions_named(jaeger, service, tag)
        if found >= count:
            break
        time.sleep(0.5)
    return found, time.monotonic() - started


def send_batch(agent: Agent, tag: str) -> None:
    """BATCH sessions named ``tag``, flushed to the collector."""
    agent.record(BATCH, tag)
    assert agent.ask("flush 5")["ok"]


def first_batch_arrives(otelcol: Otelcol, jaeger: Jaeger, service: str, home: Path,
                        tag: str) -> Agent:
    """A driven agent sending to ``otelcol``, whose first batch is seen in Jaeger."""
    agent = Agent(otelcol.http_endpoint, home, SENTRIAL_API_KEY="k", OTEL_SERVICE_NAME=service)
    send_batch(agent, tag)
    assert wait_for_sessions(jaeger, service, tag, BATCH, 30)[0] == BATCH
    return agent


def test_collector_restarted_mid_run(jaeger: Jaeger, tmp_path: Path) -> None:
    service = f"restart-{uuid.uuid4().hex[:8]}"
    # Long enough that "pending" and "killed" are still undecided when the collector stops.
    with Otelcol(["otelcol.yaml"], jaeger=jaeger, keys=["k"], workdir=tmp_path / "otelcol",
                 env={"DECISION_WAIT": "5s", "BASELINE_SAMPLING_PERCENTAGE": "100"}) as otelcol:
        agent = first_batch_arrives(otelcol, jaeger, service, tmp_path / "home", "before")

        # Accepted by the collector, still waiting in tail sampling: then SIGTERM.
        send_batch(agent, "pending")
        otelcol.stop()
        agent.record(BATCH, "during")  # the collector is down: the SDK retries
        time.sleep(1)
        otelcol.start()
        agent.record(BATCH, "after")
        assert agent.ask("flush 10")["ok"]
        for tag in ("pending", "during", "after"):
            wait_for_sessions(jaeger, service, tag, BATCH, 30)

        # Accepted, still waiting in tail sampling: then SIGKILL.
        send_batch(agent, "killed")
        otelcol.kill()
        otelcol.start()
        exit_s, stderr = agent.exit()
        time.sleep(7)  # past the decision wait: nothing of "killed" comes back
        counts = {tag: sessions_named(jaeger, service, tag)
                  for tag in ("before", "pending", "during", "after", "killed")}
    print(f"collector restart: sessions in Jaeger per batch of {BATCH}: {counts}")
    # SIGTERM: the tail-sampling processor decides on what it holds before it exits, and
    # the SDK's retries carry the outage; SIGKILL loses what the collector held.
    assert counts == {"before": BATCH, "pending": BATCH, "during": BATCH, "after": BATCH,
                      "killed": 0}, counts
    assert exit_s < 10 and not [line for line in stderr if "Traceback" in line], stderr


def test_jaeger_down_then_back(tmp_path: Path, engines_built: None) -> None:
    service = f"jaegerdown-{uuid.uuid4().hex[:8]}"
    with Jaeger(workdir=tmp_path / "jaeger") as jaeger, Otelcol(
            ["otelcol.yaml"], jaeger=jaeger, keys=["k"], workdir=tmp_path / "otelcol",
            env={"DECISION_WAIT": "1s", "BASELINE_SAMPLING_PERCENTAGE": "100"}) as otelcol:
        agent = first_batch_arrives(otelcol, jaeger, service, tmp_path / "home", "up")

        jaeger.kill()
        send_batch(agent, "down")  # the collector takes them: it is up
        time.sleep(3)
        jaeger.start()
        down, waited = wait_for_sessions(jaeger, service, "down", BATCH, 60)
        send_batch(agent, "back")
        back, _ = wait_for_sessions(jaeger, service, "back", BATCH, 20)
        agent.exit()
        up = sessions_named(jaeger, service, "up")
    print(f"jaeger down then back: down batch arrived {waited:.1f} s after Jaeger restarted; "
          f"up={up} (memory storage restarts empty) down={down} back={back}")
    assert (down, back) == (BATCH, BATCH)
    assert up == 0  # Jaeger's memory storage: what it held before the kill is gone
