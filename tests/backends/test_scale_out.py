"""Scale-out on the real collector: tier 1 (otelcol-tier1.yaml: API keys, ``load_balancing``
by trace id, static resolver from TIER2_HOSTNAMES) -> two tier-2 collectors
(otelcol-tier2.yaml: tail sampling) -> Jaeger, every file unchanged.

Each tier 2 also sends what it keeps to its own OTLP receiver (TEMPO_OTLP_ENDPOINT: Tempo
is not built here), which is how the test reads each tier 2's own output: every span of a
session, the second process's included, went through the same tier 2, and the sessions are
complete in Jaeger.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from tests.backends.test_sampling import (
    check_whole_sessions,
    expected_spans,
    send_mix,
    traces_by_session,
)
from tests.support.backends import Jaeger, Otelcol
from tests.support.otlp_receiver import OtlpReceiver

pytestmark = pytest.mark.slow

TIER2_ENV = {"DECISION_WAIT": "5s", "BASELINE_SAMPLING_PERCENTAGE": "100"}


def test_loadbalancing_sends_each_session_to_one_tier2(jaeger: Jaeger, tmp_path: Path) -> None:
    service = f"scale-{uuid.uuid4().hex[:8]}"
    run = uuid.uuid4().hex
    with OtlpReceiver("grpc") as out_a, OtlpReceiver("grpc") as out_b:
        tier2 = [
            Otelcol(["otelcol-tier2.yaml"], jaeger=jaeger, tempo=f"{rx.host}:{rx.port}",
                    env=TIER2_ENV, workdir=tmp_path / f"tier2-{n}")
            for n, rx in ((1, out_a), (2, out_b))
        ]
        with tier2[0], tier2[1]:
            hostnames = ", ".join(t.grpc_address for t in tier2)
            with Otelcol(["otelcol-tier1.yaml"], keys=["k"], workdir=tmp_path / "tier1",
                         env={"TIER2_HOSTNAMES": f"[{hostnames}]",
                              "TIER2_OTLP_ENDPOINT": tier2[0].grpc_address}) as tier1:
                sessions = send_mix(tier1.http_endpoint, service, tmp_path / "home", run,
                                    SENTRIAL_API_KEY="k")
                total_spans = sum(expected_spans(i, kind) for i, (_, kind) in enumerate(sessions))
                traces = jaeger.wait_for_traces(service, {"sentrial.metadata.run": run},
                                                count=len(sessions), spans=total_spans,
                                                timeout=60, settle=1.0)
            # The same batches went to each tier 2's own receiver: wait for all of them.
            deadline = time.monotonic() + 20
            while out_a.span_count() + out_b.span_count() < total_spans and (
                    time.monotonic() < deadline):
                time.sleep(0.2)

    stored = traces_by_session(traces)
    assert len(stored) == len(sessions)
    check_whole_sessions(sessions, stored)

    # Each tier 2's own output: a session's spans all went through one of them.
    seen_by = [Counter(span.trace_id for span in rx.spans()) for rx in (out_a, out_b)]
    trace_of = {sid: trace["traceID"].zfill(32) for sid, trace in stored.items()}
    for index, (sid, kind) in enumerate(sessions):
        trace_id = trace_of[sid]
        where = [n for n, counts in enumerate(seen_by) if trace_id in counts]
        assert len(where) == 1, f"session {sid} went through tier 2 {where}"
        assert seen_by[where[0]][trace_id] == expected_spans(index, kind), sid
    # Both tier-2 replicas took a share (300 sessions by trace id: never all on one).
    assert all(len(counts) > len(sessions) // 5 for counts in seen_by), [len(c) for c in seen_by]
