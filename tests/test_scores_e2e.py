"""Scores end to end: real processes configured by environment only, OTLP logs over real
sockets (decoded with opentelemetry-proto), the local store read back by the CLI, and a
second process that scores a session with nothing but its id."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from sentrial_otel._internal.spans import ids
from sentrial_otel import semconv as sc
from tests.support import free_port
from tests.support.otlp_receiver import OtlpReceiver
from tests.test_e2e_otlp import run_script

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow

SESSION_SCRIPT = """
    import sentrial
    client = sentrial.SentrialClient()
    interaction = client.begin(user_id="user_123", event="support", input="Where is my order?")
    interaction.track_tool_call("search_orders", {"q": "order"}, {"found": 1})
    interaction.finish(output="It ships tomorrow.")
    interaction.score("helpfulness", value=0.9, label="good", explanation="answered at once")
    print(interaction.session_id)
    # No flush: a plain exit must deliver the score too.
"""

LATER_SCRIPT = """
    import sentrial
    print(sentrial.score({session_id!r}, "thumbs", value=1.0, label="up"))
"""


def later(session_id: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Another process, later, that knows only the session id."""
    return run_script(LATER_SCRIPT.format(session_id=session_id), env)


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_scores_travel_as_otlp_logs_beside_the_spans(tmp_path, protocol):
    with OtlpReceiver(protocol=protocol) as rx:
        env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": rx.endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
            "SENTRIAL_API_KEY": "sentrial_live_scores",
            "OTEL_SERVICE_NAME": "support-service",
            "SENTRIAL_HOME": str(tmp_path),
        }
        first = run_script(SESSION_SCRIPT, env)
        assert first.returncode == 0, first.stderr
        session_id = first.stdout.strip()
        second = later(session_id, env)
        assert second.returncode == 0, second.stderr
        records = rx.wait_for_log_records(2)
        spans = rx.wait_for_spans(2)
        logs_requests = [r for r in rx.requests if r.signal == "logs"]
    root = next(span for span in spans if span.is_root)
    assert all(r.headers.get("authorization") == "Bearer sentrial_live_scores"
               for r in logs_requests)
    if protocol == "http/protobuf":
        assert {a.status for a in rx.attempts if a.signal == "logs"} == {200}
    helpfulness, thumbs = sorted(records, key=lambda r: r.attributes[sc.GEN_AI_EVALUATION_NAME])
    for record in (helpfulness, thumbs):
        assert record.event_name == "gen_ai.evaluation.result"
        assert (record.trace_id, record.span_id) == (root.trace_id, root.span_id)
        assert record.attributes[sc.SENTRIAL_SESSION_ID] == session_id
        assert record.resource["service.name"] == "support-service"
        assert record.scope_name == "sentrial_otel"
    assert helpfulness.attributes == {
        "gen_ai.evaluation.name": "helpfulness",
        "gen_ai.evaluation.score.value": 0.9,
        "gen_ai.evaluation.score.label": "good",
        "gen_ai.evaluation.explanation": "answered at once",
        "sentrial.session.id": session_id,
    }
    assert thumbs.attributes[sc.GEN_AI_EVALUATION_SCORE_LABEL] == "up"


def test_the_logs_endpoint_variable_and_exporter_variable_are_honoured(tmp_path):
    with OtlpReceiver() as traces, OtlpReceiver() as logs:
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": traces.endpoint,
               "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": f"{logs.endpoint}/v1/logs",
               "SENTRIAL_HOME": str(tmp_path)}
        assert run_script(SESSION_SCRIPT, env).returncode == 0
        assert logs.wait_for_log_records(1)[0].event_name == "gen_ai.evaluation.result"
        traces.wait_for_spans(2)
        assert traces.log_records() == []

        traces.clear()
        result = run_script(SESSION_SCRIPT, {**env, "OTEL_LOGS_EXPORTER": "none"})
        assert result.returncode == 0, result.stderr
        traces.wait_for_spans(2)
        assert len(logs.log_records()) == 1  # the first run's only
        assert "sentrial" not in result.stderr  # turned off on purpose: nothing to warn about

    console = run_script(SESSION_SCRIPT, {"OTEL_LOGS_EXPORTER": "console",
                                          "SENTRIAL_HOME": str(tmp_path)})
    assert console.returncode == 0, console.stderr
    assert "gen_ai.evaluation.result" in console.stdout


def test_a_dead_collector_costs_one_warning_not_a_wait(tmp_path):
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{free_port()}",
           "SENTRIAL_SHUTDOWN_TIMEOUT": "1", "SENTRIAL_HOME": str(tmp_path)}
    started = time.monotonic()
    result = run_script(SESSION_SCRIPT, env)
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()  # the agent ran to the end
    # The budget is 1 s; a generous bound for a loaded machine (the SDK's would be 30 s).
    assert elapsed < 15, elapsed


def test_an_application_logger_provider_is_used_never_replaced(tmp_path):
    script = """
        from opentelemetry import _logs
        from opentelemetry.sdk._logs import LoggerProvider
        from opentelemetry.sdk._logs.export import (InMemoryLogRecordExporter,
                                                    SimpleLogRecordProcessor)
        exporter = InMemoryLogRecordExporter()
        mine = LoggerProvider()
        mine.add_log_record_processor(SimpleLogRecordProcessor(exporter))
        _logs.set_logger_provider(mine)

        import sentrial
        client = sentrial.SentrialClient()
        client.score("sess-1", "thumbs", label="up")
        assert _logs.get_logger_provider() is mine
        (record,) = exporter.get_finished_logs()
        print(record.log_record.event_name, record.log_record.attributes["gen_ai.evaluation.name"])
    """
    result = run_script(script, {"SENTRIAL_HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["gen_ai.evaluation.result", "thumbs"]


def test_with_its_own_tracer_provider_and_no_logger_provider_one_warning(tmp_path):
    script = """
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        trace.set_tracer_provider(TracerProvider())
        import sentrial
        client = sentrial.SentrialClient()
        print(client.score("sess-1", "thumbs", label="up")["name"])
        client.score("sess-1", "thumbs", label="down")
    """
    result = run_script(script, {"SENTRIAL_HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "thumbs"
    warnings = [line for line in result.stderr.splitlines() if "scores are not exported" in line]
    assert len(warnings) == 1, result.stderr
    assert "logger_provider=" in warnings[0]


def test_each_destination_keeps_its_own_scores(tmp_path):
    script = f"""
        import sentrial_otel
        first = sentrial_otel.Telemetry(sentrial_otel.resolve_settings(home={str(tmp_path / "a")!r}))
        second = sentrial_otel.Telemetry(sentrial_otel.resolve_settings(home={str(tmp_path / "b")!r}))
        for engine, agent in ((first, "agent-a"), (second, "agent-b")):
            with engine.session(agent) as session:
                pass
            session.score("grade", label=agent)
    """
    result = run_script(script, {})
    assert result.returncode == 0, result.stderr
    for store, agent in ((tmp_path / "a", "agent-a"), (tmp_path / "b", "agent-b")):
        listed = cli(store, "sessions", "list", "--json")
        (session,) = json.loads(listed.stdout)
        assert (session["agent"], session["scores"]) == (
            agent, [{"name": "grade", "value": None, "label": agent}])


def cli(store: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SENTRIAL_"))}
    env["PYTHONPATH"] = str(REPO / "src")
    return subprocess.run([sys.executable, "-m", "sentrial_otel.cli", "--store", str(store),
                           *args], capture_output=True, text=True, timeout=60, env=env,
                          check=False)


def test_the_store_keeps_scores_with_their_session(tmp_path):
    store = tmp_path / "store"
    env = {"SENTRIAL_HOME": str(store)}
    first = run_script(SESSION_SCRIPT, env)
    assert first.returncode == 0, first.stderr
    session_id = first.stdout.strip()
    # A second process, with the id alone, after the session ended.
    second = later(session_id, env)
    assert second.returncode == 0, second.stderr
    assert session_id in second.stdout

    # Written as the collector's file exporter writes logs, beside the spans.
    lines = [json.loads(line) for line in (store / "spans.jsonl").read_text().splitlines()]
    logs = [line for line in lines if "resourceLogs" in line]
    assert len(logs) == 2
    record = logs[0]["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]
    root = ids.root_span_context(session_id)
    assert (record["traceId"], record["spanId"]) == (f"{root.trace_id:032x}",
                                                     f"{root.span_id:016x}")
    assert record["eventName"] == "gen_ai.evaluation.result"

    def listed() -> dict:
        result = cli(store, "sessions", "list", "--json")
        assert result.returncode == 0, result.stderr
        (session,) = json.loads(result.stdout)
        return session

    expected = [{"name": "helpfulness", "value": 0.9, "label": "good"},
                {"name": "thumbs", "value": 1.0, "label": "up"}]
    session = listed()
    assert session["session_id"] == session_id
    assert session["scores"] == expected
    # From the writers' summaries, and just the same when they are gone and the reader
    # builds its index by parsing the lines.
    for sidecar in (store / ".summaries").iterdir():
        sidecar.unlink()
    assert listed()["scores"] == expected

    shown = cli(store, "sessions", "show", session_id[:8], "--json")
    assert shown.returncode == 0, shown.stderr
    first_score = json.loads(shown.stdout)["scores"][0]
    when, offset = first_score.pop("time"), first_score.pop("offset_s")
    assert first_score == {"name": "helpfulness", "value": 0.9, "label": "good",
                           "explanation": "answered at once"}
    assert datetime.fromisoformat(when).tzinfo is not None
    assert 0 <= offset < 60  # scored right after the session, by its own process
    text = cli(store, "sessions", "show", session_id)
    assert "helpfulness 0.9 (good): answered at once" in text.stdout
    assert "thumbs 1.0 (up)" in text.stdout


def test_a_score_for_a_session_not_in_the_store_is_not_listed(tmp_path):
    store = tmp_path / "store"
    result = later("never-recorded-here", {"SENTRIAL_HOME": str(store)})
    assert result.returncode == 0, result.stderr
    assert "resourceLogs" in (store / "spans.jsonl").read_text()
    listed = cli(store, "sessions", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []
