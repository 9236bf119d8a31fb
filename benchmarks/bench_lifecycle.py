"""Benchmark 6: the session lifecycle at scale: exit time, ``begin()`` latency, memory.

Three measurements, each in fresh subprocesses (agents configured by environment only,
OTLP/HTTP, the default 5 s shutdown budget unless ``--budget``):

- **exit**: an agent completes ``--completed`` sessions (so spans are queued), leaves N
  sessions open and returns from its script. Measured: the wall time from its last line to
  the end of the process (atexit: the open sessions are ended as abandoned and delivered
  within the budget), how many abandoned roots reached the collector, and the undelivered
  count of the exit report. Collectors: ``healthy`` (an ``OtlpReceiver`` here), ``refused``
  (a closed port), ``503`` (answers 503 forever), ``hang`` (accepts, never answers).
- **begin**: ``client.begin()`` and ``finish()`` latency (median, p99, max over
  ``--samples`` sessions, each finished right after it began) with N other sessions open,
  and the full (generation 2) garbage collections those calls set off: how many, the longest.
- **memory**: bytes allocated per open session (tracemalloc, 10,000 sessions opened with
  ``client.begin()``) and the objects the garbage collector tracks per open session, then the time to end each one as abandoned, as the exit does
  (``OTEL_TRACES_EXPORTER=none``: the engine's cost alone).

Goals (issue 16): exit within the budget (+0.5 s with a dead collector) whatever is open,
every abandoned root delivered with a healthy collector; ``begin()`` flat in N; at most
2 KB per open session beyond its attributes.

Usage::

    python benchmarks/bench_lifecycle.py [--open 0,1000,20000,50000] [--rounds 1]
        [--collectors healthy,refused,503,hang] [--fault-open 0,1000] [--samples 2000]
        [--only exit,begin,memory] [--src OTHER_CHECKOUT/src]
        [--env SENTRIAL_DEFER_ROOT_SPAN=false]
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
    import gc, json, statistics, sys, time
    import sentrial
    still_open, samples = int(sys.argv[1]), int(sys.argv[2])
    client = sentrial.SentrialClient()
    for i in range(still_open):
        client.begin(user_id="u", event="open")
    pauses, started = [], [0.0]
    def timed(phase, info):
        if phase == "start":
            started[0] = time.perf_counter()
        elif info["generation"] == 2:
            pauses.append((time.perf_counter() - started[0]) * 1000)
    gc.callbacks.append(timed)
    begins, finishes = [], []
    for i in range(samples):
        start = time.perf_counter()
        interaction = client.begin(user_id="u", event="measured")
        middle = time.perf_counter()
        interaction.finish(output="ok")
        finishes.append((time.perf_counter() - middle) * 1000)
        begins.append((middle - start) * 1000)
    gc.callbacks.remove(timed)
    result = {"full_gc_runs": len(pauses), "full_gc_max_ms": max(pauses, default=0.0)}
    for name, timings in (("begin", begins), ("finish", finishes)):
        timings.sort()
        result[name] = {
            "median_ms": statistics.median(timings),
            "p99_ms": timings[int(len(timings) * 0.99) - 1],
            "max_ms": timings[-1],
        }
    print(json.dumps(result), flush=True)
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
    tracked_before = len(gc.get_objects())
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for i in range(count):
        kept.append(client.begin(user_id="user-1", event="support-agent", input="hello"))
    gc.collect()
    after = tracemalloc.take_snapshot()
    total = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    tracemalloc.stop()
    tracked = (len(gc.get_objects()) - tracked_before) / count
    gc.disable()  # as the exit work does
    import time
    started, started_cpu = time.perf_counter(), time.process_time()
    ended = client.telemetry.end_open_sessions()  # what the exit does to each one
    per_session_us = (time.perf_counter() - started) / ended * 1e6
    # CPU time too: on a shared machine the wall time is mostly other processes' turns.
    per_session_cpu_us = (time.process_time() - started_cpu) / ended * 1e6
    print(json.dumps({"bytes_per_session": total / count, "end_us_per_session": per_session_us,
                      "end_cpu_us_per_session": per_session_cpu_us,
                      "gc_tracked_per_session": tracked}), flush=True)
    import os
    os._exit(0)
    """
)

SRC = [str(REPO / "src")]
"""The package tree the agents import (``--src``: another checkout's, for a before/after)."""
EXTRA_ENV: dict[str, str] = {}
"""Variables every agent gets (``--env``: a setting on or off, for a before/after)."""

NOT_DELIVERED = re.compile(r"(\d+) spans were not delivered")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def agent_env(endpoint: str | None, home: str, budget: float | None, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SENTRIAL_"))}
    env.update(PYTHONPATH=SRC[0], SENTRIAL_HOME=home, **EXTRA_ENV, **extra)
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
        results[str(size)] = found = {
            call: {key: spread([r[call][key] for r in runs])
                   for key in ("median_ms", "p99_ms", "max_ms")}
            for call in ("begin", "finish")
        }
        found["full_gc_runs"] = [r["full_gc_runs"] for r in runs]
        found["full_gc_max_ms"] = spread([r["full_gc_max_ms"] for r in runs])
        for call in ("begin", "finish"):
            print(
                f"{call:6} open {size:>6}: median ms {fmt(found[call]['median_ms'], digits=3)}  "
                f"p99 ms {fmt(found[call]['p99_ms'], digits=3)}  "
                f"max ms {fmt(found[call]['max_ms'], digits=2)}",
                flush=True,
            )
        print(f"       open {size:>6}: full collections {found['full_gc_runs']}, longest ms "
              f"{fmt(found['full_gc_max_ms'], digits=1)}", flush=True)
    return results


def measure_memory(count: int, rounds: int, home: str) -> dict:
    runs = [one_line_run(MEMORY_AGENT, [str(count)], home) for _ in range(rounds)]
    memory = spread([r["bytes_per_session"] for r in runs])
    ending = spread([r["end_us_per_session"] for r in runs])
    ending_cpu = spread([r["end_cpu_us_per_session"] for r in runs])
    tracked = spread([r["gc_tracked_per_session"] for r in runs])
    print(f"memory: bytes per open session {fmt(memory, digits=0)}; objects the garbage "
          f"collector tracks per open session {fmt(tracked, digits=1)}; ending one at exit "
          f"{fmt(ending, ' µs', digits=1)} ({fmt(ending_cpu, ' µs', digits=1)} CPU)", flush=True)
    return {"sessions": count, "bytes_per_session": memory, "end_us_per_session": ending,
            "end_cpu_us_per_session": ending_cpu, "gc_tracked_per_session": tracked}


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
    parser.add_argument("--only", default="exit,begin,memory", help="measurements to run")
    parser.add_argument("--src", help="import the package from this tree (a before/after)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="a variable every agent gets (repeatable)")
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    if args.src:
        SRC[0] = os.path.abspath(args.src)
    EXTRA_ENV.update(item.split("=", 1) for item in args.env)
    sizes = ints(args.open)
    only = args.only.split(",")
    result: dict = {
        "budget_s": args.budget if args.budget is not None else 5.0,
        "completed_before_exit": args.completed,
        "rounds": args.rounds,
        "src": SRC[0],
        "env": EXTRA_ENV,
    }
    if "exit" in only:
        result["exit"] = measure_exit(
            sizes, ints(args.fault_open), args.collectors.split(","), args.rounds,
            args.completed, args.budget, args.home,
        )
    if "begin" in only:
        result["begin"] = measure_begin(sizes, args.samples, args.rounds, args.home)
    if "memory" in only:
        result["memory"] = measure_memory(args.memory_sessions, args.rounds, args.home)
    result["versions"] = versions()
    emit("lifecycle", result, args.out)
    return result


if __name__ == "__main__":
    main()
