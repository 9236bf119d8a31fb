"""What a process could not deliver is kept in the store for ``sentrial-otel doctor``."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from click.testing import CliRunner

from sentrial_otel.cli import main
from sentrial_otel.store.undelivered import (
    FILE_NAME,
    MAX_BYTES,
    record_undelivered,
    recent_undelivered,
)

COUNTS = {"queued": 10, "exported": 4, "failed": 6, "undelivered": 6}


def test_reports_come_back_newest_first(tmp_path: Path) -> None:
    for destination in ("first", "second", "third"):
        record_undelivered(tmp_path, COUNTS, destination, "4 delivered, 6 failed to export")

    reports = recent_undelivered(tmp_path, limit=2)

    assert [r["destination"] for r in reports] == ["third", "second"]
    assert reports[0]["undelivered"] == 6
    assert reports[0]["summary"] == "4 delivered, 6 failed to export"
    assert isinstance(reports[0]["pid"], int) and reports[0]["time"].endswith("Z")


def test_the_file_is_owner_only_and_a_torn_line_is_skipped(tmp_path: Path) -> None:
    record_undelivered(tmp_path / "home", COUNTS, "collector", "summary")
    path = tmp_path / "home" / FILE_NAME
    with path.open("a") as file:
        file.write('{"time": "2026-')  # a process killed mid-write

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "home").stat().st_mode) == 0o700
    assert [r["destination"] for r in recent_undelivered(tmp_path / "home")] == ["collector"]


def test_the_file_stays_small(tmp_path: Path) -> None:
    for index in range(2000):
        record_undelivered(tmp_path, COUNTS, f"collector-{index}", "x" * 40)

    assert (tmp_path / FILE_NAME).stat().st_size <= MAX_BYTES
    assert recent_undelivered(tmp_path, limit=1)[0]["destination"] == "collector-1999"


def test_no_file_means_no_reports(tmp_path: Path) -> None:
    assert recent_undelivered(tmp_path / "missing") == []


def test_doctor_shows_the_newest_reports(tmp_path: Path) -> None:
    record_undelivered(tmp_path, COUNTS, "http://collector:4318/v1/traces", "4 delivered, 6 failed")
    env = {k: "" for k in ("SENTRIAL_API_URL", "OTEL_EXPORTER_OTLP_ENDPOINT",
                           "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_TRACES_EXPORTER")}

    text = CliRunner().invoke(main, ["--store", str(tmp_path), "doctor"], env=env)
    as_json = CliRunner().invoke(main, ["--store", str(tmp_path), "doctor", "--json"], env=env)

    assert text.exit_code == 0, text.output
    assert "6 spans not delivered to http://collector:4318/v1/traces" in text.output
    assert json.loads(as_json.output)["undelivered"][0]["failed"] == 6


def _processor_run(result: object, home: Path) -> list[str]:
    """End 3 spans through a DeliveryProcessor whose exporter answers ``result``."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

    from sentrial_otel._internal.export.delivery import DeliveryProcessor

    class Answering(SpanExporter):
        def export(self, spans):  # type: ignore[no-untyped-def]
            return result

    calls: list[str] = []

    def keep(stats, destination):  # type: ignore[no-untyped-def]
        calls.append(destination)
        record_undelivered(home, {"undelivered": stats.undelivered}, destination, stats.summary())

    provider = TracerProvider()
    provider.add_span_processor(
        DeliveryProcessor(Answering(), destination="collector", on_undelivered=keep,
                          shutdown_timeout_s=1)
    )
    for _ in range(3):
        provider.get_tracer("t").start_span("s").end()
    provider.shutdown()
    return calls


def test_only_a_process_that_lost_spans_leaves_a_report(tmp_path: Path) -> None:
    from opentelemetry.sdk.trace.export import SpanExportResult

    assert _processor_run(SpanExportResult.SUCCESS, tmp_path / "ok") == []
    assert not (tmp_path / "ok").exists()

    assert _processor_run(SpanExportResult.FAILURE, tmp_path / "lost") == ["collector"]
    assert recent_undelivered(tmp_path / "lost")[0]["undelivered"] == 3
