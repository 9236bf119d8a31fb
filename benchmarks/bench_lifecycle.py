"""Benchmark 6: the session lifecycle at scale: exit time, ``begin()`` latency, memory.

Three measurements, each in fresh subprocesses (agents configured by environment only,
OTLP/HTTP, the default 5 s shutdown budget unless ``--budget``):

- **exit**: an agent completes ``--completed`` sessions (so spans are queued), leaves N
  sessions open and returns from its script. Measured: the wall time from its last line to
  the end of the process (atexit: the open sessions are ended as abandoned and delivered
  within the budget), how many abandoned roots reached the collector, and the undelivered
  count of the exit report. Collectors: ``healthy`` (an ``OtlpReceiver`` here), ``refused``
  (a closed port), ``503`` (answers 503 forever), ``hang`` (accepts, never answers).
- **begin**: ``client.begin()`` latency (median, p99, max over ``--samples`` calls, each
  finished right after) with N other sessions open.
- **memory**: bytes allocated per open session (tracemalloc, 10,000 sessions opened with
  ``client.begin()``), then the time to end each one as abandoned, as the exit does
  (``OTEL_TRACES_EXPORTER=none``: the engine's cost alone).

Goals (issue 16): exit within the budget (+0.5 s with a dead collector) whatever is open,
every abandoned root delivered with a healthy collector; ``begin()`` flat in N; at most
2 KB per open session beyond its attributes.

Usage::

    python benchmarks/bench_lifecycle.py [--open 0,1000,20000,50000] [--rounds 1]
        [--collectors healthy,refused,503,hang] [--fault-open 0,1000] [--samples 2000]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import textwrap
import time

from _common import REPO, emit, fmt, spread, versions  # noqa: I001 - sets sys.path first

from tests.support.agent_process import EXIT_AGENT
from tests.support.otlp_receiver import OtlpReceiver

BEGIN_AGENT = textwrap.dedent(
    """
    import json, statistics, sys, time
    import sentrial
    still_open, samples = int(sys.argv[1]), int(sys.argv[2])
    client = sentrial.SentrialClient()
    for i in range(still_open):
        client.begin(user_id="u", event="open")
    timings = []
    for i in range(samples):
        start = time.perf_counter()
        interaction = client.begin(user_id="u", event="measured")
        timings.append((time.perf_counter() - start) * 1000)
        interaction.finish(output="ok")
    timings.sort()
    print(json.dumps({
        "median_ms": statistics.median(timings),
        "p99_ms": timings[int(len(timings) * 0.99) - 1],
        "max_ms": timings[-1],
    }), flush=True)
    import os
    os._exit(0)  # the exit is measured elsewhere
    """
)

MEMORY_AGENT = textwrap.dedent(
    """
    import gc, json, sys, tracemalloc
    import sentrial
    count = int(sys.argv[1])
    client = sentrial.SentrialClient()
    client.begin(user_id="u", event="warm").finish()
    kept = []
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for i in range(count):
        kept.append(client.begin(user_id="user-1", event="support-agent", input="hello"))
    gc.collect()
    after = tracemalloc.take_snapshot()
    total = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    tracemalloc.stop()
    gc.disable()  # as the exit work does
    import time
    started = time.perf_counter()
    ended = client.telemetry.end_open_sessions()  # what the exit does to each one
    per_session_us = (time.perf_counter() - started) / ended * 1e6
    print(json.dumps({"bytes_per_session": total / count, "end_us_per_session": per_session_us}),
          flush=True)
    import os
    os._exit(0)
    """
)

NOT_DELIVERED = re.compile(r"(\d+) spans were not delivered")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def agent_env(endpoint: str | None, home: str, budget: float | None, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SENTRIAL_"))}
    env.update(PYTHONPATH=str(REPO / "src"), SENTRIAL_HOME=home, **extra)
    if endpoint is not None:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint
    if budget is not None:
        env["SENTRIAL_SHUTDOWN_TIMEOUT"] = str(budget)
    return env


def exit_run(endpoint: str, completed: int, still_open: int, home: str, budget: float | None) -> dict:
    process = subprocess.Popen(
        [sys.executable, "-c", EXIT_AGENT, str(completed), str(still_open)],
        env=agent_env(endpoint, home, budget),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert process.stdout is not None and process.stderr is not None
    line = process.stdout.readline()
    if not line:
        raise RuntimeError(process.stderr.read())
    leaving_at = json.loads(line)["leaving_at"]
    stderr = process.stderr.read()
    process.wait(timeout=600)
    exit_s = time.time() - leaving_at
    found = NOT_DELIVERED.search(stderr)
    return {
        "exit_s": exit_s,
        "returncode": process.returncode,
        "not_delivered": int(found.group(1)) if found else 0,
        "stderr_tail": stderr.strip().splitlines()[-1:] if stderr.strip() else [],
    }


def measure_exit(
    sizes: list[int], fault_sizes: list[int], collectors: list[str], rounds: int,
    completed: int, budget: float | None, home: str,
) -> dict:
    results: dict[str, dict] = {}
    with OtlpReceiver("http/protobuf") as rx:
        for collector in collectors:
            for size in sizes if collector in ("healthy", "refused") else fault_sizes:
                runs = []
                for _ in range(rounds):
                    rx.heal()
                    rx.clear()
                    if collector == "503":
                        rx.fail_with(503)
                    elif collector == "hang":
                        rx.hang()
                    endpoint = (
                        f"http://127.0.0.1:{closed_port()}" if collector == "refused" else rx.endpoint
                    )
                    run = exit_run(endpoint, completed, size, home, budget)
                    if collector == "hang":
                        rx.release()
                    roots = [s for s in rx.spans() if s.attributes.get("sentrial.session.abandoned")]
                    run["abandoned_roots_arrived"] = len(roots)
                    runs.append(run)
                key = f"{collector} {size}"
                results[key] = {
                    "exit_s": spread([r["exit_s"] for r in runs]),
                    "abandoned_roots_arrived": [r["abandoned_roots_arrived"] for r in runs],
                    "not_delivered": [r["not_delivered"] for r in runs],
                    "last_run": runs[-1],
                }
                print(
                    f"exit  {collector:8} open {size:>6}: exit s {fmt(results[key]['exit_s'])}  "
                    f"abandoned roots arrived {results[key]['abandoned_roots_arrived']}  "
                    f"not delivered {results[key]['not_delivered']}",
                    flush=True,
                )
        rx.heal()
    return results


def one_line_run(script: str, args: list[str], home: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        env=agent_env(None, home, None, OTEL_TRACES_EXPORTER="none"),
        capture_output=True, text=True, timeout=900, check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_begin(sizes: list[int], samples: int, rounds: int, home: str) -> dict:
    results = {}
    for size in sizes:
        runs = [one_line_run(BEGIN_AGENT, [str(size), str(samples)], home) for _ in range(rounds)]
        results[str(size)] = {
            key: spread([r[key] for r in runs]) for key in ("median_ms", "p99_ms", "max_ms")
        }
        print(
            f"begin open {size:>6}: median ms {fmt(results[str(size)]['median_ms'], digits=3)}  "
            f"p99 ms {fmt(results[str(size)]['p99_ms'], digits=3)}  "
            f"max ms {fmt(results[str(size)]['max_ms'], digits=2)}",
            flush=True,
        )
    return results


def measure_memory(count: int, rounds: int, home: str) -> dict:
    runs = [one_line_run(MEMORY_AGENT, [str(count)], home) for _ in range(rounds)]
    memory = spread([r["bytes_per_session"] for r in runs])
    ending = spread([r["end_us_per_session"] for r in runs])
    print(f"memory: bytes per open session {fmt(memory, digits=0)}; ending one at exit "
          f"{fmt(ending, ' µs', digits=1)}", flush=True)
    return {"sessions": count, "bytes_per_session": memory, "end_us_per_session": ending}


def ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", default="0,1000,20000,50000", help="open sessions at exit / begin")
    parser.add_argument("--fault-open", default="0,1000", help="open sessions for 503 and hang")
    parser.add_argument("--collectors", default="healthy,refused,503,hang")
    parser.add_argument("--completed", type=int, default=100, help="sessions completed before exit")
    parser.add_argument("--budget", type=float, help="SENTRIAL_SHUTDOWN_TIMEOUT (default: 5)")
    parser.add_argument("--samples", type=int, default=2000, help="begin() calls measured")
    parser.add_argument("--memory-sessions", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--home", default="/tmp/sentrial-bench-home")
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    sizes = ints(args.open)
    result = {
        "budget_s": args.budget if args.budget is not None else 5.0,
        "completed_before_exit": args.completed,
        "rounds": args.rounds,
        "exit": measure_exit(
            sizes, ints(args.fault_open), args.collectors.split(","), args.rounds,
            args.completed, args.budget, args.home,
        ),
        "begin": measure_begin(sizes, args.samples, args.rounds, args.home),
        "memory": measure_memory(args.memory_sessions, args.rounds, args.home),
        "versions": versions(),
    }
    emit("lifecycle", result, args.out)
    return result


if __name__ == "__main__":
    main()
