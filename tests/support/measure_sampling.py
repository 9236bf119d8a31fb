"""Measure how many sessions the standard ratio samplers keep, per kind of session id.

    PYTHONPATH=src:. python -m tests.support.measure_sampling --sessions 200
    # the same against another checkout's code:
    PYTHONPATH=src:. python -m tests.support.measure_sampling --src /path/to/old/src

For each sampler (``OTEL_TRACES_SAMPLER``) and ratio (``OTEL_TRACES_SAMPLER_ARG``), one
process configured by environment only records ``--sessions`` sessions of 3 spans for each
kind of id (generated, and a caller's v4, v7 and v1 UUIDs and plain strings) into a real
OTLP receiver. Prints the sessions kept per kind, and whether every kept one arrived whole.
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from tests.support.otlp_receiver import OtlpReceiver

KINDS = ("generated", "v4", "v7", "v1", "string")
SCRIPT = """
    import sys, time, uuid
    import sentrial_otel

    def v7(i):
        return str(uuid.UUID(int=(int(time.time() * 1000) << 80) | (7 << 76) | (2 << 62) | i))

    make = {"generated": lambda i: None, "v4": lambda i: str(uuid.uuid4()), "v7": v7,
            "v1": lambda i: str(uuid.uuid1()), "string": lambda i: f"ticket-{i}"}
    telemetry = sentrial_otel.configure()
    for kind in make:
        for i in range(int(sys.argv[1])):
            session = telemetry.start_session("agent", user_id="u", session_id=make[kind](i))
            session.track_tool_call("search", {"q": i}, {"hits": 1})
            session.track_decision("answer")
            print(kind, session.finish()["trace_id"])
"""


def measure(src: str, sampler: str, ratio: str, sessions: int) -> str:
    with OtlpReceiver(protocol="http/protobuf") as rx, tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SENTRIAL_"))}
        env.update(
            OTEL_EXPORTER_OTLP_ENDPOINT=rx.endpoint,
            OTEL_TRACES_SAMPLER=sampler,
            OTEL_TRACES_SAMPLER_ARG=ratio,
            OTEL_BSP_MAX_QUEUE_SIZE="100000",  # no span dropped for a slow export thread
            SENTRIAL_HOME=home,
            PYTHONPATH=src,
        )
        result = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(SCRIPT), str(sessions)],
            env=env, capture_output=True, text=True, timeout=600, check=True,
        )
        spans = rx.spans()
    kind_of = {trace_id: kind for kind, trace_id in map(str.split, result.stdout.splitlines())}
    per_trace = collections.Counter(span.trace_id for span in spans)
    kept = collections.Counter(kind_of[trace_id] for trace_id in per_trace)
    whole = all(count == 3 for count in per_trace.values())
    counts = " ".join(f"{kind}={kept[kind]:3d}" for kind in KINDS)
    return f"{sampler:25s} {ratio:5s} {counts}  of {sessions} each, whole={whole}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", default=str(Path(__file__).resolve().parents[2] / "src"))
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--ratios", nargs="+", default=["0.1", "0.25", "0.5", "0.6", "0.7", "0.9"])
    args = parser.parse_args()
    for sampler in ("parentbased_traceidratio", "traceidratio"):
        for ratio in args.ratios:
            print(measure(args.src, sampler, ratio, args.sessions), flush=True)


if __name__ == "__main__":
    main()
