"""Collector faults: down from the start, killed and restarted, 503, 429 + Retry-After,
hanging, payloads over its size limit.

Each agent is a subprocess configured by environment only, driven line by line over stdin
(``record N TAG [PAD]``, ``flush SECONDS``, ``stats``, ``exit``) so a test can break the
collector between phases and read ``DeliveryProcessor.stats`` and the exit summary. For
each fault: no call blocks beyond a bounded time, nothing raises, and what is delivered,
retried and dropped is counted and matches docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.support.otlp_receiver import OtlpReceiver

SRC = str(Path(__file__).resolve().parents[1] / "src")
pytestmark = pytest.mark.slow

SPANS_PER_SESSION = 2  # root + one tool call
# Generous bounds for a loaded 2-core machine: the point is "bounded", not "fast" (how fast
# is benchmarks/bench_dead_collector.py's, docs/benchmarks.md section 4). The tests where a
# call must not wait on the collector give its exporter a long timeout (EXPORT_TIMEOUT_S), so
# a call that did wait would take far longer than any of these bounds.
MAX_CALL_S = 2.5  # one session (begin, one tool call, complete), the worst of a run
EXPORT_TIMEOUT_S = "30"
MAX_EXIT_S = 2 + 10  # the 2 s shutdown budget, plus interpreter teardown on a busy machine

DRIVER = textwrap.dedent(
    """
    import dataclasses, json, sys, time
    import sentrial
    client = sentrial.SentrialClient()
    delivery = client.telemetry.delivery
    for line in sys.stdin:
        command, *args = line.split()
        if command == "record":
            count, tag = int(args[0]), args[1]
            pad = "x" * (int(args[2]) if len(args) > 2 else 0)
            worst, started = 0.0, time.perf_counter()
            for i in range(count):
                t = time.perf_counter()
                sid = client.create_session(name=tag, agent_name="agent", user_id="u")
                client.track_tool_call(sid, "tool", {"tag": tag, "i": i, "pad": pad}, {"ok": True})
                client.complete_session(sid)
                worst = max(worst, time.perf_counter() - t)
            reply = {"worst_session_s": worst, "total_s": time.perf_counter() - started}
        elif command == "flush":
            t = time.perf_counter()
            ok = client.flush(float(args[0]))
            reply = {"ok": ok, "s": time.perf_counter() - t}
        elif command == "stats":
            reply = dataclasses.asdict(delivery.stats)
        else:
            break
        print(json.dumps(reply), flush=True)
    """
)


class Agent:
    """One driven agent process."""

    def __init__(self, endpoint: str, tmp_path: Path, protocol: str = "http/protobuf", **env: str):
        full = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SENTRIAL_"))}
        full.update(
            PYTHONPATH=SRC,
            OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
            OTEL_EXPORTER_OTLP_PROTOCOL=protocol,
            OTEL_BSP_SCHEDULE_DELAY="200",
            SENTRIAL_SHUTDOWN_TIMEOUT="2",
            SENTRIAL_HOME=str(tmp_path),
            **env,
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", DRIVER], env=full, stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

    def ask(self, line: str) -> dict:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        reply = self.process.stdout.readline()
        assert reply, self.process.stderr.read() if self.process.stderr else "agent died"
        return json.loads(reply)

    def record(self, count: int, tag: str, pad: int = 0) -> dict:
        reply = self.ask(f"record {count} {tag} {pad}")
        assert reply["worst_session_s"] < MAX_CALL_S, reply
        return reply

    def exit(self, timeout: float = 30) -> tuple[float, list[str]]:
        """Close stdin; (seconds the exit took, stderr lines)."""
        started = time.monotonic()
        _, stderr = self.process.communicate("exit\n", timeout=timeout)
        assert self.process.returncode == 0, stderr
        return time.monotonic() - started, stderr.strip().splitlines()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tags(rx: OtlpReceiver) -> dict[str, int]:
    """Arrived tool spans per tag, and fail on any span delivered twice."""
    spans = rx.spans()
    ids = [s.span_id for s in spans]
    assert len(ids) == len(set(ids)), "a span was delivered twice"
    counts: dict[str, int] = {}
    for span in spans:
        if span.name == "execute_tool tool":
            tag = json.loads(span.attributes["gen_ai.tool.call.arguments"])["tag"]
            counts[tag] = counts.get(tag, 0) + 1
    return counts


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_collector_down_from_the_start(tmp_path, protocol):
    agent = Agent(f"http://127.0.0.1:{_closed_port()}", tmp_path, protocol,
                  OTEL_EXPORTER_OTLP_TIMEOUT=EXPORT_TIMEOUT_S)
    agent.record(300, "down")
    flushed = agent.ask("flush 1")
    assert flushed["s"] < 1 + MAX_CALL_S, flushed  # the export thread waits, not the caller
    exit_s, stderr = agent.exit()
    assert exit_s < MAX_EXIT_S, exit_s  # not the exporter's 30 s of retries
    # Reported once: at most a failure warning, a queue-full warning and the summary.
    assert len(stderr) <= 3, stderr
    assert f"{300 * SPANS_PER_SESSION} spans were not delivered" in stderr[-1], stderr
    assert "0 delivered" in stderr[-1]
    # The same report is kept for `sentrial-otel doctor` (the stderr line is easy to lose).
    reports = _doctor(tmp_path)["undelivered"]
    assert len(reports) == 1, reports
    assert reports[0]["undelivered"] == 300 * SPANS_PER_SESSION
    assert reports[0]["exported"] == 0 and reports[0]["destination"].startswith("http://127.0.0.1:")


def _doctor(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SENTRIAL_"))}
    done = subprocess.run(
        [sys.executable, "-m", "sentrial_otel.cli", "doctor", "--json"],
        env={**env, "PYTHONPATH": SRC, "SENTRIAL_HOME": str(home)},
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_rotel_killed_mid_run_and_restarted(tmp_path):
    rotel_mod = pytest.importorskip("tests.support.rotel")
    with OtlpReceiver() as rx:
        collector = rotel_mod.RotelCollector(export_to=rx.endpoint, workdir=tmp_path / "rotel")
        collector.start()
        try:
            agent = Agent(collector.http_endpoint, tmp_path)
            agent.record(20, "before")
            assert agent.ask("flush 5")["ok"]
            rx.wait_for_spans(20 * SPANS_PER_SESSION, timeout=10)
            collector.kill()
            agent.record(20, "during")  # exported while the collector is dead: retried
            time.sleep(1.5)
            collector.start()
            agent.record(20, "after")
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and rx.span_count() < 60 * SPANS_PER_SESSION:
                time.sleep(0.1)
            stats = agent.ask("stats")
            exit_s, stderr = agent.exit()
        finally:
            collector.stop()
        assert _tags(rx) == {"before": 20, "during": 20, "after": 20}
    assert stats["failed"] == 0 and stats["dropped_queue_full"] == 0, stats
    assert stats["exported"] == 60 * SPANS_PER_SESSION, stats
    assert not [line for line in stderr if "not delivered" in line], stderr


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_503_is_retried_then_delivered(tmp_path, protocol):
    with OtlpReceiver(protocol) as rx:
        rx.fail_with(503, times=2)
        agent = Agent(rx.endpoint, tmp_path, protocol)
        agent.record(10, "retried")
        assert agent.ask("flush 10")["ok"]
        rx.wait_for_spans(10 * SPANS_PER_SESSION, timeout=10)
        stats = agent.ask("stats")
        _, stderr = agent.exit()
        outcomes = [a.outcome for a in rx.attempts if a.signal == "traces"]
    assert outcomes[:3] == ["rejected", "rejected", "accepted"], outcomes
    assert _tags(rx) == {"retried": 10}
    assert stats["exported"] == 10 * SPANS_PER_SESSION and stats["failed"] == 0, stats
    assert not [line for line in stderr if "not delivered" in line], stderr


def test_429_waits_for_retry_after(tmp_path):
    with OtlpReceiver() as rx:
        rx.fail_with(429, times=1, retry_after=2)
        agent = Agent(rx.endpoint, tmp_path)
        agent.record(5, "throttled")
        assert agent.ask("flush 10")["ok"]
        rx.wait_for_spans(5 * SPANS_PER_SESSION, timeout=10)
        agent.exit()
        attempts = rx.attempts
    assert [a.outcome for a in attempts[:2]] == ["rejected", "accepted"]
    assert attempts[0].status == 429
    # The exporter honoured Retry-After (2 s) rather than its own 1 s first backoff.
    assert attempts[1].at - attempts[0].at >= 1.8, attempts[1].at - attempts[0].at
    assert _tags(rx) == {"throttled": 5}


def test_503_past_the_retry_window_is_dropped_and_counted(tmp_path):
    with OtlpReceiver() as rx:
        rx.fail_with(503)  # never heals
        agent = Agent(rx.endpoint, tmp_path, OTEL_EXPORTER_OTLP_TIMEOUT="2")
        agent.record(10, "lost")
        agent.ask("flush 5")
        stats = agent.ask("stats")
        rx.heal()
        agent.record(3, "later")
        assert agent.ask("flush 5")["ok"]
        _, stderr = agent.exit()
        retries = len(rx.attempts)
    assert stats["failed"] == 10 * SPANS_PER_SESSION, stats
    assert retries >= 2  # retried (1 s backoff) before giving up at the 2 s timeout
    assert _tags(rx) == {"later": 3}  # later spans flow normally once it heals
    assert f"{10 * SPANS_PER_SESSION} spans were not delivered" in stderr[-1], stderr
    assert f"{10 * SPANS_PER_SESSION} failed to export" in stderr[-1]


def test_hanging_collector_never_blocks_the_agent(tmp_path):
    with OtlpReceiver() as rx:
        rx.hang()
        agent = Agent(rx.endpoint, tmp_path, OTEL_EXPORTER_OTLP_TIMEOUT=EXPORT_TIMEOUT_S)
        first = agent.record(200, "hung")
        second = agent.record(200, "hung2")  # while an export sits unanswered
        assert max(first["worst_session_s"], second["worst_session_s"]) < MAX_CALL_S
        # A flush keeps its timeout though the export it waits for hangs (for 30 s).
        flushed = agent.ask("flush 0.5")
        assert flushed["ok"] is False and flushed["s"] < 0.5 + MAX_CALL_S, flushed
        exit_s, stderr = agent.exit()
        rx.release()
    assert exit_s < MAX_EXIT_S, exit_s  # the 2 s shutdown budget bounds it, not the hang
    assert "spans were not delivered" in stderr[-1], stderr
    assert "0 delivered" in stderr[-1]
    assert len(stderr) <= 3, stderr


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_payload_over_the_size_limit_is_refused_not_retried(tmp_path, protocol):
    with OtlpReceiver(protocol) as rx:
        rx.limit_body(4000)
        agent = Agent(rx.endpoint, tmp_path, protocol, OTEL_EXPORTER_OTLP_TIMEOUT="3")
        agent.record(1, "big", pad=8000)
        agent.ask("flush 5")
        agent.record(1, "small")
        assert agent.ask("flush 5")["ok"]
        stats = agent.ask("stats")
        _, stderr = agent.exit()
        outcomes = [a.outcome for a in rx.attempts if a.signal == "traces"]
    if protocol == "grpc":
        # gRPC says RESOURCE_EXHAUSTED for "too large" and "throttled" alike, and the SDK
        # exporter retries that code until its timeout: same result, a few wasted tries.
        assert outcomes[-1] == "accepted" and set(outcomes[:-1]) == {"too_large"}, outcomes
        assert len(outcomes) >= 3, outcomes
    else:
        assert outcomes == ["too_large", "accepted"], outcomes  # HTTP 413 is final: no retry
    assert _tags(rx) == {"small": 1}
    assert stats["failed"] == SPANS_PER_SESSION and stats["exported"] == SPANS_PER_SESSION
    assert f"{SPANS_PER_SESSION} failed to export" in stderr[-1], stderr


def test_an_exporter_that_cannot_be_built_falls_back_to_the_store(tmp_path):
    """A bad OTEL_* value makes the SDK exporter raise in its constructor: warn, keep going."""
    agent = Agent(f"http://127.0.0.1:{_closed_port()}", tmp_path, "grpc",
                  OTEL_EXPORTER_OTLP_COMPRESSION="brotli")
    agent.record(2, "kept")
    _, stderr = agent.exit()
    assert "spans go to the local store instead" in stderr[0], stderr
    stored = b"".join(p.read_bytes() for p in tmp_path.rglob("*.jsonl"))
    assert stored.count(b'"execute_tool tool"') == 2


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_an_unsupported_compression_gives_one_warning_and_the_store(tmp_path, protocol):
    """As docs/configuration.md says: not a silent uncompressed export, not two warnings."""
    with OtlpReceiver(protocol=protocol) as rx:
        agent = Agent(rx.endpoint, tmp_path, protocol, OTEL_EXPORTER_OTLP_COMPRESSION="brotli")
        agent.record(2, "kept")
        _, stderr = agent.exit()
    assert stderr == ["sentrial: OTEL_EXPORTER_OTLP_COMPRESSION='brotli' is not one of gzip, "
                      "deflate, none; spans go to the local store instead"]
    assert rx.requests == []
    stored = b"".join(p.read_bytes() for p in tmp_path.rglob("*.jsonl"))
    assert stored.count(b'"execute_tool tool"') == 2
