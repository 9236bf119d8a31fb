"""Head sampling by the standard OTEL_TRACES_SAMPLER ratios keeps its share of sessions, whole.

A process configured by environment only records sessions (generated ids, and ids a user
brings: v4, v7 and v1 UUIDs, plain strings), a second process joins each by its id alone,
and a real OTLP receiver counts what arrives. A sampler reads the trace id's bits as a
random number, so a trace id that is not uniform in them keeps the wrong share (a v4 UUID's
own bits kept no session at 0.25).
"""

from __future__ import annotations

import collections
import json
import math
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from sentrial_otel._internal.spans import ids
from tests.support.otlp_receiver import OtlpReceiver, SpanRecord

SRC = str(Path(__file__).resolve().parents[1] / "src")
pytestmark = pytest.mark.slow

# Sessions per kind of id in each run: a few hundred in all, enough that a wrong share
# falls outside the sampling error below.
COUNTS = {"generated": 300, "uuid4": 100, "uuid7": 100, "uuid1": 100, "string": 100}
SPANS_PER_SESSION = {
    "invoke_agent sampled-agent",
    "execute_tool search",
    "decision sampled-agent",
    "execute_tool late_step",
    "execute_tool worker_step",
}

ORIGIN = """
    import json, sys, time, uuid
    import sentrial_otel

    def uuid7(i):
        # One millisecond, a counter in the random part: what a monotonic v7 generator gives.
        ms = int(time.time() * 1000)
        return str(uuid.UUID(int=(ms << 80) | (0x7 << 76) | (0b10 << 62) | i))

    given = {
        "generated": lambda i: None,
        "uuid4": lambda i: str(uuid.uuid4()),
        "uuid7": uuid7,
        "uuid1": lambda i: str(uuid.uuid1()),
        "string": lambda i: f"ticket-{i}",
    }
    telemetry = sentrial_otel.configure()
    for kind, count in json.loads(sys.argv[1]).items():
        for i in range(count):
            session = telemetry.start_session("sampled-agent", user_id="u", session_id=given[kind](i))
            tool = session.track_tool_call("search", {"q": i}, {"hits": 1})
            # Nested under the tool span by the ids its result gave.
            session.track_decision("answer", trace_id=tool["trace_id"], span_id=tool["span_id"])
            result = session.finish()
            # A late event, for a session no longer open here: it joins the trace by id.
            telemetry.get_session(session.session_id).track_tool_call("late_step", {}, {})
            print(json.dumps({"kind": kind, "session_id": session.session_id,
                              "trace_id": result["trace_id"]}))
"""

WORKER = """
    import json, sys
    import sentrial

    client = sentrial.SentrialClient()
    for line in sys.stdin:
        client.track_tool_call(json.loads(line)["session_id"], "worker_step", {}, {})
"""


def run(code: str, env: dict[str, str], args: list[str], stdin: str = "") -> str:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SENTRIAL_"))}
    full_env.update(env)
    full_env["PYTHONPATH"] = SRC + os.pathsep + full_env.get("PYTHONPATH", "")
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env=full_env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "sentrial:" not in result.stderr, result.stderr
    return result.stdout


def within_sampling_error(kept: int, total: int, ratio: float, sigmas: float = 5.0) -> bool:
    """Whether ``kept`` of ``total`` is a binomial draw at ``ratio``, to ``sigmas`` standard
    deviations: a correct sampler falls outside about once in 1.7 million checks."""
    return abs(kept - total * ratio) <= sigmas * math.sqrt(total * ratio * (1 - ratio))


def assert_whole(trace: list[SpanRecord]) -> None:
    """A kept session has every span, each under its parent in the session; none is stray."""
    by_name = {span.name: span for span in trace}
    assert len(trace) == len(SPANS_PER_SESSION) and set(by_name) == SPANS_PER_SESSION, [
        s.name for s in trace
    ]
    root = by_name["invoke_agent sampled-agent"]
    assert root.is_root
    assert by_name["decision sampled-agent"].parent_span_id == by_name["execute_tool search"].span_id
    for name in ("execute_tool search", "execute_tool late_step", "execute_tool worker_step"):
        assert by_name[name].parent_span_id == root.span_id


@pytest.mark.parametrize(
    ("sampler", "ratio"),
    [
        ("parentbased_traceidratio", 0.25),
        ("parentbased_traceidratio", 0.5),
        ("parentbased_traceidratio", 0.75),
        ("traceidratio", 0.25),
        ("traceidratio", 0.6),
    ],
)
def test_a_ratio_sampler_keeps_its_share_of_sessions_whole(tmp_path, sampler, ratio):
    with OtlpReceiver(protocol="http/protobuf") as rx:
        env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": rx.endpoint,
            "OTEL_TRACES_SAMPLER": sampler,
            "OTEL_TRACES_SAMPLER_ARG": str(ratio),
            # Room for every span even if the export thread falls behind on a busy machine.
            "OTEL_BSP_MAX_QUEUE_SIZE": "100000",
            "SENTRIAL_HOME": str(tmp_path),
        }
        origin = run(ORIGIN, env, [json.dumps(COUNTS)])
        run(WORKER, env, [], stdin=origin)  # another process, with nothing but the ids
        received = rx.spans()  # both processes flushed at exit

    sessions = [json.loads(line) for line in origin.splitlines()]
    assert len(sessions) == sum(COUNTS.values())
    traces: dict[str, list[SpanRecord]] = collections.defaultdict(list)
    for span in received:
        traces[span.trace_id].append(span)
    kind_of = {session["trace_id"]: session["kind"] for session in sessions}
    assert set(traces) <= set(kind_of), "spans arrived in traces of no session"
    for trace in traces.values():
        assert_whole(trace)

    kept = collections.Counter(kind_of[trace_id] for trace_id in traces)
    for kind, total in COUNTS.items():
        assert within_sampling_error(kept[kind], total, ratio), (kind, kept[kind], total, ratio)
    assert within_sampling_error(len(traces), len(sessions), ratio), (len(traces), ratio)


# --- the derivation itself, read as each kind of sampler reads it ---------------------------

LOW_64 = (1 << 64) - 1  # the Python SDK's TraceIdRatioBased
LOW_56 = (1 << 56) - 1  # consistent-probability samplers, the W3C random-trace-id flag


def some_ids(kind: str, count: int) -> list[str]:
    if kind == "uuid4":
        return [str(uuid.uuid4()) for _ in range(count)]
    if kind == "uuid1":
        return [str(uuid.uuid1()) for _ in range(count)]
    if kind == "uuid7":
        return [str(uuid.UUID(int=(1_700_000_000_000 << 80) | (0x7 << 76) | (0b10 << 62) | i))
                for i in range(count)]
    return [f"order-{i}" for i in range(count)]


@pytest.mark.parametrize("kind", ["uuid4", "uuid7", "uuid1", "string"])
@pytest.mark.parametrize("ratio", [0.01, 0.1, 0.25, 0.5, 0.9])
def test_every_part_of_the_trace_id_a_sampler_reads_is_uniform(kind, ratio):
    session_ids = some_ids(kind, 4000)
    trace_ids = [ids.trace_id_for(session_id) for session_id in session_ids]

    by_low_64 = sum(t & LOW_64 < round(ratio * 2**64) for t in trace_ids)
    # Kept when the randomness is at least the threshold (OpenTelemetry's consistent
    # probability sampling: threshold = 2**56 - ratio * 2**56).
    by_low_56 = sum(t & LOW_56 >= 2**56 - round(ratio * 2**56) for t in trace_ids)
    by_high_64 = sum(t >> 64 < round(ratio * 2**64) for t in trace_ids)

    for kept in (by_low_64, by_low_56, by_high_64):
        assert within_sampling_error(kept, len(trace_ids), ratio), (kept, ratio)
