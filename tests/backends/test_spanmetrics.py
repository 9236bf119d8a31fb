"""The span_metrics connector on the real collector: the Prometheus endpoint (PROMETHEUS_ENDPOINT) shows
call counts and duration histograms by ``gen_ai.agent.name`` and ``gen_ai.operation.name``
that match the spans sent (read from the collector's own output, every session kept).
"""

from __future__ import annotations

import re
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from tests.backends.agents import FRONT_DOORS_SPANS, SPANS, agent_env, kind_of, run_program
from tests.support.backends import Jaeger, Otelcol
from tests.support.otlp_receiver import OtlpReceiver

pytestmark = pytest.mark.slow

SAMPLE = re.compile(r"^([a-z_]+)\{([^}]*)\} ([0-9.e+]+)$")
LABEL = re.compile(r'([a-z_]+)="((?:[^"\\]|\\.)*)"')
MIX = 12
FLUSH_S = 15  # otelcol.yaml's metrics_flush_interval
# A cumulative counter's first point is 0 (so that rate() sees the first increase): the
# counts show from the second flush on, up to two intervals after the spans.


def samples(text: str, metric: str, service: str) -> Counter[tuple[str, str]]:
    """Sum of a metric's samples per (agent, operation), for one service."""
    sums: Counter[tuple[str, str]] = Counter()
    for line in text.splitlines():
        match = SAMPLE.match(line)
        if not match or match.group(1) != metric:
            continue
        labels = dict(LABEL.findall(match.group(2)))
        if labels.get("service_name") == service:
            key = (labels.get("gen_ai_agent_name", ""), labels.get("gen_ai_operation_name", ""))
            sums[key] += int(float(match.group(3)))
    return sums


def test_spanmetrics_count_calls_and_durations_by_agent_and_operation(
        jaeger: Jaeger, tmp_path: Path) -> None:
    service = f"metrics-{uuid.uuid4().hex[:8]}"
    with OtlpReceiver("grpc") as output, Otelcol(
            ["otelcol.yaml"], jaeger=jaeger, tempo=f"{output.host}:{output.port}", keys=["k"],
            workdir=tmp_path / "otelcol",
            env={"DECISION_WAIT": "1s", "BASELINE_SAMPLING_PERCENTAGE": "100"}) as otelcol:
        env = agent_env(otelcol.http_endpoint, service, tmp_path / "home", SENTRIAL_API_KEY="k")
        run_program(env, "front-doors", uuid.uuid4().hex)
        run_program(env, "mix", str(MIX), uuid.uuid4().hex)
        # Every span has gone through tail sampling (all kept) to the collector's output.
        sent = output.wait_for_spans(
            FRONT_DOORS_SPANS + sum(SPANS[kind_of(i)] for i in range(MIX)), timeout=60)
        expected = Counter(
            (str(s.attributes.get("gen_ai.agent.name", "")),
             str(s.attributes.get("gen_ai.operation.name", "")))
            for s in sent
        )
        deadline = time.monotonic() + 3 * FLUSH_S
        calls: Counter[tuple[str, str]] = Counter()
        while time.monotonic() < deadline:
            text = otelcol.metrics_text()
            calls = samples(text, "traces_span_metrics_calls", service)
            if calls == expected:
                break
            time.sleep(1)
    assert calls == expected
    # The histogram counts the same calls, and its buckets are cumulative up to +Inf.
    assert samples(text, "traces_span_metrics_duration_count", service) == expected
    inf_buckets = Counter()
    for line in text.splitlines():
        if line.startswith("traces_span_metrics_duration_bucket{") and 'le="+Inf"' in line:
            labels = dict(LABEL.findall(line[line.index("{") + 1:line.rindex("}")]))
            if labels.get("service_name") == service:
                inf_buckets[(labels.get("gen_ai_agent_name", ""),
                             labels.get("gen_ai_operation_name", ""))] += int(float(line.split()[-1]))
    assert inf_buckets == expected
    # The pairs a dashboard groups by are there: every agent, every operation sent.
    assert {("support-agent", "invoke_agent"), ("mix-agent", "execute_tool"),
            ("weather_agent", "chat")} <= set(calls)
