"""The session tree console exporter."""

from __future__ import annotations

import io

from sentrial_otel.console import SessionTreeConsoleExporter
from tests.session_builder import SessionSpec, make_provider, record_session


def test_prints_one_tree_per_session_when_root_ends() -> None:
    out = io.StringIO()
    exporter = SessionTreeConsoleExporter(out=out)
    provider = make_provider(exporter)
    record_session(provider, SessionSpec("sess-1"))
    record_session(provider, SessionSpec("sess-2", outcome="failed"))
    provider.shutdown()
    text = out.getvalue()
    lines = text.splitlines()
    assert lines[0].startswith("invoke_agent support-agent  session=sess-1")
    assert "success" in lines[0] and "tokens=140" in lines[0] and "llm=1 tools=2" in lines[0]
    assert lines[1:5] == [
        "├─ execute_tool search_orders  0.50s  10 tok",
        "├─ execute_tool search_orders  0.50s  10 tok",
        "├─ decision support-agent  0.50s  confidence 0.90",
        "└─ chat gpt-4o  0.50s  120 tok",
    ]
    assert "session=sess-2" in lines[5] and "failed" in lines[5]
    assert len(lines) == 10


def test_buffer_is_bounded() -> None:
    exporter = SessionTreeConsoleExporter(out=io.StringIO(), max_traces=3)
    provider = make_provider(exporter)
    tracer = provider.get_tracer("t")
    from opentelemetry import trace

    for _ in range(10):
        root = tracer.start_span("invoke_agent a")
        tracer.start_span("child", context=trace.set_span_in_context(root)).end()
    assert len(exporter._pending) == 3
