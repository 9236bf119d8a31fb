"""The ``sentrial-otel`` CLI over real stores, and ``export`` to real OTLP receivers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import unicodedata
from pathlib import Path

import grpc
import pytest
from click.testing import CliRunner
from opentelemetry import trace

from sentrial_otel import semconv as sc
from sentrial_otel.cli import main
from sentrial_otel.store import LocalStoreExporter
from tests.session_builder import (
    BASE_NS,
    SECOND,
    SessionSpec,
    make_provider,
    record_session,
)
from tests.support import OtlpReceiver

REPO = Path(__file__).resolve().parents[1]
SPECS = [
    SessionSpec("alpha-0001", agent="alpha", user="ann", convo="c-1",
                start_ns=BASE_NS),
    SessionSpec("alpha-0002", agent="alpha", user="bob", outcome="failed",
                start_ns=BASE_NS + 3600 * SECOND),
    SessionSpec("beta-0003", agent="beta", user="ann", outcome="abandoned", convo="c-1",
                start_ns=BASE_NS + 7200 * SECOND),
    SessionSpec("beta-0004", agent="beta", user="cid", tools=3, llm_calls=2,
                start_ns=BASE_NS + 10800 * SECOND),
]
TOTAL_SPANS = sum(1 + s.tools + s.decisions + s.llm_calls for s in SPECS)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A store written by a real run in another process, as an agent would."""
    directory = tmp_path / "store"
    script = (
        "import sys\n"
        "from sentrial_otel.store import LocalStoreExporter\n"
        "from tests.session_builder import make_provider, record_session\n"
        "from tests.test_cli import SPECS\n"
        "provider = make_provider(LocalStoreExporter(sys.argv[1]))\n"
        "for spec in SPECS:\n"
        "    record_session(provider, spec)\n"
        "provider.shutdown()\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
    subprocess.run([sys.executable, "-c", script, str(directory)], check=True, env=env,
                   timeout=60)
    return directory


def cli_process(store: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The CLI in a process of its own, as a user starts it (its own logging set-up)."""
    full = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SENTRIAL_"))}
    full.update(PYTHONPATH=str(REPO / "src"), **env)
    return subprocess.run([sys.executable, "-m", "sentrial_otel.cli", "--store", str(store), *args],
                          capture_output=True, text=True, timeout=60, env=full, check=False)


def run(store: Path, *args: str, input: str | None = None, env: dict | None = None):
    runner = CliRunner()
    return runner.invoke(main, ["--store", str(store), *args], input=input, env=env,
                         catch_exceptions=False)


# --- list --------------------------------------------------------------------------------
def test_list_json_and_filters(store: Path) -> None:
    result = run(store, "sessions", "list", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [r["session_id"] for r in rows] == ["beta-0004", "beta-0003", "alpha-0002",
                                                "alpha-0001"]
    by_id = {r["session_id"]: r for r in rows}
    assert by_id["beta-0004"]["tool_calls"] == 3
    assert by_id["beta-0004"]["llm_calls"] == 2
    assert by_id["beta-0004"]["tokens"] == 270
    assert by_id["alpha-0002"]["status"] == "failed"
    assert by_id["beta-0003"]["status"] == "abandoned"

    def ids(*args: str) -> list[str]:
        result = run(store, "sessions", "list", "--json", *args)
        assert result.exit_code == 0, result.output
        return sorted(r["session_id"] for r in json.loads(result.output))

    assert ids("--agent", "alpha") == ["alpha-0001", "alpha-0002"]
    assert ids("--user", "ann") == ["alpha-0001", "beta-0003"]
    assert ids("--status", "success") == ["alpha-0001", "beta-0004"]
    assert ids("--status", "abandoned") == ["beta-0003"]
    assert ids("--convo", "c-1", "--agent", "beta") == ["beta-0003"]
    assert ids("--since", "2025-06-15T16:00:00Z", "--until", "2025-06-15T17:30:00Z") == [
        "alpha-0002", "beta-0003"]
    assert ids("--since", "1h") == []
    assert ids("--limit", "1") == ["beta-0004"]
    assert ids("--status", "failed") == ["alpha-0002"]  # not the abandoned one
    assert ids("--status", "open") == []


def test_list_table(store: Path) -> None:
    result = run(store, "sessions", "list")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0].split() == ["START", "SESSION", "AGENT", "USER", "STATUS", "DURATION",
                                "LLM", "TOOLS", "TOKENS", "COST", "ISSUES"]
    assert "\x1b[" not in result.output  # no colour when not a terminal
    assert "beta-0004" in lines[1] and "$0.0070" in lines[1]


def test_list_says_how_many_sessions_the_limit_leaves_out(store: Path) -> None:
    result = run(store, "sessions", "list", "--limit", "2")
    assert result.exit_code == 0
    assert len(result.stdout.splitlines()) == 3  # the header and two rows
    assert result.stderr == "Showing the newest 2 of 4 matching sessions; --limit shows more.\n"
    assert run(store, "sessions", "list", "--limit", "4").stderr == ""


def test_a_session_of_a_killed_process_is_open_with_its_agent(tmp_path: Path) -> None:
    """Its root never ended, so it was never stored; the children that ended were."""
    provider = make_provider(LocalStoreExporter(tmp_path))
    record_session(provider, SessionSpec("ended"))
    tracer = provider.get_tracer("killed-agent")
    common = {sc.SENTRIAL_SESSION_ID: "killed-1", sc.GEN_AI_AGENT_NAME: "night-agent"}
    root = tracer.start_span("invoke_agent night-agent", start_time=BASE_NS + SECOND,
                             attributes={sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_AGENT, **common})
    with trace.use_span(root):
        tracer.start_span("execute_tool fetch", start_time=BASE_NS + 2 * SECOND, attributes={
            sc.GEN_AI_OPERATION_NAME: sc.OP_EXECUTE_TOOL, sc.GEN_AI_TOOL_NAME: "fetch", **common,
        }).end(end_time=BASE_NS + 3 * SECOND)
    provider.shutdown()  # the root is left unended, as a SIGKILL leaves it
    result = run(tmp_path, "sessions", "list", "--status", "open", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["session_id"], r["agent"], r["tool_calls"]) for r in rows] == [
        ("killed-1", "night-agent", 1)]
    table_rows = run(tmp_path, "sessions", "list").stdout.splitlines()[1:]
    assert "night-agent" in table_rows[0] and "open" in table_rows[0]


def cells(text: str) -> int:
    """Terminal cells ``text`` takes (a CJK character takes two), as a terminal shows it."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def test_list_table_aligns_wide_characters(tmp_path: Path) -> None:
    provider = make_provider(LocalStoreExporter(tmp_path))
    record_session(provider, SessionSpec("wide-1", agent="客服代理", user="ann"))
    record_session(provider, SessionSpec("narrow-1", agent="support-agent", user="bob",
                                         start_ns=BASE_NS + SECOND))
    provider.shutdown()
    header, *rows = run(tmp_path, "sessions", "list").stdout.splitlines()
    user_column = cells(header[:header.index("USER")])
    for row, user in zip(rows, ("bob", "ann")):
        assert cells(row[:row.index(f"  {user}  ") + 2]) == user_column, (header, row)


def test_tiny_costs_and_single_counts_read_right(tmp_path: Path) -> None:
    provider = make_provider(LocalStoreExporter(tmp_path))
    record_session(provider, SessionSpec("one-each", tools=1, llm_calls=1, decisions=1))
    provider.shutdown()
    provider = make_provider(LocalStoreExporter(tmp_path))
    tracer = provider.get_tracer("cheap")  # a cheap model's short call costs this much
    tracer.start_span("invoke_agent cheap", start_time=BASE_NS + SECOND, attributes={
        sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_AGENT, sc.GEN_AI_AGENT_NAME: "cheap",
        sc.SENTRIAL_SESSION_ID: "cheap-1", sc.SENTRIAL_SESSION_NAME: "cheap",
        sc.SENTRIAL_SESSION_COST_USD: 0.0000123, sc.SENTRIAL_SESSION_SUCCESS: True,
    }).end(end_time=BASE_NS + 2 * SECOND)
    provider.shutdown()
    listing = run(tmp_path, "sessions", "list").stdout
    assert "$0.000012" in listing and "$0.0000" not in listing.replace("$0.000012", "")
    header = run(tmp_path, "sessions", "show", "one-each").stdout.splitlines()[2]
    assert "1 LLM call · 1 tool call · 1 decision · 130 tokens · $0.0030" in header, header


def test_usage_errors_exit_2(store: Path) -> None:
    assert run(store, "sessions", "list", "--since", "yesterday").exit_code == 2
    assert run(store, "sessions", "list", "--status", "weird").exit_code == 2
    assert run(store, "export").exit_code == 2  # --endpoint is required
    assert run(store, "export", "--endpoint", "http://x", "--header", "nokey").exit_code == 2


@pytest.mark.parametrize("endpoint,protocol", [
    ("not-a-url", "http/protobuf"), ("ftp://x", "http/protobuf"), ("localhost:4318", "http/protobuf"),
    ("http://", "http/protobuf"), ("http://host:port", "http/protobuf"), ("ftp://x", "grpc"),
])
def test_export_refuses_an_endpoint_that_is_not_a_collector_url(
    store: Path, endpoint: str, protocol: str
) -> None:
    result = run(store, "export", "--endpoint", endpoint, "--protocol", protocol)
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '--endpoint': {endpoint!r}" in result.output
    assert "Sent" not in result.output  # refused before anything was tried


def test_times_beyond_the_calendar_mean_ever(store: Path) -> None:
    """Far-off times filter as "since ever" / "until ever", never a traceback."""

    def ids(*args: str) -> list[str]:
        result = run(store, "sessions", "list", "--json", *args)
        assert result.exit_code == 0, result.output
        return sorted(r["session_id"] for r in json.loads(result.output))

    everything = ["alpha-0001", "alpha-0002", "beta-0003", "beta-0004"]
    assert ids("--since", "99999999d") == everything
    assert ids("--since", "0001-01-01") == everything
    assert ids("--until", "99999999999m") == []
    assert ids("--until", "9999-12-31T23:59:59") == everything
    result = run(store, "export", "--since", "99999999d", "--endpoint", "http://127.0.0.1:9",
                 "--max-attempts", "1")
    assert "Sent 0 of" in result.output  # got as far as sending (nothing listens there)


@pytest.mark.parametrize("command", [
    [], ["sessions"], ["sessions", "list"], ["sessions", "show"], ["sessions", "replay"],
    ["export"], ["doctor"], ["demo"],
])
def test_help_everywhere(command: list[str]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output


def test_warnings_are_printed_once_prefixed_once(store: Path) -> None:
    active = store / "spans.jsonl"
    with open(active, "ab") as handle:
        handle.write(active.read_bytes().splitlines()[-1][:40])  # a writer killed mid-line
    result = cli_process(store, "sessions", "list", SENTRIAL_API_URL="not-a-url")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"sentrial: skipped 1 incomplete or corrupt line(s) in the store {store} (a writer "
        "was probably interrupted mid-write); the rest was read"]
    result = cli_process(store, "doctor", SENTRIAL_API_URL="not-a-url")
    assert result.stderr.splitlines()[0] == (
        "sentrial: SENTRIAL_API_URL='not-a-url' is not a collector URL (not an http:// or "
        "https:// URL); ignoring it")
    assert all(line.startswith("sentrial: ") and "sentrial: sentrial" not in line
               for line in result.stderr.splitlines())


# --- show / replay -----------------------------------------------------------------------
def test_show_by_prefix(store: Path) -> None:
    result = run(store, "sessions", "show", "alpha-0002")
    assert result.exit_code == 0, result.output
    text = result.output
    for expected in ("Session alpha-0002", "failed", "TOOL search_orders",
                     'arguments: {"order_id": "A0"}', "reasoning: The user asked about an order",
                     "alternatives: escalate, reply", "confidence: 0.90",
                     "error: payment API down", "100 in / 20 out tokens", "$0.0020",
                     "input: user: Where is my order?",
                     "1 LLM call · 2 tool calls · 1 decision · 140 tokens"):
        assert expected in text, expected

    result = run(store, "sessions", "show", "beta-0003", "--json")
    document = json.loads(result.output)
    assert document["session"]["status"] == "abandoned"
    kinds = [e["kind"] for e in document["events"]]
    assert kinds == ["session", "tool", "tool", "decision", "llm"]
    tool = document["events"][1]["attributes"]
    assert tool["gen_ai.tool.call.arguments"] == {"order_id": "A0"}  # decoded JSON
    offsets = [e["offset_s"] for e in document["events"]]
    assert offsets == sorted(offsets)


def test_show_unknown_or_ambiguous_exits_1(store: Path) -> None:
    result = run(store, "sessions", "show", "nope")
    assert result.exit_code == 1
    assert "no session matches" in result.output
    result = run(store, "sessions", "show", "alpha")
    assert result.exit_code == 1
    assert "Error: 2 sessions match 'alpha' (alpha-0001, alpha-0002); give more of the id" in (
        result.output)  # every match listed: no "..."


def test_an_ambiguous_prefix_names_how_many_it_leaves_out(tmp_path: Path) -> None:
    provider = make_provider(LocalStoreExporter(tmp_path))
    for n in range(7):
        record_session(provider, SessionSpec(f"same-{n}", start_ns=BASE_NS + n * SECOND))
    provider.shutdown()
    result = run(tmp_path, "sessions", "show", "same")
    assert result.exit_code == 1
    assert "7 sessions match 'same' (same-0, same-1, same-2, same-3, same-4 and 2 more)" in (
        result.output)


def test_show_by_trace_id_in_any_case(store: Path) -> None:
    trace_id = json.loads(run(store, "sessions", "list", "--json").output)[0]["trace_id"]
    for given in (trace_id.upper(), trace_id[:12].upper()):
        result = run(store, "sessions", "show", given)
        assert result.exit_code == 0, result.output
        assert "Session beta-0004" in result.output


def test_sessions_of_an_emptied_store_file_are_gone(store: Path) -> None:
    (store / "spans.jsonl").write_bytes(b"")  # the summaries sidecar is left as it was
    result = run(store, "sessions", "list", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == []
    result = run(store, "sessions", "show", "alpha-0001")
    assert result.exit_code == 1
    assert "no session matches" in result.output


def test_replay_is_in_time_order(store: Path) -> None:
    result = run(store, "sessions", "replay", "beta-0004", "--speed", "0")
    assert result.exit_code == 0, result.output
    steps = [line for line in result.output.splitlines() if line.startswith("+")]
    offsets = [float(line[1:].split("s")[0]) for line in steps]
    assert offsets == sorted(offsets)
    titles = [line.split("s  ", 1)[1].split("  (")[0] for line in steps]
    assert titles == ["SESSION beta", "TOOL search_orders", "TOOL search_orders",
                      "TOOL search_orders", "DECISION beta", "LLM chat gpt-4o (openai)",
                      "LLM chat gpt-4o (openai)", "END ✓ success"]


def test_replay_step_by_step_stops_on_q(store: Path) -> None:
    result = run(store, "sessions", "replay", "beta-0004", "--step", input="\n\nq\n")
    assert result.exit_code == 0
    assert result.output.count("Enter to go on") == 3
    assert "DECISION" not in result.output  # stopped before the fourth step


def test_replay_waits_scaled_real_time(store: Path) -> None:
    import time

    started = time.monotonic()
    result = run(store, "sessions", "replay", "alpha-0001", "--speed", "10")
    assert time.monotonic() - started >= 0.25 * 0.9  # 2.5 s session at 10x
    assert result.exit_code == 0, result.output
    steps = [line for line in result.output.splitlines() if line.startswith("+")]
    assert len(steps) == 1 + 4 + 1  # the session, its four events, the end
    assert steps[-1] == "+   2.500s  END ✓ success"


# --- doctor ------------------------------------------------------------------------------
def test_doctor_json_reports_settings_and_store(store: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    try:
        env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
            "SENTRIAL_API_KEY": "secret-key-value",
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "NO_CONTENT",
            "SENTRIAL_API_URL": "", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "",
            "OTEL_TRACES_EXPORTER": "", "OTEL_EXPORTER_OTLP_PROTOCOL": "",
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "",
        }
        result = run(store, "doctor", "--json", env=env)
        text_result = run(store, "doctor", env=env)
    finally:
        listener.close()
    assert result.exit_code == 0, result.output
    assert "secret-key-value" not in result.output + text_result.output
    report = json.loads(result.output)
    assert report["exporter"] == "otlp"
    assert report["endpoint"] == f"http://127.0.0.1:{port}/v1/traces"
    assert "OTEL_EXPORTER_OTLP_ENDPOINT" in report["endpoint_reason"]
    assert report["collector_reachable"] is True
    assert report["api_key_present"] is True
    assert report["capture_content"] is False
    assert report["store"]["sessions"] == 4
    assert report["store"]["size_bytes"] > 0


def test_doctor_dead_collector_exits_1(store: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    env = {"SENTRIAL_API_URL": "", "OTEL_EXPORTER_OTLP_ENDPOINT": "",
           "OTEL_TRACES_EXPORTER": "", "OTEL_EXPORTER_OTLP_PROTOCOL": "",
           "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "",
           "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"http://127.0.0.1:{port}/v1/traces"}
    result = run(store, "doctor", "--json", "--timeout", "0.5", env=env)
    assert result.exit_code == 1
    assert json.loads(result.output)["collector_reachable"] is False


def test_doctor_without_endpoint_uses_local_store(tmp_path: Path) -> None:
    env = {k: "" for k in ("SENTRIAL_API_URL", "OTEL_EXPORTER_OTLP_ENDPOINT",
                           "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_TRACES_EXPORTER")}
    result = run(tmp_path / "none", "doctor", "--json", env=env)
    assert result.exit_code == 0
    report = json.loads(result.output)
    assert report["exporter"] == "store"  # the engine's name, as docs/troubleshooting.md says
    assert report["store"]["exists"] is False
    text = run(tmp_path / "none", "doctor", env=env).output
    assert "exporter:        store  (no collector endpoint is configured)\n" in text
    assert "content capture: on  (default)\n" in text  # not "(default (captured))"


def test_doctor_when_the_exporter_variable_chooses_the_store(tmp_path: Path) -> None:
    env = {"OTEL_TRACES_EXPORTER": "store", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
           "SENTRIAL_API_URL": "", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": ""}
    report = json.loads(run(tmp_path, "doctor", "--json", env=env).output)
    assert (report["exporter"], report["exporter_reason"]) == ("store", "OTEL_TRACES_EXPORTER=store")
    assert report["endpoint_reason"] == (
        "OTEL_EXPORTER_OTLP_ENDPOINT is set, but not used: the exporter is store")
    assert report["collector_reachable"] is None  # no collector is used, none is checked
    text = run(tmp_path, "doctor", env=env).output
    assert "no collector endpoint is configured" not in text


def test_doctor_says_where_spans_go_when_the_store_is_not_usable(tmp_path: Path) -> None:
    """What it says is what the engine does: an agent run in the same environment writes to
    the directory doctor names."""
    (tmp_path / "a-file").write_text("not a directory")
    home = tmp_path / "a-file" / "store"
    temp = tmp_path / "tmp"
    temp.mkdir()
    result = cli_process(home, "doctor", SENTRIAL_HOME=str(home), TMPDIR=str(temp))
    fallback = temp / f"sentrial-{os.getuid()}"
    assert (f"not usable: it cannot be created: {tmp_path / 'a-file'} is not a directory; "
            f"spans are written to {fallback} instead") in result.stdout
    report = json.loads(cli_process(home, "doctor", "--json", TMPDIR=str(temp)).stdout)
    assert report["store"]["fallback"] == str(fallback)

    agent = ("import sentrial\n"
             "c = sentrial.SentrialClient()\n"
             "c.complete_session(c.create_session(name='n', agent_name='a', user_id='u'))\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SENTRIAL_"))}
    env.update(PYTHONPATH=str(REPO / "src"), SENTRIAL_HOME=str(home), TMPDIR=str(temp))
    subprocess.run([sys.executable, "-c", agent], env=env, check=True, timeout=60,
                   capture_output=True)
    assert [r["agent"] for r in json.loads(run(fallback, "sessions", "list", "--json").output)] == ["a"]


# --- export ------------------------------------------------------------------------------
def rejected(receiver: OtlpReceiver) -> list[int | str | None]:
    """The status of every attempt the receiver refused (what the CLI had to retry)."""
    return [a.status for a in receiver.attempts if a.outcome == "rejected"]


def test_export_http_delivers_every_span_with_retry(store: Path, otlp_receiver) -> None:
    otlp_receiver.fail_with(503, times=2)
    result = run(store, "export", "--endpoint", otlp_receiver.endpoint, "--header",
                 "Authorization=Bearer t0k", "--batch-spans", "7",
                 "--initial-backoff", "0.01")
    assert result.exit_code == 0, result.output
    assert f"Sent {TOTAL_SPANS} of {TOTAL_SPANS} spans from 4 sessions" in result.output
    assert rejected(otlp_receiver) == [503, 503]
    spans = otlp_receiver.spans()
    assert len({s.span_id for s in spans}) == len(spans) == TOTAL_SPANS
    headers = otlp_receiver.requests[0].headers
    assert headers["authorization"] == "Bearer t0k"
    assert headers["content-type"] == "application/x-protobuf"
    # Ids and attributes survive the round trip through the store.
    assert len(spans[0].trace_id) == 32 and len(spans[0].span_id) == 16
    assert all("sentrial.session.id" in s.attributes for s in spans)


def test_export_with_filter_sends_only_matching_sessions(store: Path, otlp_receiver) -> None:
    result = run(store, "export", "--endpoint", otlp_receiver.traces_endpoint,
                 "--agent", "alpha")
    assert result.exit_code == 0, result.output
    spans = otlp_receiver.spans()
    assert {s.attributes["sentrial.session.id"] for s in spans} == {"alpha-0001", "alpha-0002"}
    assert len(spans) == 10


def test_export_failure_exits_1_with_summary(store: Path, otlp_receiver) -> None:
    otlp_receiver.fail_with(503)  # until the end of the test
    result = run(store, "export", "--endpoint", otlp_receiver.endpoint, "--max-attempts", "2",
                 "--initial-backoff", "0")
    assert result.exit_code == 1
    assert f"Sent 0 of {TOTAL_SPANS} spans" in result.output
    assert "HTTP 503" in result.output
    assert otlp_receiver.spans() == []


def test_export_to_a_dead_collector_says_what_it_waits_for(store: Path) -> None:
    """Not on a terminal there is no progress bar: each retry is a line on stderr."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    result = run(store, "export", "--endpoint", f"http://127.0.0.1:{port}", "--max-attempts",
                 "3", "--initial-backoff", "0.01")
    assert result.exit_code == 1
    notes = result.stderr.splitlines()[:2]
    assert [note.split(": ")[0] for note in notes] == [
        "retrying in 0.01s (attempt 2 of 3)", "retrying in 0.02s (attempt 3 of 3)"]
    assert all(f": cannot reach http://127.0.0.1:{port}/v1/traces" in note for note in notes)
    assert f"Sent 0 of {TOTAL_SPANS} spans from 4 sessions" in result.stdout
    assert "(http/protobuf, 1 request); " in result.stdout


def test_export_grpc_delivers_every_span(store: Path, otlp_grpc_receiver) -> None:
    otlp_grpc_receiver.fail_with(grpc.StatusCode.UNAVAILABLE, times=1)
    result = run(store, "export", "--endpoint", otlp_grpc_receiver.endpoint, "--protocol",
                 "grpc", "--initial-backoff", "0.01")
    assert result.exit_code == 0, result.output
    assert rejected(otlp_grpc_receiver) == ["UNAVAILABLE"]
    spans = otlp_grpc_receiver.spans()
    assert len({s.span_id for s in spans}) == len(spans) == TOTAL_SPANS


def test_export_with_nothing_matching_is_ok(store: Path) -> None:
    result = run(store, "export", "--endpoint", "http://127.0.0.1:9", "--agent", "nobody")
    assert result.exit_code == 0
    assert "nothing to send" in result.output


def test_store_env_variable_is_honoured(store: Path) -> None:
    result = CliRunner().invoke(main, ["sessions", "list", "--json"],
                                env={"SENTRIAL_HOME": str(store)})
    assert len(json.loads(result.output)) == 4


@pytest.mark.parametrize("where", [
    ["sessions", "list", "--store", "{store}", "--json"],
    ["sessions", "--store", "{store}", "list", "--json"],
    ["--store", "{store}", "sessions", "list", "--json"],
])
def test_store_option_before_or_after_the_command(store: Path, where: list[str]) -> None:
    args = [arg.format(store=store) for arg in where]
    result = CliRunner().invoke(main, args, env={"SENTRIAL_HOME": "/nonexistent"})
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)) == 4


def test_store_option_after_the_command_wins(store: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--store", str(tmp_path / "other"), "sessions", "show",
                                       "--store", str(store), "beta-0004"])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, ["doctor", "--json", "--store", str(store)])
    assert json.loads(result.stdout)["store"]["sessions"] == 4


@pytest.mark.parametrize("command", [["sessions", "list"], ["sessions", "show", "x"],
                                     ["sessions", "replay", "x"],
                                     ["export", "--endpoint", "http://127.0.0.1:9"]])
def test_a_store_that_does_not_exist_is_an_error(tmp_path: Path, command: list[str]) -> None:
    missing = tmp_path / "nonexist"
    result = CliRunner().invoke(main, command, env={"SENTRIAL_HOME": str(missing)})
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: no local store at {missing} (from SENTRIAL_HOME)")
    assert not missing.exists()  # looking did not create it


def test_in_process_writer_is_visible_to_cli(tmp_path: Path) -> None:
    provider = make_provider(LocalStoreExporter(tmp_path))
    record_session(provider, SessionSpec("live-1"))
    provider.shutdown()
    result = run(tmp_path, "sessions", "list", "--json")
    assert [r["session_id"] for r in json.loads(result.output)] == ["live-1"]
