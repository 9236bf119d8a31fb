"""Every benchmark runs end to end at tiny sizes (that it works; timings are never asserted)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import run as bench_suite  # noqa: E402


@pytest.mark.parametrize("name", list(bench_suite.FULL))
def test_benchmark_runs(name, tmp_path, capsys):
    results = bench_suite.main(["--quick", "--out", str(tmp_path), name])
    result = results[name]
    assert (tmp_path / f"{name}.json").is_file()
    assert result["versions"]["opentelemetry-sdk"]
    if name == "events":
        assert set(result["results"]) == {"track_tool_call", "track_decision", "track_llm_call"}
        assert all(r["ratio"]["median"] > 0 for r in result["results"].values())
        # The detectors' cost is measured on sessions they really judge.
        assert result["detectors"]["findings_per_session"] == 2  # tool_loop, over_budget
    elif name == "pretest":
        shapes = {key.rsplit(" ", 1)[0] for key in result["results"]}
        assert shapes == {"json message", "plain prose", "hyphenated prose", "key-dense json"}
    elif name == "export":
        assert set(result["results"]) == {"http", "grpc", "rotel"}
    elif name == "dead_collector":
        dead = result["results"]["dead"]["last_run"]
        healthy = result["results"]["healthy"]["last_run"]
        assert healthy["failed"] == 0 and dead["exported"] == 0
    elif name == "store_write":
        assert result["undelivered"] == [0]
    elif name == "rollup":
        # Each LLM span of the session contender counted once (warm-up, then every round).
        assert result["llm_calls_counted"] == 50 + 2 * 50
    elif name == "cli_start":
        # The help printed (a failing command raises), and without the engine behind it.
        assert result["ratio"]["median"] > 0
        assert "sentrial_otel.cli" in result["modules_loaded"]
        assert "sentrial_otel._internal.engine" not in result["modules_loaded"]
    elif name == "lifecycle":
        assert result["exit"]["healthy 10"]["abandoned_roots_arrived"] == [10]
        assert result["exit"]["refused 10"]["not_delivered"] == [5 * 2 + 10]
        assert set(result["begin"]) == {"0", "10"} and result["memory"]["bytes_per_session"]["median"] > 0
        assert result["begin"]["10"]["finish"]["median_ms"]["median"] > 0
        assert result["memory"]["gc_tracked_per_session"]["median"] > 0


def test_events_payload_chars_reach_the_spans_and_the_floor(capsys):
    import bench_events

    text = bench_events.prose(3000)
    assert len(text) == 3000
    calls = bench_events.events_with(text)
    for event, call in calls.items():
        _, _, attributes = bench_events.facade_span_shape(call, capture_content=True)
        # The floor copies these attributes, so both carry the long payload.
        assert any(text[:2000] in str(value) for value in attributes.values()), event
    result = bench_events.main(["--events", "20", "--rounds", "1", "--payload-chars", "3000"])
    assert result["payload_chars"] == 3000
    assert set(result["results"]) == set(calls)


def test_events_compares_two_checkouts_in_one_run(capsys):
    import bench_events

    src = str(Path(__file__).resolve().parents[1] / "src")
    result = bench_events.main(["--events", "20", "--rounds", "2", "--before-src", src])
    assert result["sources"] == {"now": src, "before": src}
    for event in ("track_tool_call", "track_decision", "track_llm_call"):
        row = result["results"][event]
        assert row["attributes"]["now"] == row["attributes"]["before"] > 0
        assert row["now_over_before"]["median"] > 0


def test_events_compares_the_genai_opt_in_with_metrics_recorded(capsys):
    import bench_events

    result = bench_events.main(["--events", "20", "--rounds", "2", "--opt-in-compare",
                                "--metrics", "sdk"])
    assert result["opt_in_compare"] is True and result["metrics"] == "sdk"
    assert result["latest_metrics"] == {"now": True, "before": False}
    row = result["results"]["track_llm_call"]
    # The opt-in changes metrics, not the LLM span: the same attributes either way.
    assert row["attributes"]["now"] == row["attributes"]["before"] > 0
    assert row["now_over_before"]["median"] > 0


def test_events_dialect_measures_the_facade_with_and_without_it(capsys):
    import bench_events

    result = bench_events.main(["--events", "20", "--rounds", "2", "--dialect", "openinference"])
    assert result["dialect"] == "openinference"
    for event in result["results"].values():
        # The dialect's keys are on the measured spans: more attributes, more bytes.
        assert event["attributes"]["on"] > event["attributes"]["off"]
        assert event["otlp_bytes"]["on"] > event["otlp_bytes"]["off"]
        assert event["on_us"]["median"] > 0 and event["off_us"]["median"] > 0


def test_events_against_the_official_util(tmp_path):
    # A subprocess: the comparison sets the util's content variable and the default engine.
    import json
    import subprocess

    out = tmp_path / "vs-util.json"
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_events.py"
    done = subprocess.run(
        [sys.executable, str(script), "--vs-util", "--events", "20", "--rounds", "3", "--out", str(out)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(out.read_text())
    assert set(result["results"]) == {"tool", "llm"}
    for event in result["results"].values():
        for clock in ("cpu", "wall"):
            assert event[clock]["util_us"]["median"] > 0
            assert event[clock]["facade_over_util"]["median"] > 0
            assert event[clock]["native_over_util"]["median"] > 0
            # The SDK floor under the facade (a bare span with the facade span's attributes)
            # and our own work without the SDK's span (a no-op tracer provider) are measured.
            # How they compare is the benchmark's finding, not a check: timings under load flip.
            assert event[clock]["floor_us"]["median"] > 0
            assert event[clock]["nosdk_us"]["median"] > 0
    assert result["util_genai"]["version"]  # the version measured is reported
    assert "tool  cpu  util µs" in done.stdout


def test_events_against_the_util_before_and_after(tmp_path):
    # Two workers (this checkout as both "now" and "before"): every ratio is measured on
    # each side, and now/before compares them.
    import json

    src = Path(__file__).resolve().parents[1] / "src"
    out = tmp_path / "compare.json"
    _run_in_subprocess(tmp_path, ["--vs-util", "--before-src", str(src), "--events", "20",
                                  "--rounds", "2", "--out", str(out)])
    result = json.loads(out.read_text())
    assert result["sources"] == {"now": str(src), "before": str(src)}
    for event in result["results"].values():
        for side in ("now", "before"):
            assert set(event[f"{side}_cpu_over_util"]) == {"facade", "native", "floor", "nosdk"}
        assert event["now_over_before"]["facade"]["median"] > 0


def test_events_loop_for_a_sampling_profiler(tmp_path):
    # --loop runs one contender's event for a while, the calls a sampling profiler reads.
    result = _run_in_subprocess(tmp_path, ["--vs-util", "--loop", "floor:tool:0.2"])
    assert "floor tool: " in result.stdout and "events in 0.2 s" in result.stdout
    refused = _run_in_subprocess(tmp_path, ["--vs-util", "--loop", "bogus:tool:1"], check=False)
    assert refused.returncode == 2 and "CONTENDER is one of" in refused.stderr


def test_spy_top_reads_a_raw_profile(tmp_path, capsys):
    import spy_top

    raw = tmp_path / "raw.txt"
    raw.write_text(
        "<module> (b.py:1);UtilBench.facade (b.py:5);f (x.py:3);g (x.py:9) 3\n"
        "<module> (b.py:1);UtilBench.facade (b.py:5);f (x.py:4) 1\n"
        "<module> (b.py:1);setup (b.py:2) 6\n"
    )
    spy_top.main([str(raw), "--under", "UtilBench.facade"])
    out = capsys.readouterr().out
    assert out.startswith("4 samples")  # the set-up's 6 are left out
    inclusive, own = out.split("--- own")
    assert "100.0%  f (x.py)" in inclusive and " 75.0%  g (x.py)" in inclusive
    assert " 75.0%  g (x.py)" in own and " 25.0%  f (x.py)" in own


def _run_in_subprocess(tmp_path, args, check=True):
    import subprocess

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_events.py"
    done = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True,
                          timeout=120, check=False, cwd=tmp_path)
    if check:
        assert done.returncode == 0, done.stderr[-4000:]
    return done


def test_export_ours_against_the_sdk_processor(tmp_path):
    import bench_export

    result = bench_export.main(["--vs-sdk", "--spans", "300", "--rounds", "2", "--out",
                                str(tmp_path / "vs-sdk.json")])
    # Every span reached the receiver in every round (a shortfall raises), for each.
    assert set(result["results"]) == {"ours", "ours-no-send-ahead", "ours-sdk-encoder", "sdk"}
    for row in result["results"].values():
        assert row["spans_per_s"]["median"] > 0 and row["cpu_s_per_10k_spans"]["median"] > 0
    assert set(result["over_sdk"]) == {"ours", "ours-no-send-ahead", "ours-sdk-encoder"}
    assert result["over_sdk"]["ours"]["rate"]["median"] > 0


def test_export_encoders_write_the_same_bytes_and_are_timed():
    import bench_export

    result = bench_export.main(["--encoder", "--rounds", "2"])  # different bytes raise
    assert set(result["cpu_us_per_span"]) == {"ours", "sdk"}
    assert result["ours_over_sdk"]["median"] > 0


def test_export_profile_sees_both_threads():
    import bench_export

    profiles = bench_export.main(["--vs-sdk", "--profile", "--spans", "200"])["profiles"]
    names = ("ours", "ours-no-send-ahead", "ours-sdk-encoder", "sdk")
    assert set(profiles) == {f"{name} {part}" for name in names
                             for part in ("caller thread", "exports")} | {"ours sends"}
    for name in names:
        assert "sdk/trace/__init__.py" in profiles[f"{name} caller thread"]  # ending spans
    # The OTLP encoding, off the caller's thread: ours, or the SDK's.
    assert "otlp_encoding.py" in profiles["ours exports"]
    assert "trace_encoder" not in profiles["ours exports"]
    assert "_socket.socket" in profiles["ours sends"]  # the request, on the send thread
    assert "trace_encoder" in profiles["ours-sdk-encoder exports"]
    assert "trace_encoder" in profiles["sdk exports"]
