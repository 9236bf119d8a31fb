"""End to end: user scripts in subprocesses, configured by environment only, exporting over
real OTLP (HTTP and gRPC) to a receiver on 127.0.0.1 that decodes with opentelemetry-proto."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sentrial_otel import semconv as sc
from tests.support.otlp_receiver import OtlpReceiver

SRC = str(Path(__file__).resolve().parents[1] / "src")
pytestmark = pytest.mark.slow


def run_script(code: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SENTRIAL_"))}
    full_env.update(env)
    full_env["PYTHONPATH"] = SRC + os.pathsep + full_env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


AGENT_SCRIPT = """
    import sentrial
    client = sentrial.SentrialClient()
    sid = client.create_session(name="Support", agent_name="support-agent", user_id="user_123")
    client.track_tool_call(sid, "search", {"query": "reset"}, {"results": ["KB-1"]}, reasoning="asked")
    client.track_decision(sid, "search first", alternatives=["escalate"], confidence=0.9)
    client.track_llm_call(sid, provider="openai", model="gpt-4o", input="hi", output="hello",
                          prompt_tokens=10, completion_tokens=5)
    client.complete_session(sid, success=True)
    print(sid)
    # No flush, no shutdown: a plain interpreter exit must deliver everything.
"""


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_spans_and_bearer_header_arrive_after_plain_exit(tmp_path, protocol):
    with OtlpReceiver(protocol=protocol) as rx:
        result = run_script(
            AGENT_SCRIPT,
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": rx.endpoint,
                "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
                "SENTRIAL_API_KEY": "sentrial_live_e2e",
                "OTEL_SERVICE_NAME": "support-service",
                "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment.name=test",
                "SENTRIAL_HOME": str(tmp_path),
            },
        )
        assert result.returncode == 0, result.stderr
        session_id = result.stdout.strip()
        spans = rx.wait_for_spans(4, timeout=10)
        assert all(r.headers.get("authorization") == "Bearer sentrial_live_e2e" for r in rx.requests)
        assert b"sentrial_live_e2e" not in rx.raw_bytes()
    by_name = {span.name: span for span in spans}
    assert set(by_name) == {
        "invoke_agent support-agent", "execute_tool search", "decision support-agent", "chat gpt-4o",
    }
    root = by_name["invoke_agent support-agent"]
    assert root.is_root
    assert root.attributes[sc.SENTRIAL_SESSION_ID] == session_id
    assert root.attributes[sc.SENTRIAL_SESSION_TOTAL_TOKENS] == 15
    assert root.resource["service.name"] == "support-service"
    assert root.resource["deployment.environment.name"] == "test"
    assert root.scope_name == "sentrial_otel"
    for name in ("execute_tool search", "decision support-agent", "chat gpt-4o"):
        child = by_name[name]
        assert child.trace_id == root.trace_id
        assert child.parent_span_id == root.span_id
        assert child.attributes[sc.SENTRIAL_SESSION_ID] == session_id
    assert by_name["chat gpt-4o"].kind == "CLIENT"
    assert by_name["decision support-agent"].attributes[sc.SENTRIAL_DECISION_ALTERNATIVES] == ["escalate"]


def test_sentrial_api_url_and_key_arguments(tmp_path):
    with OtlpReceiver() as rx:
        result = run_script(
            f"""
            import sentrial
            sentrial.configure(api_key="sentrial_live_xxx", api_url="{rx.endpoint}")
            interaction = sentrial.begin(user_id="u", event="chat_message", input="q")
            interaction.finish(output="a", success=True, estimated_cost=0.023)
            """,
            {"SENTRIAL_HOME": str(tmp_path)},
        )
        assert result.returncode == 0, result.stderr
        (root,) = rx.wait_for_spans(1)
        assert rx.requests[0].headers["authorization"] == "Bearer sentrial_live_xxx"
    assert root.name == "invoke_agent chat_message"
    assert root.attributes[sc.SENTRIAL_SESSION_COST_USD] == 0.023


def test_open_sessions_are_abandoned_at_exit(tmp_path):
    with OtlpReceiver() as rx:
        result = run_script(
            """
            import sentrial
            interaction = sentrial.begin(user_id="u", event="never-finished")
            interaction.track_tool_call("step", {"i": 1}, {"o": 2})
            """,
            {"SENTRIAL_API_URL": rx.endpoint, "SENTRIAL_HOME": str(tmp_path)},
        )
        assert result.returncode == 0, result.stderr
        spans = rx.wait_for_spans(2)
    root = next(s for s in spans if s.is_root)
    assert root.attributes[sc.SENTRIAL_SESSION_ABANDONED] is True
    assert root.attributes[sc.ERROR_TYPE] == "sentrial.abandoned"
    assert root.status_code == "ERROR"


def test_session_continued_from_a_second_process(tmp_path):
    with OtlpReceiver() as rx:
        env = {"SENTRIAL_API_URL": rx.endpoint, "SENTRIAL_HOME": str(tmp_path)}
        first = run_script(
            """
            import sentrial
            client = sentrial.SentrialClient()
            sid = client.create_session(name="n", agent_name="frontend", user_id="u")
            client.track_decision(sid, "hand over to the worker")
            print(sid)
            client.complete_session(sid)
            """,
            env,
        )
        assert first.returncode == 0, first.stderr
        session_id = first.stdout.strip()
        second = run_script(
            f"""
            import sentrial
            client = sentrial.SentrialClient()
            client.track_tool_call("{session_id}", "worker_job", {{"job": 7}}, {{"done": True}})
            """,
            env,
        )
        assert second.returncode == 0, second.stderr
        spans = rx.wait_for_spans(3)
    root = next(s for s in spans if s.is_root)
    job = next(s for s in spans if s.name == "execute_tool worker_job")
    assert job.trace_id == root.trace_id
    assert job.parent_span_id == root.span_id
    assert job.attributes[sc.SENTRIAL_SESSION_ID] == session_id


def test_existing_application_provider_is_reused_not_replaced(tmp_path):
    with OtlpReceiver() as rx:
        result = run_script(
            f"""
            from opentelemetry import trace
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider = TracerProvider(resource=Resource.create({{"service.name": "the-app"}}))
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint="{rx.traces_endpoint}")))
            trace.set_tracer_provider(provider)

            import sentrial
            sentrial.configure()
            assert trace.get_tracer_provider() is provider
            with trace.get_tracer("app").start_as_current_span("http request"):
                with sentrial.begin(user_id="u", event="embedded") as interaction:
                    interaction.track_tool_call("t", {{}}, {{}})
            """,
            {"OTEL_EXPORTER_OTLP_ENDPOINT": rx.endpoint, "SENTRIAL_HOME": str(tmp_path)},
        )
        assert result.returncode == 0, result.stderr
        spans = rx.wait_for_spans(3)
        time.sleep(0.5)
        spans = rx.spans()
    # Each span once: no exporter of ours was added next to the application's.
    assert sorted(s.name for s in spans) == ["execute_tool t", "http request", "invoke_agent embedded"]
    assert all(s.resource["service.name"] == "the-app" for s in spans)
    # No local store was written either.
    assert not list(tmp_path.glob("**/*.jsonl"))


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_dead_collector_neither_raises_nor_holds_the_process(tmp_path, protocol):
    port = _closed_port()
    started = time.monotonic()
    result = run_script(
        """
        import time, sentrial
        client = sentrial.SentrialClient()
        start = time.monotonic()
        for i in range(3000):
            sid = client.create_session(name="n", agent_name="a", user_id="u")
            client.track_tool_call(sid, "t", {"i": i}, {"ok": True})
            client.complete_session(sid)
        print(f"loop {time.monotonic() - start:.2f}")
        """,
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
            "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
            "SENTRIAL_SHUTDOWN_TIMEOUT": "2",
            "SENTRIAL_HOME": str(tmp_path),
        },
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("loop ")
    # Bounded: the 2 s shutdown budget plus interpreter start-up, never the exporter's retries.
    assert elapsed < 15, elapsed
    # Reported once, not per span or per retry: a warning when exports fail, one when the
    # queue fills, and the summary at exit, which accounts for every span.
    lines = result.stderr.strip().splitlines()
    assert len(lines) <= 3, lines
    summary = lines[-1]
    assert "6000 spans were not delivered" in summary, summary


def test_traces_exporter_none_and_console(tmp_path):
    none = run_script(
        "import sentrial\nsentrial.begin(user_id='u', event='quiet').finish()\n",
        {"OTEL_TRACES_EXPORTER": "none", "SENTRIAL_HOME": str(tmp_path)},
    )
    assert none.returncode == 0 and none.stdout == "" and not list(tmp_path.iterdir())
    console = run_script(
        "import sentrial\nsentrial.begin(user_id='u', event='loud').finish()\n",
        {"OTEL_TRACES_EXPORTER": "console", "SENTRIAL_HOME": str(tmp_path)},
    )
    assert console.returncode == 0, console.stderr
    assert "invoke_agent loud" in console.stdout


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_sessions_through_a_real_collector(tmp_path, otlp_receiver, rotel_collector, protocol):
    """SDK -> rotel (a real collector process) -> receiver: every span and attribute arrives."""
    endpoint = rotel_collector.http_endpoint if protocol == "http/protobuf" else rotel_collector.grpc_endpoint
    result = run_script(
        AGENT_SCRIPT,
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
            "SENTRIAL_API_KEY": "through-rotel",
            "SENTRIAL_HOME": str(tmp_path),
        },
    )
    assert result.returncode == 0, result.stderr
    spans = otlp_receiver.wait_for_spans(4, timeout=15)
    by_name = {span.name: span for span in spans}
    root = by_name["invoke_agent support-agent"]
    assert root.attributes[sc.SENTRIAL_SESSION_ID] == result.stdout.strip()
    tool = by_name["execute_tool search"]
    assert tool.parent_span_id == root.span_id
    assert tool.attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS] == '{"query":"reset"}'
    assert tool.attributes[sc.SENTRIAL_TOOL_REASONING] == "asked"
    assert by_name["decision support-agent"].attributes[sc.SENTRIAL_DECISION_CONFIDENCE] == 0.9
    llm = by_name["chat gpt-4o"]
    assert llm.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 10
    assert llm.kind == "CLIENT"


def test_forked_child_exports_its_own_sessions(tmp_path, otlp_receiver):
    """gunicorn --preload style: configure in the parent, record in a forked child."""
    result = run_script(
        """
        import os, sys, sentrial
        client = sentrial.SentrialClient()
        parent_open = client.begin(user_id="u", event="parent-open")
        client.complete_session(client.create_session(name="n", agent_name="before-fork", user_id="u"))
        pid = os.fork()
        if pid == 0:
            client.complete_session(client.create_session(name="n", agent_name="in-child", user_id="u"))
            sys.exit(0)
        os.waitpid(pid, 0)
        parent_open.finish()
        """,
        {"SENTRIAL_API_URL": otlp_receiver.endpoint, "SENTRIAL_HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    otlp_receiver.wait_for_spans(3)
    time.sleep(0.5)
    names = sorted(span.name for span in otlp_receiver.spans())
    # Each session once: the child neither re-sends the parent's queue nor abandons its sessions.
    assert names == ["invoke_agent before-fork", "invoke_agent in-child", "invoke_agent parent-open"]
