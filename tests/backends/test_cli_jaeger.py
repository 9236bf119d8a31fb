"""``sentrial-otel sessions list|show|replay|issues|diagnose --source jaeger=URL`` against the
real Jaeger.

The same sessions are in both places: agents record into a local store, and
``sentrial-otel export`` sends that store through otelcol.yaml to Jaeger. So every command
can be run twice, on the store and on Jaeger, and must print the same (``--json`` equal up
to Jaeger's microsecond clock), detected issues included. Bad input gets one ``Error:``
line and a non-zero exit.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

from sentrial_otel.cli import main
from sentrial_otel.store import SessionFilter
from sentrial_otel.store import jaeger as jaeger_sessions
from tests.backends.agents import agent_env, run_program
from tests.support.backends import Jaeger, Otelcol, address

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, env: dict[str, str] | None = None, store: Path | None = None
        ) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SENTRIAL_"))}
    full.update(PYTHONPATH=str(ROOT / "src"), NO_COLOR="1", **(env or {}))
    prefix = ["--store", str(store)] if store else []
    return subprocess.run([sys.executable, "-m", "sentrial_otel.cli", *prefix, *args],
                          env=full, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def jaeger_of_cli(engines_built: None, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[Jaeger]:
    """A Jaeger of its own: `list` shows every session it holds, other tests' too."""
    with Jaeger(workdir=tmp_path_factory.mktemp("jaeger-cli")) as engine:
        yield engine


@pytest.fixture(scope="module")
def both(jaeger_of_cli: Jaeger, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A local store and a Jaeger holding the same sessions."""
    jaeger = jaeger_of_cli
    work = tmp_path_factory.mktemp("cli-jaeger")
    store = work / "store"
    service = f"cli-{uuid.uuid4().hex[:8]}"
    env = agent_env(None, service, store)
    doors, _ = run_program(env, "front-doors", uuid.uuid4().hex)
    mix, _ = run_program(env, "mix", "20", uuid.uuid4().hex)
    found, _ = run_program(env, "findings", uuid.uuid4().hex)
    local = json.loads(cli("sessions", "list", "--json", "--limit", "100", store=store).stdout)
    assert len(local) == 25
    with Otelcol(["otelcol.yaml"], jaeger=jaeger, keys=["k"], workdir=work / "otelcol",
                 env={"DECISION_WAIT": "1s", "BASELINE_SAMPLING_PERCENTAGE": "100"}) as otelcol:
        sent = cli("export", "--endpoint", otelcol.http_endpoint, "--header",
                   "authorization=Bearer k", store=store)
        assert sent.returncode == 0, sent.stderr
        total = sum(s["span_count"] for s in local)
        jaeger.wait_for_traces(service, count=len(local), spans=total, timeout=30, settle=1)
    return {"store": store, "source": f"jaeger={jaeger.url}", "jaeger": jaeger,
            "doors": doors, "mix": mix["sessions"], "findings": found, "service": service}


def comparable(summary: dict[str, Any]) -> dict[str, Any]:
    """A summary without what Jaeger keeps at microsecond precision, nor the scores: log
    records, which Jaeger does not store (test_scores_are_the_stores_alone)."""
    return {k: v for k, v in summary.items() if k not in ("start", "duration_s", "scores")}


def both_json(both: dict[str, Any], *args: str) -> tuple[Any, Any]:
    local = cli(*args, "--json", store=both["store"])
    remote = cli(*args, "--json", "--source", both["source"])
    assert local.returncode == 0, local.stderr
    assert remote.returncode == 0, remote.stderr
    return json.loads(local.stdout), json.loads(remote.stdout)


@pytest.mark.parametrize("filters", [
    [], ["--agent", "mix-agent"], ["--user", "user-3"], ["--status", "failed"],
    ["--status", "abandoned"], ["--status", "success"], ["--convo", "convo-1"],
    ["--since", "1h"], ["--until", "1h"], ["--limit", "5"], ["--issue", "tool_loop"],
    ["--issue", "empty_output"], ["--has-issues"], ["--status", "success", "--has-issues"],
    ["--status", "open"],
], ids=lambda f: " ".join(f) or "all")
def test_list_finds_the_same_sessions_as_the_store(both: dict[str, Any], filters: list[str]) -> None:
    local, remote = both_json(both, "sessions", "list", "--limit", "100", *filters)
    if "--limit" in filters:
        local, remote = both_json(both, "sessions", "list", *filters)
    assert [comparable(s) for s in remote] == [comparable(s) for s in local]
    for mine, theirs in zip(remote, local):
        assert abs(mine["duration_s"] - theirs["duration_s"]) < 1e-5
    if filters not in (["--until", "1h"], ["--status", "open"]):  # none is open (killed)
        assert remote, "the filter should match something"


def test_show_prints_the_same_events(both: dict[str, Any]) -> None:
    for sid in [*both["doors"].values(), both["mix"][0][0], both["mix"][1][0], both["mix"][2][0],
                *both["findings"].values()]:
        local, remote = both_json(both, "sessions", "show", sid)
        assert comparable(remote["session"]) == comparable(local["session"])
        assert [{**f, "offset_s": None} for f in remote["findings"]] == [
            {**f, "offset_s": None} for f in local["findings"]]
        for mine, theirs in zip(remote["findings"], local["findings"]):
            assert abs(mine["offset_s"] - theirs["offset_s"]) < 1e-5
        assert [(e["kind"], e["name"], e["span_id"], e["parent_span_id"], e["error"],
                 e["tokens"], e["cost_usd"]) for e in remote["events"]] == [
                (e["kind"], e["name"], e["span_id"], e["parent_span_id"], e["error"],
                 e["tokens"], e["cost_usd"]) for e in local["events"]]
        for mine, theirs in zip(remote["events"], local["events"]):
            assert mine["attributes"] == theirs["attributes"], mine["name"]
            assert [e["name"] for e in mine["events"]] == [e["name"] for e in theirs["events"]]


def test_scores_are_the_stores_alone(both: dict[str, Any]) -> None:
    """The facade session is scored: the store shows it; Jaeger has no logs to show."""
    local, remote = both_json(both, "sessions", "show", both["doors"]["facade"])
    assert [(s["name"], s["value"], s["label"]) for s in local["scores"]] == [
        ("helpfulness", 0.9, "good")]
    assert local["session"]["scores"]
    assert remote["scores"] == [] and remote["session"]["scores"] == []


def test_show_and_replay_text_match_the_store(both: dict[str, Any]) -> None:
    sid = both["findings"]["looping"]  # with its findings marked at their steps
    for args in (["sessions", "show", sid], ["sessions", "replay", sid, "--speed", "0"]):
        local = cli(*args, store=both["store"])
        remote = cli(*args, "--source", both["source"])
        assert remote.returncode == 0, remote.stderr
        # Same lines; offsets and durations may differ in the last digit (microseconds).
        strip = str.maketrans("", "", "0123456789")
        assert remote.stdout.translate(strip) == local.stdout.translate(strip)
        assert "TOOL search" in remote.stdout
    assert "tool_loop" in remote.stdout  # show marks the finding at its step


def test_the_issue_filters_find_the_sessions_with_findings(both: dict[str, Any]) -> None:
    """Not only equal to the store: the sessions the findings program marked."""
    _, loops = both_json(both, "sessions", "list", "--issue", "tool_loop")
    assert [s["session_id"] for s in loops] == [both["findings"]["looping"]]
    assert loops[0]["issues"] == {"low_confidence": 1, "tool_loop": 1}
    _, marked = both_json(both, "sessions", "list", "--has-issues")
    assert {s["session_id"] for s in marked} == set(both["findings"].values())


def test_issues_counts_the_same(both: dict[str, Any]) -> None:
    local, remote = both_json(both, "sessions", "issues")
    assert remote == local
    assert {(c["kind"], c["agent"], c["findings"]) for c in remote} == {
        ("tool_loop", "triage-agent", 1), ("low_confidence", "triage-agent", 1),
        ("empty_output", "triage-agent", 1)}
    text_local = cli("sessions", "issues", store=both["store"])
    text_remote = cli("sessions", "issues", "--source", both["source"])
    assert text_remote.returncode == 0, text_remote.stderr
    assert (text_remote.stdout, text_remote.stderr) == (text_local.stdout, text_local.stderr)


def test_diagnose_prints_the_same_brief(both: dict[str, Any]) -> None:
    sid = both["findings"]["looping"]
    local = cli("sessions", "diagnose", sid, store=both["store"])
    remote = cli("sessions", "diagnose", sid, "--source", both["source"])
    assert remote.returncode == 0, remote.stderr
    strip = str.maketrans("", "", "0123456789")  # durations to the microsecond
    assert remote.stdout.translate(strip) == local.stdout.translate(strip)
    assert "tool_loop" in remote.stdout and "search called 3 times" in remote.stdout


def test_an_answer_jaeger_capped_says_so(both: dict[str, Any],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Jaeger returns at most the traces asked for: when a service reaches that, the count
    is of what it returned, and stderr says so (here with a fetch of 5 instead of 200)."""
    source = jaeger_sessions.JaegerSessions(both["jaeger"].url)
    assert source.list(SessionFilter(), None).note == ""  # 25 sessions, far below 1,500
    monkeypatch.setattr(jaeger_sessions, "_MIN_FETCH", 5)
    page = source.list(SessionFilter(), 1)
    assert len(page.sessions) == 1 and page.matching >= 5
    assert "returned its limit of 5 traces" in page.note and both["service"] in page.note
    result = CliRunner().invoke(main, ["sessions", "list", "--limit", "1", "--source",
                                       both["source"]])
    assert result.exit_code == 0, result.output
    assert page.note in result.stderr
    assert f"Showing the newest 1 of {page.matching}" in result.stderr


def test_source_before_the_command(both: dict[str, Any]) -> None:
    """`sessions --source URL list`, as `--store` may come before the command too."""
    result = cli("sessions", "--source", both["source"], "list", "--agent", "support-agent",
                 "--json")
    assert result.returncode == 0, result.stderr
    assert [s["session_id"] for s in json.loads(result.stdout)] == [both["doors"]["facade"]]


def test_the_source_comes_from_sentrial_source_too(both: dict[str, Any]) -> None:
    result = cli("sessions", "list", "--agent", "support-agent", "--json",
                 env={"SENTRIAL_SOURCE": both["source"]})
    assert result.returncode == 0, result.stderr
    assert [s["session_id"] for s in json.loads(result.stdout)] == [both["doors"]["facade"]]


def test_the_whole_trace_id_finds_a_session(both: dict[str, Any]) -> None:
    local = json.loads(cli("sessions", "show", both["doors"]["native"], "--json",
                           store=both["store"]).stdout)
    trace_id = local["session"]["trace_id"]
    remote = cli("sessions", "show", trace_id, "--json", "--source", both["source"])
    assert remote.returncode == 0, remote.stderr
    assert json.loads(remote.stdout)["session"]["session_id"] == both["doors"]["native"]


def one_error_line(result: subprocess.CompletedProcess[str], code: int, *words: str) -> str:
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def test_jaeger_unreachable(both: dict[str, Any]) -> None:
    closed = address()  # free a moment ago: nothing listens there
    for args in (["sessions", "list"], ["sessions", "show", "abc"], ["sessions", "replay", "x"],
                 ["sessions", "issues"], ["sessions", "diagnose", "x"]):
        one_error_line(cli(*args, "--source", f"jaeger=http://{closed}"), 1, "cannot reach",
                       closed)


def test_a_url_that_is_not_jaeger(both: dict[str, Any], tmp_path: Path) -> None:
    with Otelcol(["otelcol.yaml"], keys=["k"], workdir=tmp_path / "otelcol",
                 env={"DECISION_WAIT": "1s"}) as otelcol:
        # The collector's health endpoint answers HTTP, but is not Jaeger's query API.
        line = one_error_line(cli("sessions", "list", "--source",
                                  f"jaeger=http://{otelcol.health_address}"), 1)
        assert "Jaeger" in line


@pytest.mark.parametrize("spec", ["jaeger", "jaeger=", "jaeger=localhost:16686", "tempo=http://x",
                                  "jaeger=ftp://x"])
def test_a_malformed_source_is_a_usage_error(spec: str) -> None:
    one_error_line(cli("sessions", "list", "--source", spec), 2, "--source")
    one_error_line(cli("sessions", "list", env={"SENTRIAL_SOURCE": spec}), 2, "SENTRIAL_SOURCE")


def test_a_session_id_that_matches_nothing(both: dict[str, Any]) -> None:
    missing = str(uuid.uuid4())
    one_error_line(cli("sessions", "show", missing, "--source", both["source"]), 1,
                   missing, "no session")
    one_error_line(cli("sessions", "show", "", "--source", both["source"]), 1)


def test_a_trace_that_is_not_a_session(both: dict[str, Any]) -> None:
    """A plain OpenTelemetry span, straight into Jaeger over OTLP: not a sentrial session."""
    jaeger: Jaeger = both["jaeger"]
    provider = TracerProvider(resource=Resource.create({"service.name": both["service"]}))
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(
        endpoint=f"http://{jaeger.otlp_grpc_address}", insecure=True)))
    with provider.get_tracer("plain").start_as_current_span("GET /health") as span:
        trace_id = f"{span.get_span_context().trace_id:032x}"
    provider.shutdown()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(
            t["traceID"].zfill(32) == trace_id for t in jaeger.traces(both["service"])):
        time.sleep(0.2)
    one_error_line(cli("sessions", "show", trace_id, "--source", both["source"]), 1,
                   trace_id, "not a sentrial session")
    # And `list` leaves it out: only sessions are listed.
    listed = json.loads(cli("sessions", "list", "--json", "--limit", "100", "--source",
                            both["source"]).stdout)
    assert trace_id not in {s["trace_id"] for s in listed}


# --- demo --endpoint ---------------------------------------------------------------------------


def test_demo_sends_its_sessions_to_a_collector(jaeger: Jaeger, tmp_path: Path) -> None:
    service = f"demo-{uuid.uuid4().hex[:8]}"
    with Otelcol(["otelcol.yaml"], jaeger=jaeger, keys=["k"], workdir=tmp_path / "otelcol",
                 env={"DECISION_WAIT": "1s", "BASELINE_SAMPLING_PERCENTAGE": "100"}) as otelcol:
        result = cli("demo", "--endpoint", otelcol.http_endpoint, store=tmp_path / "store",
                     env={"SENTRIAL_API_KEY": "k", "OTEL_SERVICE_NAME": service})
        assert result.returncode == 0, result.stderr
        sent = re.findall(r"^  ([0-9a-f-]{36})$", result.stdout, re.M)
        assert len(sent) == 3, result.stdout
        traces = jaeger.wait_for_traces(service, count=3, settle=0.5)
    found = {tag["value"] for trace in traces for span in trace["spans"] for tag in span["tags"]
             if tag["key"] == "sentrial.session.id"}
    assert found == set(sent)
    assert not (tmp_path / "store").exists()  # nothing went to the local store


def test_demo_to_a_collector_that_refuses_the_key_exits_1(jaeger: Jaeger, tmp_path: Path) -> None:
    with Otelcol(["otelcol.yaml"], jaeger=jaeger, keys=["k"], workdir=tmp_path / "otelcol",
                 env={"DECISION_WAIT": "1s"}) as otelcol:
        result = cli("demo", "--endpoint", otelcol.http_endpoint, store=tmp_path / "store",
                     env={"SENTRIAL_API_KEY": "wrong", "SENTRIAL_SHUTDOWN_TIMEOUT": "2"})
    assert result.returncode == 1
    assert "refused the API key" in result.stderr
    assert "were not delivered" in result.stderr.splitlines()[-1]


@pytest.mark.parametrize("args,env", [
    (["--endpoint", "http://127.0.0.1:1", "--from-env"], {}),
    (["--from-env"], {}),
])
def test_demo_bad_destination_is_a_usage_error(args: list[str], env: dict[str, str],
                                               tmp_path: Path) -> None:
    one_error_line(cli("demo", *args, store=tmp_path / "store", env=env), 2)
