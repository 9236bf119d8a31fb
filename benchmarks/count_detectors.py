"""The detectors' cost in counted instructions, which the machine's load does not move.

A session of 3,000 facade events (tool call, decision, LLM call in turn), then the
detectors judge its steps K times. Run under callgrind with K=0 and K=10; the difference of
the two counts over 10 x 3,000 is the detectors' cost per step::

    for k in 0 10; do PYTHONHASHSEED=0 valgrind --tool=callgrind \
        --callgrind-out-file=/tmp/judge.$k python benchmarks/count_detectors.py $k; done
    grep ^summary: /tmp/judge.0 /tmp/judge.10
"""

from __future__ import annotations

import sys

from _common import REPO  # noqa: F401, I001 - sets sys.path first
from bench_events import NoopExporter, events_with
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

import sentrial
from sentrial_otel._internal.spans.detectors import SessionSteps, judge

EVENTS = 3000


def main(times: int) -> None:
    provider = TracerProvider(shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(NoopExporter()))
    client = sentrial.SentrialClient(tracer_provider=provider, budget_usd=0.01,
                                     slow_step_seconds=1.0)
    calls = list(events_with().values())
    sid = client.create_session(name="bench", agent_name="bench-agent", user_id="u1")
    for index in range(EVENTS):
        calls[index % len(calls)](client, sid)
    steps = tuple(client.telemetry.open_session(sid).steps)
    root = steps[-1]._replace(kind="agent", cost=sum(step.cost for step in steps))
    view = SessionSteps(steps, root, sid, "bench-agent", client.telemetry.settings.issues,
                        True, True)
    for _ in range(times):
        judge(view)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
