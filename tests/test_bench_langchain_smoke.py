"""Smoke test of ``benchmarks/bench_langchain.py``: it runs, no timing assertions.

Each contender runs as the benchmark runs it (a worker subprocess) with tiny sizes. Peer
instrumentations are optional: a contender whose package is missing is skipped, as in CI
where only our own dependencies are installed.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("langchain.agents", reason="the benchmark drives a langchain create_agent graph")

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "bench_langchain.py"


def _bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench_langchain", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _bench()

# What one agent run emits, per contender (span name -> count); peers: at least a span per
# chat-model call and per tool, so none "wins" by emitting nothing.
OURS = {
    "invoke_agent travel_agent": 1,
    "chat gpt-4o-mini": 3,
    "execute_tool get_weather": 1,
    "execute_tool get_time": 1,
}


def _worker(contender: str) -> dict[str, Any]:
    command = [sys.executable, str(SCRIPT), "--worker", contender, "--runs", "3", "--warmup", "2"]
    done = subprocess.run(
        command, env=bench.worker_env(contender), capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("contender", bench.CONTENDERS)
def test_worker_runs_the_agent_and_counts_spans(contender: str) -> None:
    if not bench.available(contender):
        pytest.skip(f"{bench.REQUIRES[contender]} is not installed")

    result = _worker(contender)

    assert result["answer"] == "It is sunny in Paris and the local time is 14:05."
    assert len(result["times_ns"]) == 3
    assert result["spans_lost"] == 0
    assert result["runs_total"] == 5
    if contender == "baseline":
        assert result["spans_one_run"] == 0
    elif contender == "sentrial":
        assert result["one_run_spans"] == OURS
        assert result["sentrial_from"] == str(ROOT / "src" / "sentrial_otel")
    else:
        assert result["spans_one_run"] >= 5, result["one_run_spans"]


def test_driver_alternates_and_reports(capsys: pytest.CaptureFixture[str]) -> None:
    report = bench.drive(["sentrial", "openinference"], rounds=2, runs=2, warmup=1)

    present = ["baseline", "sentrial"] + (["openinference"] if bench.available("openinference") else [])
    assert report["config"]["contenders"] == present
    assert report["skipped"] == ([] if bench.available("openinference") else ["openinference"])
    for contender in present:
        row = report["summary"][contender]
        assert len(row["round_medians_us"]) == 2
        assert row["us_min"] <= row["us_median"] <= row["us_max"]
    assert report["summary"]["baseline"]["round_ratios"] == [1.0, 1.0]
    assert report["versions"]["langchain-core"] != "not installed"
    table = bench.table(report)
    assert table.splitlines()[2].startswith("| baseline | 0 |")
    assert "| sentrial | 6 |" in table


def test_callback_profile_names_our_functions() -> None:
    command = [sys.executable, str(SCRIPT), "--profile-callbacks", "--runs", "2", "--warmup", "1"]
    done = subprocess.run(
        command, env=bench.worker_env("sentrial"), capture_output=True, text=True, timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert done.stdout.startswith("callbacks: ")
    assert "sentrial_otel/instrumentation/langchain/_handler.py" in done.stdout


def test_light_workload_switches_in_place_and_counts_spans(tmp_path: Path) -> None:
    # A subprocess: the light workload sets the global tracer provider and wraps LangChain.
    out = tmp_path / "light.json"
    command = [sys.executable, str(SCRIPT), "--workload", "light", "--rounds", "3", "--runs", "2",
               "--warmup", "1", "--json", str(out)]
    done = subprocess.run(command, env=bench.worker_env("sentrial"), capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads(out.read_text())

    summary = report["summary"]
    assert list(summary) == ["baseline", "sentrial", "noop-handler", "sdk-floor"]
    # Ours emits the agent's spans only while switched on; nothing is lost across switches.
    # The SDK floor replays the same spans, without our callbacks' work.
    assert summary["sentrial"]["span_names"] == OURS
    assert summary["sdk-floor"]["span_names"] == OURS
    assert summary["baseline"]["span_names"] == {} and summary["noop-handler"]["span_names"] == {}
    assert all(row["spans_lost"] == 0 for row in summary.values())
    assert summary["baseline"]["round_ratios"] == [1.0, 1.0, 1.0]
    assert len(summary["sentrial"]["round_ratios"]) == 3
    assert report["summary_wall"]["baseline"]["round_ratios"] == [1.0, 1.0, 1.0]
    assert len(report["summary_wall"]["sentrial"]["round_ratios"]) == 3
    assert len(report["machine"]["loadavg_after"]) == 3
    assert "| sentrial | 6 |" in done.stdout


def test_light_callback_profile_names_our_functions() -> None:
    command = [sys.executable, str(SCRIPT), "--workload", "light", "--profile-callbacks", "--runs", "2",
               "--warmup", "1"]
    done = subprocess.run(command, env=bench.worker_env("sentrial"), capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    assert done.stdout.startswith("callbacks: ")
    assert "sentrial_otel/instrumentation/langchain/_handler.py" in done.stdout


def test_light_mode_alone_for_an_instruction_counter() -> None:
    # The SDK floor alone emits our 6 spans a run (what callgrind counts with --only).
    command = [sys.executable, str(SCRIPT), "--workload", "light", "--only", "sdk-floor", "--runs", "2",
               "--warmup", "1"]
    done = subprocess.run(command, env=bench.worker_env("sentrial"), capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    assert done.stdout.strip() == "sdk-floor: 2 runs, 12 spans"
