"""The local store: collector file format, permissions, rotation, crashes, concurrency."""

from __future__ import annotations

import base64
import json
import logging
import multiprocessing
import os
import shutil
import stat
from pathlib import Path

import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.sdk.trace.export import SpanExportResult

from sentrial_otel import semconv as sc
from sentrial_otel.store import (
    LocalStoreExporter,
    SessionFilter,
    StoreError,
    StoreReader,
    data_files,
    find_session,
    list_sessions,
    load_session,
    parse_time,
)
from tests.session_builder import (
    BASE_NS,
    SECOND,
    SessionSpec,
    make_provider,
    record_session,
    spans_per_session,
)


def write_sessions(directory: Path, specs: list[SessionSpec], **kwargs: int) -> None:
    exporter = LocalStoreExporter(directory, **kwargs)
    provider = make_provider(exporter)
    for spec in specs:
        record_session(provider, spec)
    provider.shutdown()


def lines_of(directory: Path) -> list[bytes]:
    return [line for path in data_files(directory) for line in path.read_bytes().splitlines()]


def hex_ids_to_base64(document: dict) -> dict:
    """What protobuf-JSON expects, from what the collector writes (test's own conversion)."""
    for resource in document["resourceSpans"]:
        for scope in resource["scopeSpans"]:
            for span in scope["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64encode(bytes.fromhex(span[key])).decode()
    return document


# --- format ------------------------------------------------------------------------------
def test_lines_are_collector_otlp_json(tmp_path: Path) -> None:
    spec = SessionSpec("sess-1", outcome="failed")
    write_sessions(tmp_path, [spec])
    lines = lines_of(tmp_path)
    assert len(lines) == spans_per_session(spec)  # SimpleSpanProcessor: one span per export
    spans = []
    for line in lines:
        document = json.loads(line)
        assert set(document) == {"resourceSpans"}
        span = document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
        assert len(span["traceId"]) == 32 and int(span["traceId"], 16)
        assert len(span["spanId"]) == 16 and span["spanId"] == span["spanId"].lower()
        assert isinstance(span["startTimeUnixNano"], str)  # int64 as string
        assert isinstance(span["kind"], int)  # enums as integers
        spans.append(span)
        request = json_format.Parse(json.dumps(hex_ids_to_base64(document)),
                                    ExportTraceServiceRequest())
        assert len(request.resource_spans[0].scope_spans[0].spans) == 1
    root = spans[-1]
    assert root["name"] == "invoke_agent support-agent"
    assert "parentSpanId" not in root
    assert root["status"] == {"message": "payment API down", "code": 2}
    child = spans[0]
    assert child["parentSpanId"] == root["spanId"]
    attributes = {kv["key"]: kv["value"] for kv in child["attributes"]}
    assert attributes[sc.SENTRIAL_USAGE_TOTAL_TOKENS] == {"intValue": "10"}
    assert attributes[sc.SENTRIAL_SESSION_ID] == {"stringValue": "sess-1"}
    llm = spans[-2]
    assert llm["kind"] == 3  # CLIENT in OTLP numbering


def test_reader_decodes_requests_with_same_ids(tmp_path: Path) -> None:
    write_sessions(tmp_path, [SessionSpec("sess-1")])
    requests = list(StoreReader(tmp_path).requests())
    records = list(StoreReader(tmp_path).span_records())
    assert len(requests) == len(records) == 5
    span = requests[0].resource_spans[0].scope_spans[0].spans[0]
    assert span.trace_id.hex() == records[0].trace_id
    assert span.span_id.hex() == records[0].span_id


# --- permissions and directory checks ----------------------------------------------------
def test_directory_and_files_are_owner_only(tmp_path: Path) -> None:
    store = tmp_path / "nested" / "store"
    write_sessions(store, [SessionSpec("s")])
    assert stat.S_IMODE(os.stat(store).st_mode) == 0o700
    list_sessions(store)  # builds the index too
    for path in store.rglob("*"):
        if path.is_file():
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path
        else:
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o700, path


def test_symlinked_directory_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    with pytest.raises(StoreError, match="symlink"):
        LocalStoreExporter(link)


def test_file_in_place_of_directory_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(StoreError):
        LocalStoreExporter(path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_directory_is_refused(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        with pytest.raises(StoreError, match="not writable"):
            LocalStoreExporter(locked)
    finally:
        locked.chmod(0o700)


def test_export_failure_returns_failure_and_logs_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    exporter = LocalStoreExporter(tmp_path / "store")
    provider = make_provider(exporter)
    tracer = provider.get_tracer("t")
    tracer.start_span("ok").end()
    # Replace the store directory by a file: every later write must fail, quietly.
    exporter._fd and os.close(exporter._fd)
    exporter._fd = None
    for path in (tmp_path / "store").iterdir():
        path.unlink() if path.is_file() else None
    (tmp_path / "store" / "spans.jsonl").mkdir()
    caplog.set_level(logging.DEBUG)
    spans = []
    for _ in range(3):
        span = tracer.start_span("fails")
        span.end()
        spans.append(span)
    assert exporter.export(spans) is SpanExportResult.FAILURE
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING
                and r.name == "sentrial.store"]
    assert len(warnings) == 1
    exporter.shutdown()
    assert exporter.export(spans) is SpanExportResult.FAILURE


# --- rotation ----------------------------------------------------------------------------
def test_rotation_by_size_keeps_every_span(tmp_path: Path) -> None:
    specs = [SessionSpec(f"sess-{i}", start_ns=BASE_NS + i * SECOND * 10) for i in range(20)]
    write_sessions(tmp_path, specs, max_file_bytes=8 * 1024)
    files = data_files(tmp_path)
    assert len(files) > 3
    assert files[-1].name == "spans.jsonl"
    assert all(f.name.startswith("spans-") for f in files[:-1])
    for path in files[:-1]:
        assert path.stat().st_size >= 8 * 1024
    assert len(list(StoreReader(tmp_path).span_records())) == 20 * 5
    assert_fully_covered(tmp_path)  # each sidecar was renamed with its data file
    sessions = list_sessions(tmp_path)
    assert sorted(s.session_id for s in sessions) == sorted(s.session_id for s in specs)
    assert all(s.tool_calls == 2 and s.llm_calls == 1 for s in sessions)


# --- sessions ----------------------------------------------------------------------------
def test_session_summary_and_child_before_root(tmp_path: Path) -> None:
    write_sessions(tmp_path, [SessionSpec("sess-ok", convo="c-1"),
                              SessionSpec("sess-bad", outcome="failed", start_ns=BASE_NS + SECOND),
                              SessionSpec("sess-gone", outcome="abandoned",
                                          start_ns=BASE_NS + 2 * SECOND)])
    by_id = {s.session_id: s for s in list_sessions(tmp_path)}
    ok = by_id["sess-ok"]
    assert (ok.status, ok.agent, ok.user, ok.convo) == ("success", "support-agent", "user-1", "c-1")
    assert (ok.llm_calls, ok.tool_calls, ok.decisions, ok.span_count) == (1, 2, 1, 5)
    assert ok.tokens == 140
    assert ok.cost == pytest.approx(0.004)
    assert ok.duration_ns == 5 * SECOND // 2
    assert by_id["sess-bad"].status == "failed"
    assert by_id["sess-gone"].status == "abandoned"


def test_filters_return_exactly_the_matching_sessions(tmp_path: Path) -> None:
    specs = []
    for i in range(24):
        specs.append(SessionSpec(
            f"sess-{i:02d}",
            agent=("alpha", "beta")[(i // 2) % 2],
            user=("ann", "bob", "cid")[i % 3],
            convo=f"convo-{i % 4}",
            outcome=("success", "failed", "abandoned", "success")[i % 4],
            start_ns=BASE_NS + i * 3600 * SECOND,
        ))
    write_sessions(tmp_path, specs)
    since = parse_time("2025-06-15T20:00:00Z")
    until = parse_time("2025-06-16T06:00:00+00:00")
    cases = [
        (SessionFilter(agent="alpha"), lambda s: s.agent == "alpha"),
        (SessionFilter(user="bob"), lambda s: s.user == "bob"),
        (SessionFilter(status="failed"), lambda s: s.outcome == "failed"),
        (SessionFilter(status="abandoned", agent="beta"),
         lambda s: s.outcome == "abandoned" and s.agent == "beta"),
        (SessionFilter(convo="convo-3"), lambda s: s.convo == "convo-3"),
        (SessionFilter(since=since, until=until),
         lambda s: since.timestamp() <= s.start_ns / 1e9 <= until.timestamp()),
    ]
    for session_filter, expected in cases:
        got = {s.session_id for s in list_sessions(tmp_path, session_filter)}
        assert got == {s.session_id for s in specs if expected(s)}, session_filter
        assert got
    newest_first = [s.session_id for s in list_sessions(tmp_path, limit=3)]
    assert newest_first == ["sess-23", "sess-22", "sess-21"]


def test_parse_time_durations() -> None:
    now = parse_time("2025-01-02T00:00:00Z")
    assert parse_time("2h", now=now).isoformat() == "2025-01-01T22:00:00+00:00"
    assert parse_time("30m", now=now).isoformat() == "2025-01-01T23:30:00+00:00"
    assert parse_time("7d", now=now).isoformat() == "2024-12-26T00:00:00+00:00"
    with pytest.raises(ValueError):
        parse_time("yesterday")


def test_find_and_load_session_in_time_order(tmp_path: Path) -> None:
    write_sessions(tmp_path, [SessionSpec("abc-123"), SessionSpec("abd-456")])
    assert find_session(tmp_path, "abc").session_id == "abc-123"
    with pytest.raises(LookupError, match="2 sessions"):
        find_session(tmp_path, "ab")
    with pytest.raises(LookupError):
        find_session(tmp_path, "zzz")
    session = load_session(tmp_path, find_session(tmp_path, "abd"))
    assert [s.name for s in session.spans] == [
        "invoke_agent support-agent", "execute_tool search_orders",
        "execute_tool search_orders", "decision support-agent", "chat gpt-4o",
    ]
    starts = [s.start_ns for s in session.spans]
    assert starts == sorted(starts)
    assert session.root is session.spans[0]


# --- summary sidecar ---------------------------------------------------------------------
def sidecar_lines(data_file: Path) -> list[bytes]:
    return (data_file.parent / ".summaries" / data_file.name).read_bytes().splitlines()


def assert_fully_covered(directory: Path) -> None:
    """Every data file's sidecar entries tile it exactly, each on one whole data line."""
    for data_file in data_files(directory):
        data = data_file.read_bytes()
        entries = sorted(json.loads(line)[:2] for line in sidecar_lines(data_file))
        end = 0
        for offset, length in entries:
            assert offset == end, data_file
            assert data[offset + length - 1:offset + length] == b"\n"
            end += length
        assert end == len(data), data_file


def summaries_by_id(directory: Path) -> dict[str, tuple]:
    return {s.session_id: (s.status, s.agent, s.user, s.convo, s.start_ns, s.end_ns,
                           s.llm_calls, s.tool_calls, s.decisions, s.errors, s.tokens,
                           round(s.cost, 9), s.span_count)
            for s in list_sessions(directory)}


def test_writer_keeps_summaries_and_listing_parses_no_span(tmp_path: Path) -> None:
    specs = [SessionSpec("ok", convo="c-1"),
             SessionSpec("bad", outcome="failed", start_ns=BASE_NS + SECOND),
             SessionSpec("gone", outcome="abandoned", start_ns=BASE_NS + 2 * SECOND)]
    write_sessions(tmp_path, specs)
    assert_fully_covered(tmp_path)
    from_writer = summaries_by_id(tmp_path)
    assert not (tmp_path / ".index").exists()  # nothing was parsed, so nothing indexed
    shutil.rmtree(tmp_path / ".summaries")  # as an older writer would have left it
    assert summaries_by_id(tmp_path) == from_writer
    assert (tmp_path / ".index").exists()


def test_lines_without_summaries_are_parsed_once(tmp_path: Path) -> None:
    """A hole in the sidecar (a line from an older writer or the collector, or a crash
    between the two writes): the data from the hole on is parsed, nothing counted twice."""
    other = tmp_path / "other"
    write_sessions(other, [SessionSpec("foreign", start_ns=BASE_NS + SECOND)])
    store = tmp_path / "store"
    write_sessions(store, [SessionSpec("before")])
    with open(store / "spans.jsonl", "ab") as handle:
        handle.write((other / "spans.jsonl").read_bytes())
    write_sessions(store, [SessionSpec("after", start_ns=BASE_NS + 2 * SECOND)])
    sessions = list_sessions(store)
    assert [s.session_id for s in sessions] == ["after", "foreign", "before"]
    assert all(s.span_count == 5 and s.tool_calls == 2 for s in sessions)


def test_lost_or_torn_summary_entries_are_tolerated(tmp_path: Path) -> None:
    write_sessions(tmp_path, [SessionSpec("one"), SessionSpec("two", start_ns=BASE_NS + SECOND)])
    sidecar = tmp_path / ".summaries" / "spans.jsonl"
    lines = sidecar.read_bytes().splitlines(keepends=True)
    # The writer died after its data line: the last entry is missing, one more is torn.
    sidecar.write_bytes(b"".join(lines[:-2]) + lines[-2][:10])
    sessions = list_sessions(tmp_path)
    assert [(s.session_id, s.span_count, s.status) for s in sessions] == [
        ("two", 5, "success"), ("one", 5, "success")]


def test_a_failing_summary_never_costs_the_spans(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(spans: object) -> None:
        raise RuntimeError("bug in summing up")

    monkeypatch.setattr("sentrial_otel.store.exporter.batch_summaries", broken)
    write_sessions(tmp_path, [SessionSpec("kept")])
    assert not (tmp_path / ".summaries" / "spans.jsonl").exists()
    assert [(s.session_id, s.span_count) for s in list_sessions(tmp_path)] == [("kept", 5)]


def test_large_uncovered_data_falls_back_to_the_reader_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_sessions(tmp_path, [SessionSpec("first")])
    sidecar = tmp_path / ".summaries" / "spans.jsonl"
    sidecar.write_bytes(sidecar.read_bytes().splitlines(keepends=True)[0])
    monkeypatch.setattr("sentrial_otel.store.listing.TAIL_PARSE_LIMIT", 0)
    assert [(s.session_id, s.span_count) for s in list_sessions(tmp_path)] == [("first", 5)]
    assert (tmp_path / ".index" / "spans.jsonl.json").exists()


def cut_after_lines(data_file: Path, keep: int) -> None:
    """Keep the first ``keep`` lines of a data file, as a user trimming it by hand would."""
    lines = data_file.read_bytes().splitlines(keepends=True)
    data_file.write_bytes(b"".join(lines[:keep]))


@pytest.mark.parametrize("without_sidecar", [False, True], ids=["sidecar", "reader-index"])
def test_summaries_of_an_emptied_or_cut_file_are_not_trusted(
    tmp_path: Path, without_sidecar: bool
) -> None:
    """Summaries describe bytes of the data file; once those bytes are gone, so are they."""
    specs = [SessionSpec("one"), SessionSpec("two", start_ns=BASE_NS + 10 * SECOND)]
    write_sessions(tmp_path, specs)
    data_file = tmp_path / "spans.jsonl"
    if without_sidecar:
        shutil.rmtree(tmp_path / ".summaries")
    assert {s.session_id for s in list_sessions(tmp_path)} == {"one", "two"}

    cut_after_lines(data_file, spans_per_session(specs[0]))  # one span per line
    assert [(s.session_id, s.span_count) for s in list_sessions(tmp_path)] == [("one", 5)]

    data_file.write_bytes(b"")  # emptied in place: same inode
    assert list_sessions(tmp_path) == []


def test_a_file_emptied_then_written_again_lists_only_what_it_holds(tmp_path: Path) -> None:
    """The sidecar then has two entries at offset 0: the older one describes lost lines."""
    write_sessions(tmp_path, [SessionSpec("lost-1"), SessionSpec("lost-2")])
    (tmp_path / "spans.jsonl").write_bytes(b"")
    write_sessions(tmp_path, [SessionSpec("new", tools=6, start_ns=BASE_NS + SECOND)])
    assert [(s.session_id, s.span_count) for s in list_sessions(tmp_path)] == [("new", 9)]


# --- reader-built index ------------------------------------------------------------------
def test_index_is_reused_and_updated_incrementally(tmp_path: Path) -> None:
    write_sessions(tmp_path, [SessionSpec("first")])
    shutil.rmtree(tmp_path / ".summaries")  # written by an older version: no sidecar
    assert [s.session_id for s in list_sessions(tmp_path)] == ["first"]
    index_file = tmp_path / ".index" / "spans.jsonl.json"
    index = json.loads(index_file.read_text())
    assert index["covered"] == (tmp_path / "spans.jsonl").stat().st_size
    assert len(index["rows"]) == 1
    write_sessions(tmp_path, [SessionSpec("second", start_ns=BASE_NS + SECOND)])
    assert [s.session_id for s in list_sessions(tmp_path)] == ["second", "first"]
    assert len(json.loads(index_file.read_text())["rows"]) == 2


def test_session_split_across_rotated_files_is_merged(tmp_path: Path) -> None:
    exporter = LocalStoreExporter(tmp_path, max_file_bytes=2500)
    provider = make_provider(exporter)
    record_session(provider, SessionSpec("split", tools=4))
    assert len(data_files(tmp_path)) > 1
    list_sessions(tmp_path)  # index now, then rotate again with more spans
    record_session(provider, SessionSpec("later", start_ns=BASE_NS + 60 * SECOND))
    provider.shutdown()
    by_id = {s.session_id: s for s in list_sessions(tmp_path)}
    assert by_id["split"].span_count == 7
    assert by_id["split"].tool_calls == 4
    assert by_id["split"].status == "success"
    assert len(by_id["split"].files) > 1
    assert len(load_session(tmp_path, by_id["split"]).spans) == 7


# --- crashes -----------------------------------------------------------------------------
def test_torn_last_line_is_skipped_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_sessions(tmp_path, [SessionSpec("whole")])
    active = tmp_path / "spans.jsonl"
    last = active.read_bytes().splitlines()[-1]
    with open(active, "ab") as handle:
        handle.write(last[: len(last) // 2])  # a writer killed mid-line
    caplog.set_level(logging.WARNING)
    sessions = list_sessions(tmp_path)
    assert [s.session_id for s in sessions] == ["whole"]
    assert sessions[0].span_count == 5
    warnings = [r for r in caplog.records if "incomplete or corrupt" in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].name == "sentrial.store"  # under the `sentrial` logger users configure
    assert len(list(StoreReader(tmp_path).span_records())) == 5

    # A later writer appends after the fragment: its line is still recovered.
    write_sessions(tmp_path, [SessionSpec("after-crash", start_ns=BASE_NS + SECOND)])
    by_id = {s.session_id: s for s in list_sessions(tmp_path)}
    assert by_id["after-crash"].span_count == 5
    assert by_id["whole"].span_count == 5


def _concurrent_writer(directory: str, worker: int, sessions: int) -> None:
    exporter = LocalStoreExporter(directory, max_file_bytes=64 * 1024)
    provider = make_provider(exporter)
    for i in range(sessions):
        record_session(provider, SessionSpec(f"w{worker}-s{i}", start_ns=BASE_NS + i * SECOND))
    provider.shutdown()


def test_concurrent_writers_produce_whole_lines_and_every_span(tmp_path: Path) -> None:
    workers, sessions = 4, 40
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=_concurrent_writer, args=(str(tmp_path), w, sessions))
        for w in range(workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0
    assert len(data_files(tmp_path)) > 1  # rotated while others were writing
    lines = lines_of(tmp_path)
    for line in lines:
        json.loads(line)  # whole lines only
    records = list(StoreReader(tmp_path).span_records())
    assert len(records) == workers * sessions * 5
    assert len({r.span_id for r in records}) == len(records)
    # Every writer found where its own line landed, whatever the others appended.
    assert_fully_covered(tmp_path)
    summaries = list_sessions(tmp_path)
    assert len(summaries) == workers * sessions
    assert all(s.span_count == 5 and s.status == "success" for s in summaries)
    assert not (tmp_path / ".index").exists()
