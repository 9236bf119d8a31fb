"""Benchmark: ``sentrial-otel sessions list`` over a large local store, and what keeping
its summaries costs the writer.

Builds a store of N sessions (default 100,000 x 10 spans = 1M spans) in the collector
file format, rotated at 64 MiB like ``LocalStoreExporter``, each line with its entry in
the summary sidecar as the exporter writes it, then times the CLI in fresh subprocesses
and reports each run's peak memory (``VmHWM``):

1. ``sessions list`` first run (reads the writers' summaries)
2. ``sessions list`` again
3. ``sessions list --agent ... --status failed``
4. ``sessions list`` after 1,000 more sessions were appended
5. ``sessions show <id>`` (reads only the files holding that trace)
6. ``sessions list`` first run without summaries (a store written by an older version or
   by the collector: every span is parsed once to build the reader index), then again

One session is recorded with the real SDK and ``LocalStoreExporter``; the store is made of
copies of it with fresh ids, times and session ids (writing 1M spans through the SDK
would only measure the SDK). The write side is measured on real SDK spans: the time
``LocalStoreExporter.export`` takes per span, and the part of it spent on summaries.

Usage::

    python benchmarks/bench_store.py [--sessions 100000] [--dir /tmp/bench-store] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO)]

from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)

from sentrial_otel.store import LocalStoreExporter, SessionSummary, SpanRecord  # noqa: E402
from sentrial_otel.store.layout import ACTIVE_FILE, SUMMARY_DIR  # noqa: E402
from sentrial_otel.store.sidecar import batch_summaries, encode_entry  # noqa: E402
from tests.session_builder import (  # noqa: E402
    BASE_NS,
    SECOND,
    SessionSpec,
    make_provider,
    record_session,
)

ROTATE_BYTES = 64 * 1024 * 1024
AGENTS = ("support-agent", "billing-agent", "research-agent", "triage-agent")


def template_session(work: Path) -> list[dict]:
    """One real 10-span session as OTLP/JSON documents (one per span, as written)."""
    store = work / "template"
    provider = make_provider(LocalStoreExporter(store))
    record_session(provider, SessionSpec("template-session", tools=5, decisions=2,
                                         llm_calls=2, outcome="failed"))
    provider.shutdown()
    lines = (store / ACTIVE_FILE).read_bytes().splitlines()
    return [json.loads(line) for line in lines]


def one_line_per_session(documents: list[dict]) -> dict:
    """All spans of the session in one request, as a batch span processor writes them."""
    merged = json.loads(json.dumps(documents[0]))
    spans = merged["resourceSpans"][0]["scopeSpans"][0]["spans"]
    for document in documents[1:]:
        spans.extend(document["resourceSpans"][0]["scopeSpans"][0]["spans"])
    return merged


def parsed_summary(document: dict) -> SessionSummary:
    """The summary of one session line, computed the slow way (parsing its spans)."""
    spans = [SpanRecord.from_dict(s) for s in document["resourceSpans"][0]["scopeSpans"][0]
             ["spans"]]
    summary = SessionSummary(spans[0].trace_id)
    for span in spans:
        summary.add_span(span)
    return summary


def build_store(directory: Path, sessions: int, template: dict, first: int = 0,
                rotate: bool = True) -> None:
    rng = random.Random(first)
    spans = template["resourceSpans"][0]["scopeSpans"][0]["spans"]
    times = [(int(s["startTimeUnixNano"]) - BASE_NS, int(s["endTimeUnixNano"]) - BASE_NS)
             for s in spans]
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    (directory / SUMMARY_DIR).mkdir(mode=0o700, exist_ok=True)
    active = directory / ACTIVE_FILE
    out = open(active, "ab")
    sidecar = open(directory / SUMMARY_DIR / ACTIVE_FILE, "ab")
    summary = parsed_summary(template)
    rotated = len(list(directory.glob("spans-*.jsonl")))
    originals = [(s["spanId"], s.get("parentSpanId")) for s in spans]
    for i in range(first, first + sessions):
        trace_id = f"{rng.getrandbits(128):032x}"
        ids = {span_id: f"{rng.getrandbits(64):016x}" for span_id, _ in originals}
        start = BASE_NS + i * 30 * SECOND
        session_id = f"session-{i:08d}"
        success = i % 3 == 0
        for span, (begin, end), (span_id, parent_id) in zip(spans, times, originals):
            span["traceId"] = trace_id
            span["spanId"] = ids[span_id]
            if parent_id:
                span["parentSpanId"] = ids[parent_id]
            span["startTimeUnixNano"] = str(start + begin)
            span["endTimeUnixNano"] = str(start + end)
            for kv in span.get("attributes", ()):
                if kv["key"] == "sentrial.session.id":
                    kv["value"] = {"stringValue": session_id}
                elif kv["key"] == "gen_ai.agent.name":
                    kv["value"] = {"stringValue": AGENTS[i % len(AGENTS)]}
                elif kv["key"] == "user.id":
                    kv["value"] = {"stringValue": f"user-{i % 1000}"}
                elif kv["key"] == "sentrial.session.success":
                    kv["value"] = {"boolValue": success}
        line = json.dumps(template, separators=(",", ":")).encode() + b"\n"
        # The summary the exporter would have written: the template's, with this copy's
        # ids, times and attributes (checked against a real parse for a few sessions).
        summary.trace_id, summary.session_id = trace_id, session_id
        summary.agent, summary.user = AGENTS[i % len(AGENTS)], f"user-{i % 1000}"
        summary.start_ns, summary.end_ns = start + min(b for b, _ in times), start + max(
            e for _, e in times)
        summary.root_status = "success" if success else "failed"
        if i - first < 3:
            assert summary.to_row() == parsed_summary(template).to_row()
        sidecar.write(encode_entry(out.tell(), len(line), [summary]))
        out.write(line)
        if rotate and out.tell() >= ROTATE_BYTES:
            out.close()
            sidecar.close()
            name = f"spans-20250101T000000000000Z-{rotated}.jsonl"
            active.rename(directory / name)
            (directory / SUMMARY_DIR / ACTIVE_FILE).rename(directory / SUMMARY_DIR / name)
            rotated += 1
            out = open(active, "ab")
            sidecar = open(directory / SUMMARY_DIR / ACTIVE_FILE, "ab")
    out.close()
    sidecar.close()


def write_overhead(work: Path, batch_size: int = 512, batches: int = 40) -> None:
    """Per span: ``LocalStoreExporter.export`` in all, and the summaries' part of it."""
    memory = InMemorySpanExporter()
    provider = make_provider(memory)
    sessions = batch_size * batches // 10 + 1
    for i in range(sessions):
        record_session(provider, SessionSpec(f"w-{i}", tools=5, decisions=2, llm_calls=2,
                                             start_ns=BASE_NS + i * SECOND))
    spans = list(memory.get_finished_spans())
    chunks = [spans[i:i + batch_size] for i in range(0, batch_size * batches, batch_size)]
    exporter = LocalStoreExporter(work / "write-overhead")
    started = time.perf_counter()
    for chunk in chunks:
        exporter.export(chunk)
    export_us = (time.perf_counter() - started) / (batch_size * batches) * 1e6
    started = time.perf_counter()
    for chunk in chunks:
        encode_entry(0, 0, batch_summaries(chunk))
    summary_us = (time.perf_counter() - started) / (batch_size * batches) * 1e6
    print(f"export of {batch_size}-span batches: {export_us:.1f} us/span, of which "
          f"summaries {summary_us:.1f} us/span ({summary_us / export_us:.0%})")


def timed(args: list[str], store: Path) -> tuple[float, float, str]:
    """Run the CLI in a fresh process: (seconds, peak RSS in MiB, stdout)."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    # The child reports its own peak memory at exit. Not ru_maxrss: that survives exec
    # and so can report this (larger) parent's memory. VmHWM belongs to the new process.
    launcher = (
        "import atexit, re, sys\n"
        "def peak():\n"
        "    status = open('/proc/self/status').read()\n"
        "    sys.stderr.write('PEAK %s\\n' % re.search(r'VmHWM:\\s+(\\d+)', status)[1])\n"
        "atexit.register(peak)\n"
        "from sentrial_otel.cli import main\n"
        "main(prog_name='sentrial-otel')\n"
    )
    started = time.perf_counter()
    process = subprocess.run(
        [sys.executable, "-c", launcher, "--store", str(store), *args],
        capture_output=True, env=env, check=False,
    )
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"{args} failed: {process.stderr.decode()}")
    peak_kib = int(process.stderr.decode().rsplit("PEAK", 1)[1])
    return elapsed, peak_kib / 1024, process.stdout.decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the store afterwards")
    options = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-store-"))
    store = options.dir or work / "store"
    try:
        template = one_line_per_session(template_session(work))
        started = time.perf_counter()
        build_store(store, options.sessions, template)
        files = sorted(store.glob("spans*.jsonl"))
        size = sum(f.stat().st_size for f in files)
        spans = options.sessions * len(template["resourceSpans"][0]["scopeSpans"][0]["spans"])
        print(f"store: {options.sessions:,} sessions, {spans:,} spans, {len(files)} files, "
              f"{size / 2**20:,.0f} MiB (built in {time.perf_counter() - started:.1f}s)")

        write_overhead(work)
        runs = [
            ("sessions list (first run)", ["sessions", "list", "--limit", "20"]),
            ("sessions list (again)", ["sessions", "list", "--limit", "20"]),
            ("sessions list --agent --status",
             ["sessions", "list", "--agent", "billing-agent", "--status", "failed",
              "--limit", "20"]),
        ]
        for label, args in runs:
            seconds, peak, _ = timed(args, store)
            print(f"{label:<48} {seconds:7.2f}s  peak RSS {peak:6.0f} MiB")

        build_store(store, 1000, template, first=options.sessions, rotate=False)
        seconds, peak, _ = timed(["sessions", "list", "--limit", "20"], store)
        print(f"{'sessions list (after +1,000 sessions appended)':<48} {seconds:7.2f}s  "
              f"peak RSS {peak:6.0f} MiB")
        _, _, output = timed(["sessions", "list", "--json", "--limit", "1"], store)
        newest = json.loads(output)[0]["session_id"]
        seconds, peak, _ = timed(["sessions", "show", f"session-{options.sessions // 2:08d}"],
                                 store)
        print(f"{'sessions show <id>':<48} {seconds:7.2f}s  peak RSS {peak:6.0f} MiB")
        assert newest == f"session-{options.sessions + 999:08d}", newest

        shutil.rmtree(store / SUMMARY_DIR)  # as an older version or the collector wrote it
        for label in ("sessions list (no summaries, first run: index)",
                      "sessions list (no summaries, again)"):
            seconds, peak, _ = timed(["sessions", "list", "--limit", "20"], store)
            print(f"{label:<48} {seconds:7.2f}s  peak RSS {peak:6.0f} MiB")
    finally:
        if not options.keep:
            shutil.rmtree(work, ignore_errors=True)
            if options.dir:
                shutil.rmtree(options.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
