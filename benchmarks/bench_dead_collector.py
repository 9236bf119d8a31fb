"""Benchmark 4: the agent's loop with a dead or hanging collector vs a healthy one.

Each run is a fresh subprocess (an agent configured by environment only, OTLP/HTTP) that
records N sessions (root + one tool call + one LLM call each) and reports its loop time,
the slowest session and the 99th percentile, its resident memory before the loop and its
peak (``VmHWM``), and how long ``flush(0.5)`` took after the loop. Contenders alternate:

- ``healthy``: the endpoint is an ``OtlpReceiver`` on 127.0.0.1 (in this process)
- ``dead``: the endpoint is a closed 127.0.0.1 port (connection refused)
- ``hung``: an ``OtlpReceiver`` that accepts connections and never answers

Goals: dead / healthy loop time within 10 % (ratio <= 1.10), peak RSS growth < +50 MB.
The process's exit is bounded by ``SENTRIAL_SHUTDOWN_TIMEOUT`` (2 s here) and reported too.
(tests/test_faults.py holds the same properties with bounds loose enough for a busy machine.)

Usage::

    python benchmarks/bench_dead_collector.py [--sessions 100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import textwrap
import time

from _common import REPO, emit, fmt, spread, versions  # noqa: I001 - sets sys.path first

from tests.support.otlp_receiver import OtlpReceiver

AGENT = textwrap.dedent(
    """
    import json, sys, time
    def rss_mb(field="VmRSS:"):
        # /proc, not ru_maxrss: a child's ru_maxrss starts at its parent's peak.
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1]) / 1024
    import sentrial
    client = sentrial.SentrialClient()
    sid = client.create_session(name="warm", agent_name="a", user_id="u")
    client.complete_session(sid)
    before = rss_mb()
    sessions = []
    clock = time.perf_counter
    start = clock()
    for i in range(int(sys.argv[1])):
        t = clock()
        sid = client.create_session(name="bench", agent_name="support-agent", user_id="u1")
        client.track_tool_call(sid, "search_kb", {"query": "reset", "i": i}, {"results": ["KB-1"]})
        client.track_llm_call(sid, provider="openai", model="gpt-4o", input="hi", output="hello",
                              prompt_tokens=10, completion_tokens=5)
        client.complete_session(sid)
        sessions.append(clock() - t)
    loop = clock() - start
    peak = rss_mb("VmHWM:")
    t = clock()
    client.flush(0.5)
    flush = clock() - t
    sessions.sort()
    stats = client.telemetry.delivery.stats
    print(json.dumps({"loop_s": loop, "rss_before_mb": before, "peak_rss_mb": peak,
                      "worst_session_ms": sessions[-1] * 1000,
                      "p99_session_ms": sessions[int(len(sessions) * 0.99)] * 1000,
                      "flush_s": flush, "exported": stats.exported, "failed": stats.failed,
                      "dropped_queue_full": stats.dropped_queue_full}), flush=True)
    """
)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def agent_run(endpoint: str, sessions: int, home: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SENTRIAL_"))}
    env.update(
        PYTHONPATH=str(REPO / "src"),
        OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
        SENTRIAL_SHUTDOWN_TIMEOUT="2",
        SENTRIAL_HOME=home,
    )
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", AGENT, str(sessions)], env=env, capture_output=True, text=True,
        timeout=900, check=False,
    )
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(result.stderr)
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    measured["exit_after_loop_s"] = wall - measured["loop_s"]
    measured["stderr_lines"] = len(result.stderr.strip().splitlines())
    return measured


def run(sessions: int, rounds: int, home: str = "/tmp/sentrial-bench-home") -> dict:
    runs: dict[str, list[dict]] = {"healthy": [], "dead": [], "hung": []}
    ratios = []
    with OtlpReceiver("http/protobuf") as rx, OtlpReceiver("http/protobuf") as hung:
        hung.hang()
        endpoints = {
            "healthy": rx.endpoint,
            "dead": f"http://127.0.0.1:{closed_port()}",
            "hung": hung.endpoint,
        }
        for index in range(rounds):
            order = list(runs) if index % 2 == 0 else list(reversed(runs))
            measured = {}
            for name in order:
                measured[name] = agent_run(endpoints[name], sessions, home)
                runs[name].append(measured[name])
                rx.clear()
            ratios.append(measured["dead"]["loop_s"] / measured["healthy"]["loop_s"])
    results = {}
    for name, items in runs.items():
        results[name] = {
            "loop_s": spread([r["loop_s"] for r in items]),
            "peak_rss_mb": spread([r["peak_rss_mb"] for r in items]),
            "rss_growth_mb": spread([r["peak_rss_mb"] - r["rss_before_mb"] for r in items]),
            "exit_after_loop_s": spread([r["exit_after_loop_s"] for r in items]),
            "worst_session_ms": spread([r["worst_session_ms"] for r in items]),
            "p99_session_ms": spread([r["p99_session_ms"] for r in items]),
            "flush_s": spread([r["flush_s"] for r in items]),
            "dropped_queue_full": spread([r["dropped_queue_full"] for r in items]),
            "last_run": items[-1],
        }
        print(
            f"{name:8} loop s {fmt(results[name]['loop_s'])}  peak RSS MB "
            f"{fmt(results[name]['peak_rss_mb'], digits=1)}  growth MB "
            f"{fmt(results[name]['rss_growth_mb'], digits=1)}  exit s "
            f"{fmt(results[name]['exit_after_loop_s'])}  worst session ms "
            f"{fmt(results[name]['worst_session_ms'], digits=1)}  p99 ms "
            f"{fmt(results[name]['p99_session_ms'], digits=2)}  flush(0.5) s "
            f"{fmt(results[name]['flush_s'])}  dropped (queue full) "
            f"{fmt(results[name]['dropped_queue_full'], digits=0)}",
            flush=True,
        )
    print(f"dead/healthy loop ratio {fmt(spread(ratios), digits=3)}", flush=True)
    return {
        "sessions": sessions,
        "spans": sessions * 3,
        "rounds": rounds,
        "goal": "ratio <= 1.10, rss growth < 50 MB",
        "ratio_dead_over_healthy": spread(ratios),
        "results": results,
        "versions": versions(),
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    result = run(args.sessions, args.rounds)
    emit("dead_collector", result, args.out)
    return result


if __name__ == "__main__":
    main()
