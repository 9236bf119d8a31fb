"""Zero-code: ``opentelemetry-instrument python app.py`` with only environment variables,
exporting over real OTLP/HTTP to a receiver that decodes with ``opentelemetry-proto``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from sentrial_otel import semconv as sc
from tests.support.otlp_receiver import OtlpReceiver

APP = Path(__file__).parent / "apps" / "weather_app.py"


def _opentelemetry_instrument() -> str | None:
    beside = Path(sys.executable).parent / "opentelemetry-instrument"
    return str(beside) if beside.exists() else shutil.which("opentelemetry-instrument")


@pytest.mark.slow
def test_opentelemetry_instrument_traces_a_langchain_app() -> None:
    if not any(ep.name == "langchain" for ep in entry_points(group="opentelemetry_instrumentor")):
        pytest.skip("sentrial-otel is not installed (pip install -e .); no entry point")
    command = _opentelemetry_instrument()
    assert command, "opentelemetry-instrument is not installed"
    with OtlpReceiver() as receiver:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("OTEL_", "SENTRIAL_"))
        }
        env.update(
            {
                "OTEL_TRACES_EXPORTER": "otlp",
                "OTEL_METRICS_EXPORTER": "none",
                "OTEL_LOGS_EXPORTER": "none",
                "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
                "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
                "OTEL_SERVICE_NAME": "weather-app",
                "OTEL_BSP_SCHEDULE_DELAY": "100",
            }
        )
        env.pop("PYTHONPATH", None)
        done = subprocess.run(
            [command, sys.executable, str(APP)],
            env=env, capture_output=True, text=True, timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert "It is sunny" in done.stdout
        spans = receiver.wait_for_spans(5, timeout=10)

    by_id = {s.span_id: s for s in spans}

    def tree(parent: str | None) -> list[object]:
        return [
            (s.name, tree(s.span_id))
            for s in spans
            if (s.parent_span_id if s.parent_span_id in by_id else None) == parent
        ]

    def order(items: list[object]) -> list[object]:
        return sorted((name, order(children)) for name, children in items)  # type: ignore[misc]

    assert order(tree(None)) == order(
        [
            (
                "invoke_agent weather_agent",
                [
                    ("chat gpt-4o-mini", []),
                    ("execute_tool get_weather", [("weather-api GET", [])]),
                    ("chat gpt-4o-mini", []),
                ],
            )
        ]
    )
    assert len({s.trace_id for s in spans}) == 1
    chat = next(s for s in spans if s.name == "chat gpt-4o-mini")
    assert chat.scope_name == "sentrial_otel.instrumentation.langchain"
    assert chat.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 10
    assert chat.attributes[sc.GEN_AI_PROVIDER_NAME] == "openai"
    tool = next(s for s in spans if s.name == "execute_tool get_weather")
    assert tool.attributes[sc.GEN_AI_TOOL_CALL_ID] == "call_1"
