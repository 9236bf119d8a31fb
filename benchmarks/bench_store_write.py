"""Benchmark 5: writing N sessions to the local store through the facade, then listing them.

1. An agent subprocess with no endpoint configured (so spans go to the embedded store under
   ``SENTRIAL_HOME``) records N sessions (root + tool call + LLM call), flushing every 500
   sessions (1,500 spans, inside the default 2,048-span queue); reports loop time, sessions/s, what the
   delivery processor counted, and its peak RSS (``VmHWM``).
2. ``sentrial-otel sessions list`` over that store, cold (builds the index) and warm, each in
   a fresh process, with its peak RSS.

``benchmarks/bench_store.py`` covers the larger synthetic store (1M spans, rotation,
filters, incremental index, ``sessions show``).

Usage::

    python benchmarks/bench_store_write.py [--sessions 100000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from _common import REPO, emit, fmt, spread, versions  # noqa: I001 - sets sys.path first

AGENT = textwrap.dedent(
    """
    import json, sys, time
    import sentrial
    client = sentrial.SentrialClient()
    sessions = int(sys.argv[1])
    start = time.perf_counter()
    for i in range(sessions):
        sid = client.create_session(name="bench", agent_name=("support", "billing")[i % 2],
                                    user_id=f"user-{i % 100}")
        client.track_tool_call(sid, "search_kb", {"query": "reset", "i": i}, {"results": ["KB-1"]})
        client.track_llm_call(sid, provider="openai", model="gpt-4o", input="hi", output="hello",
                              prompt_tokens=10, completion_tokens=5)
        client.complete_session(sid, success=i % 10 != 0)
        if i % 500 == 499:
            client.flush()
    client.flush(60)
    loop = time.perf_counter() - start
    with open("/proc/self/status") as f:
        peak = next(int(l.split()[1]) / 1024 for l in f if l.startswith("VmHWM:"))
    stats = client.telemetry.delivery.stats
    print(json.dumps({"loop_s": loop, "peak_rss_mb": peak, "exported": stats.exported,
                      "undelivered": stats.undelivered}), flush=True)
    """
)
CLI = (
    "import atexit, sys\n"
    "def peak():\n"
    "    with open('/proc/self/status') as f:\n"
    "        return next(int(l.split()[1]) for l in f if l.startswith('VmHWM:'))\n"
    "atexit.register(lambda: sys.stderr.write('VMHWM %d\\n' % peak()))\n"
    "from sentrial_otel.cli import main\n"
    "main(prog_name='sentrial-otel')\n"
)


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SENTRIAL_"))}
    env.update(PYTHONPATH=str(REPO / "src"), SENTRIAL_HOME=str(home))
    return env


def write(home: Path, sessions: int) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", AGENT, str(sessions)], env=_env(home), capture_output=True,
        text=True, timeout=1800, check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])


def cli(home: Path, *args: str) -> tuple[float, float, str]:
    """(seconds, peak RSS MB, stdout) of one CLI run in a fresh process."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", CLI, "--store", str(home), *args], env=_env(home),
        capture_output=True, text=True, timeout=1800, check=False,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(result.stderr)
    peak = int(result.stderr.rsplit("VMHWM", 1)[1]) / 1024
    return elapsed, peak, result.stdout


def run(sessions: int, rounds: int) -> dict:
    measured: dict[str, list[float]] = {
        "write_sessions_per_s": [], "write_peak_rss_mb": [], "list_cold_s": [],
        "list_cold_peak_rss_mb": [], "list_warm_s": [], "list_warm_peak_rss_mb": [],
    }
    undelivered = []
    for _ in range(rounds):
        home = Path(tempfile.mkdtemp(prefix="bench-store-write-"))
        try:
            written = write(home, sessions)
            measured["write_sessions_per_s"].append(sessions / written["loop_s"])
            measured["write_peak_rss_mb"].append(written["peak_rss_mb"])
            undelivered.append(written["undelivered"])
            for label in ("cold", "warm"):
                seconds, peak, out = cli(home, "sessions", "list", "--limit", "20")
                measured[f"list_{label}_s"].append(seconds)
                measured[f"list_{label}_peak_rss_mb"].append(peak)
            listed = json.loads(cli(home, "sessions", "list", "--json", "--limit", "1")[2])
            assert listed, "the store lists no session"
        finally:
            shutil.rmtree(home, ignore_errors=True)
    results = {name: spread(values) for name, values in measured.items()}
    for name, stats in results.items():
        print(f"{name:24} {fmt(stats)}", flush=True)
    print(f"undelivered spans per run: {undelivered}", flush=True)
    return {"sessions": sessions, "spans": sessions * 3, "rounds": rounds,
            "results": results, "undelivered": undelivered, "versions": versions()}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out")
    args = parser.parse_args(argv)
    result = run(args.sessions, args.rounds)
    emit("store_write", result, args.out)
    return result


if __name__ == "__main__":
    main()
