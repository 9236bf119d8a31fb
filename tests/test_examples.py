"""Every example in examples/ runs offline in a subprocess, and produces what it says.

Each example runs as a user would run it (``python examples/x.py``) with an empty
environment apart from ``SENTRIAL_HOME`` (a temporary store) and ``PYTHONPATH``; the
assertions read what it recorded back from the local store, or from a real OTLP receiver.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sentrial_otel import semconv as sc
from sentrial_otel.store import list_sessions, load_session
from sentrial_otel.store.sessions import StoredSession, SessionSummary
from tests.support.otlp_receiver import OtlpReceiver

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SRC = ROOT / "src"
pytestmark = pytest.mark.slow


def run_example(
    name: str,
    cwd: Path,
    *args: str,
    env: dict[str, str] | None = None,
    home: bool = True,
    timeout: float = 60,
    launcher: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SENTRIAL_"))}
    clean["PYTHONPATH"] = os.pathsep.join([str(SRC), str(ROOT)])
    if home:
        clean["SENTRIAL_HOME"] = str(cwd / "store")
    clean.update(env or {})
    result = subprocess.run(
        [*launcher, sys.executable, str(EXAMPLES / name), *args],
        cwd=cwd,
        env=clean,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"{name} failed:\n{result.stdout}\n{result.stderr}"
    return result


def sessions(store: Path) -> list[SessionSummary]:
    return list_sessions(store)


def by_agent(store: Path, agent: str) -> list[SessionSummary]:
    return [s for s in sessions(store) if s.agent == agent]


def spans_of(store: Path, summary: SessionSummary) -> StoredSession:
    return load_session(store, summary)


def names(session: StoredSession) -> list[str]:
    return sorted(span.name for span in session.spans)


def assert_one_trace(session: StoredSession) -> None:
    """Every span in the trace, every child parented to a span of the trace."""
    root = session.root
    assert root is not None and root.parent_span_id == ""
    ids = {span.span_id for span in session.spans}
    for span in session.spans:
        assert span.trace_id == root.trace_id
        if span is not root:
            assert span.parent_span_id in ids, span.name


# --- one test per example ----------------------------------------------------------------


def test_quickstart(tmp_path):
    result = run_example("quickstart.py", tmp_path)
    (summary,) = sessions(tmp_path / "store")
    assert result.stdout.startswith(f"session {summary.session_id}: cost $")
    assert (summary.agent, summary.user, summary.convo, summary.status) == (
        "support-bot", "user_123", "conv_456", "success")
    assert (summary.tool_calls, summary.decisions, summary.llm_calls) == (1, 1, 1)
    assert summary.tokens == 812 + 96
    assert summary.cost > 0  # from the price table
    session = spans_of(tmp_path / "store", summary)
    assert names(session) == ["chat gpt-4o-mini", "decision support-bot",
                              "execute_tool search_kb", "invoke_agent support-bot"]
    assert_one_trace(session)
    root = session.root.attributes
    assert root[sc.SENTRIAL_SESSION_NAME].startswith("support-bot:")
    assert root[sc.SENTRIAL_METADATA_PREFIX + "channel"] == "web"
    assert json.loads(root[sc.GEN_AI_OUTPUT_MESSAGES])[0]["role"] == "assistant"


def test_quickstart_defaults_to_dot_sentrial_in_the_working_directory(tmp_path):
    run_example("quickstart.py", tmp_path, home=False)
    assert len(sessions(tmp_path / ".sentrial")) == 1


def test_full_control(tmp_path):
    run_example("full_control.py", tmp_path)
    store = tmp_path / "store"
    ok, failed = (s for s in sorted(sessions(store), key=lambda s: s.user))
    assert (ok.status, failed.status) == ("success", "failed")
    assert (ok.tool_calls, ok.decisions, ok.llm_calls) == (1, 1, 1)
    ok_root = spans_of(store, ok).root.attributes
    assert ok_root[sc.SENTRIAL_SESSION_NAME] == "Customer Support Request"
    assert ok_root[sc.SENTRIAL_METADATA_PREFIX + "ticket_id"] == "TKT-789"
    assert ok_root[sc.SENTRIAL_METRIC_PREFIX + "satisfaction"] == 4.5
    assert ok_root[sc.SENTRIAL_SESSION_TOTAL_TOKENS] == 640 + 42
    assert ok_root[sc.GEN_AI_CONVERSATION_ID] == "conv_456"

    failed_session = spans_of(store, failed)
    assert_one_trace(failed_session)
    root = failed_session.root
    assert root.is_error
    assert root.attributes[sc.SENTRIAL_SESSION_SUCCESS] is False
    assert root.attributes[sc.SENTRIAL_SESSION_FAILURE_REASON] == "refund not issued"
    assert [e.attributes[sc.EXCEPTION_TYPE] for e in root.events] == ["RefundFailed"]
    (tool,) = [s for s in failed_session.spans if s.name == "execute_tool issue_refund"]
    assert tool.is_error and tool.attributes[sc.ERROR_TYPE] == "GatewayTimeout"


def test_decorators_async(tmp_path):
    result = run_example("decorators_async.py", tmp_path)
    assert "booking failed as expected" in result.stdout
    store = tmp_path / "store"
    travel = by_agent(store, "travel-agent")
    assert sorted(s.user for s in travel) == ["user_1", "user_2"]
    for summary in travel:
        # Concurrent sessions in two tasks: each one has exactly its own two tools.
        session = spans_of(store, summary)
        assert_one_trace(session)
        assert names(session) == ["execute_tool get_weather", "execute_tool search_flights",
                                  "invoke_agent travel-agent"]
        assert all(s.attributes[sc.SENTRIAL_SESSION_ID] == summary.session_id
                   for s in session.spans)
    (booking,) = by_agent(store, "booking-agent")
    assert booking.status == "failed"
    (book,) = [s for s in spans_of(store, booking).spans if s.name == "execute_tool book"]
    assert book.is_error and book.attributes[sc.ERROR_TYPE] == "RuntimeError"
    (weather,) = by_agent(store, "weather-bot")
    assert (weather.user, weather.status, weather.tool_calls) == ("user_4", "success", 1)
    assert f"weather-bot session {weather.session_id}" in result.stdout
    # The call outside any session recorded nothing: 4 sessions, 6 tool spans in all.
    assert len(sessions(store)) == 4
    assert sum(s.tool_calls for s in sessions(store)) == 6


def test_multi_agent(tmp_path):
    result = run_example("multi_agent.py", tmp_path)
    store = tmp_path / "store"
    (parent,) = by_agent(store, "orchestrator")
    children = by_agent(store, "researcher")
    assert len(children) == 3
    assert f"orchestrator {parent.session_id}" in result.stdout
    parent_root = spans_of(store, parent).root
    for child in children:
        session = spans_of(store, child)
        assert_one_trace(session)
        assert child.trace_id != parent.trace_id  # a session is its own trace
        assert session.root.attributes[sc.SENTRIAL_SESSION_PARENT_ID] == parent.session_id
        assert names(session) == ["chat gpt-4o-mini", "execute_tool web_search",
                                  "invoke_agent researcher"]
    # The children's roots link to the parent's root span.
    links = [
        (link["traceId"], link["spanId"])
        for line in (store / "spans.jsonl").read_text().splitlines()
        for resource in json.loads(line)["resourceSpans"]
        for scope in resource["scopeSpans"]
        for span in scope["spans"]
        for link in span.get("links", [])
    ]
    assert links == [(parent_root.trace_id, parent_root.span_id)] * 3


def test_cross_process(tmp_path):
    result = run_example("cross_process.py", tmp_path)
    store = tmp_path / "store"
    (summary,) = sessions(store)
    assert f"session {summary.session_id}" in result.stdout
    session = spans_of(store, summary)
    assert_one_trace(session)
    root = session.root
    by_name = {span.name: span for span in session.spans}
    assert set(by_name) == {"invoke_agent report-agent", "decision report-agent",
                            "execute_tool render_report", "compress pdf"}
    # Recorded by the worker process from the session id alone: under the root.
    worker_tool = by_name["execute_tool render_report"]
    assert worker_tool.parent_span_id == root.span_id
    assert worker_tool.attributes[sc.SENTRIAL_SESSION_ID] == summary.session_id
    # Continued by plain OpenTelemetry from the traceparent header: also under the root.
    assert by_name["compress pdf"].parent_span_id == root.span_id
    traceparent = f"00-{root.trace_id}-{root.span_id}-"
    assert f"traceparent {traceparent}" in result.stdout


def test_existing_otel_app(tmp_path):
    result = run_example("existing_otel_app.py", tmp_path)
    spans = {s["name"]: s for s in map(json.loads, result.stdout.splitlines())}
    assert set(spans) == {"POST /chat", "invoke_agent shop-assistant", "SELECT orders",
                          "execute_tool list_orders"}
    # Everything went through the application's exporter, with its resource...
    assert {s["service"] for s in spans.values()} == {"shop-api"}
    root = spans["invoke_agent shop-assistant"]
    # ...the application's span inside the session nests under the session's root...
    assert spans["SELECT orders"]["parent_id"] == root["span_id"]
    assert spans["SELECT orders"]["session_id"] == root["session_id"]
    assert spans["execute_tool list_orders"]["parent_id"] == root["span_id"]
    # ...the session is a trace of its own...
    assert root["parent_id"] is None
    assert root["trace_id"] != spans["POST /chat"]["trace_id"]
    # ...and nothing of ours was added: no local store.
    assert not (tmp_path / "store").exists()


def test_collector_with_api_key_without_endpoint_sends_nothing(tmp_path):
    result = run_example("collector_with_api_key.py", tmp_path)
    assert "nothing was sent" in result.stdout
    assert not (tmp_path / "store").exists()


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_collector_with_api_key(tmp_path, how):
    with OtlpReceiver() as rx:
        if how == "argument":
            result = run_example("collector_with_api_key.py", tmp_path, rx.endpoint,
                                 env={"SENTRIAL_API_KEY": "sk_example_123"})
        else:
            result = run_example("collector_with_api_key.py", tmp_path,
                                 env={"OTEL_EXPORTER_OTLP_ENDPOINT": rx.endpoint,
                                      "SENTRIAL_API_KEY": "sk_example_123"})
        spans = rx.wait_for_spans(3, timeout=10)
        headers = [request.headers.get("authorization") for request in rx.requests]
        raw = rx.raw_bytes()
    assert "delivered" in result.stdout
    assert headers and set(headers) == {"Bearer sk_example_123"}
    assert b"sk_example_123" not in raw  # the key is never in a span
    assert sorted(s.name for s in spans) == ["decision billing-agent",
                                             "execute_tool list_charges",
                                             "invoke_agent billing-agent"]
    assert not (tmp_path / "store").exists()


def test_otel_native(tmp_path):
    result = run_example("otel_native.py", tmp_path)
    store = tmp_path / "store"
    ok, failed = sorted(by_agent(store, "research-agent"), key=lambda s: s.user)
    assert f"session {ok.session_id}" in result.stdout
    assert (ok.status, failed.status) == ("success", "failed")
    session = spans_of(store, ok)
    assert_one_trace(session)
    by_name = {span.name: span for span in session.spans}
    assert set(by_name) == {"invoke_agent research-agent", "execute_tool search",
                            "decision research-agent", "chat gpt-4o-mini",
                            "execute_tool fetch_pdf"}
    search = by_name["execute_tool search"]
    assert search.duration_ns >= 20_000_000  # a real, measured duration
    assert search.attributes[sc.SENTRIAL_COST_USD] == 0.001
    chat = by_name["chat gpt-4o-mini"]
    assert chat.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 420
    assert chat.attributes[sc.GEN_AI_REQUEST_TEMPERATURE] == 0.2
    assert by_name["execute_tool fetch_pdf"].attributes[sc.ERROR_TYPE] == "TimeoutError"
    assert by_name["decision research-agent"].attributes[sc.SENTRIAL_DECISION_CHOSEN] == "answer"
    failed_root = spans_of(store, failed).root
    assert failed_root.attributes[sc.SENTRIAL_SESSION_FAILURE_REASON] == (
        "ValueError: question is empty")


def test_langchain_agent(tmp_path):
    result = run_example("langchain_agent.py", tmp_path, timeout=120)
    assert result.stdout.splitlines() == [
        "Use the 'Forgot password' link (KB-001).", "Cost: $0.000071", "Tokens: 343",
        "LLM calls: 2",
    ]
    store = tmp_path / "store"
    # 1. the Sentrial handler in the call's callbacks; 2. auto-instrumentation in begin().
    for summary in sorted(sessions(store), key=lambda s: s.user):
        assert (summary.agent, summary.status, summary.llm_calls, summary.tool_calls,
                summary.tokens) == ("support-agent", "success", 2, 1, 120 + 18 + 180 + 25)
        session = spans_of(store, summary)
        assert_one_trace(session)
        by_id = {span.span_id: span for span in session.spans}
        assert sorted((span.name, by_id[span.parent_span_id].name if span.parent_span_id else "")
                      for span in session.spans) == [
            ("chat gpt-4o-mini", "invoke_agent support_agent"),
            ("chat gpt-4o-mini", "invoke_agent support_agent"),
            ("execute_tool search_kb", "invoke_agent support_agent"),
            ("invoke_agent support-agent", ""),
            ("invoke_agent support_agent", "invoke_agent support-agent"),
        ]
    assert [s.user for s in sorted(sessions(store), key=lambda s: s.user)] == ["user_123", "user_456"]


def test_langgraph_workflow_under_opentelemetry_instrument(tmp_path):
    """Its docstring's zero-code run, exporting to a real receiver: the trace shape it tells."""
    from tests.langchain.test_opentelemetry_instrument import _opentelemetry_instrument

    command = _opentelemetry_instrument()
    assert command, "opentelemetry-instrument is not installed"
    with OtlpReceiver() as rx:
        result = run_example(
            "langgraph_workflow.py", tmp_path, launcher=(command,), timeout=120,
            env={"OTEL_TRACES_EXPORTER": "otlp", "OTEL_METRICS_EXPORTER": "none",
                 "OTEL_LOGS_EXPORTER": "none", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
                 "OTEL_EXPORTER_OTLP_ENDPOINT": rx.endpoint},
        )
        spans = rx.wait_for_spans(8, timeout=10)
    assert result.stdout.splitlines() == [
        "interrupted: {'question': 'approve refund?', 'amount': 250.0}",
        "resumed: {'amount': 250.0, 'approved': True, 'verdict': 'ok'}",
    ]

    def tree(parent: str) -> list[object]:
        return [(s.name, tree(s.span_id)) for s in sorted(spans, key=lambda s: s.start_time_unix_nano)
                if s.parent_span_id == parent]

    # The router and __start__ are suppressed; the resumed run is a second workflow (trace).
    assert tree("") == [
        ("invoke_workflow refund_flow", [
            ("classify", []), ("review", [("check", [("ledger.lookup", [])])]), ("approve", []),
        ]),
        ("invoke_workflow refund_flow", [("approve", [])]),
    ]
    # The interrupt is control flow, not an error.
    assert {s.status_code for s in spans} == {"UNSET"}


def test_every_example_has_a_module_docstring():
    for path in EXAMPLES.glob("*.py"):
        assert path.read_text().lstrip().startswith('"""'), path.name


def test_every_example_has_a_test_named_after_it():
    """A test of what it records, not only that it exits 0."""
    tests = [name for name in globals() if name.startswith("test_")]
    untested = [p.name for p in EXAMPLES.glob("*.py")
                if not any(test.startswith(f"test_{p.stem}") for test in tests)]
    assert not untested, f"add a test to tests/test_examples.py for {untested}"
