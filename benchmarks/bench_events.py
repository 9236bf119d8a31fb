"""Benchmark 1: per-event cost of the facade against a bare OpenTelemetry SDK span.

For each of ``track_tool_call``, ``track_decision`` and ``track_llm_call`` (through
``sentrial.SentrialClient``, content capture on) the floor is a bare SDK span started under
a root span with *the same attributes* the facade's span ends up with (copied from one real
facade span, so the same count, keys and value sizes). Both run on their own
``TracerProvider`` with a ``BatchSpanProcessor`` to a no-op exporter. Contenders alternate
within each round; the ratio is facade / floor measured in the same round.

Usage::

    python benchmarks/bench_events.py [--events 500] [--rounds 60] [--capture-content on|off]
        [--metrics off|sdk] [--payload-chars N] [--profile] [--before-src DIR/src]
        [--opt-in-compare] [--dialect openinference] [--detectors-only]
        [--vs-util [--util-genai-path DIR] [--before-src DIR/src] [--loop C:E:SECONDS]]

After the three calls, ``detectors`` measures what the session detectors (issue 12) add
per event, at the session's end (``--detectors-only``: that alone).
``--profile`` also writes a cProfile of the facade's calls (top functions by own time).
``--before-src`` measures another checkout's ``src/`` in the same run, to judge a change:
each of the two runs in its own subprocess, and every round asks both in turn (order
swapped every round) for a block of facade and floor events, so each ratio and the
ratio between them are taken a fraction of a second apart. ``--opt-in-compare`` does the
same for this checkout with ``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental``
("now") against without it ("before"), with ``--metrics sdk`` allowed: what the GenAI
conventions v0.1.0 opt-in costs per event.
``--vs-util`` sets the facade and the native API against opentelemetry-util-genai's
``TelemetryHandler`` (issue 11), with the SDK floor under the facade as a fourth contender;
with ``--before-src`` it does so for both checkouts, alternating, and gives now/before of
each ratio; ``--loop`` runs one contender for a sampling profiler (``spy_top.py``).
``--dialect openinference`` measures what that dialect (``SENTRIAL_DIALECTS``) costs: the
facade with it against the facade without, in alternating blocks, in µs per event and in
OTLP bytes per span.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import io
import json
import os
import pstats
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from _common import emit, fmt, fmt_quartiles, spread, versions  # noqa: I001 - sets sys.path first

# ``--before-src``: the worker measuring the other checkout imports sentrial from there.
if os.environ.get("SENTRIAL_BENCH_SRC"):
    sys.path.insert(0, os.environ["SENTRIAL_BENCH_SRC"])

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import NoOpTracerProvider, SpanKind, set_span_in_context

import sentrial


class NoopExporter(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


class KeepOne(SpanExporter):
    """Keeps what it is given (used once, to copy a real facade span's attributes)."""

    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.spans.extend(spans)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


def make_provider(exporter: SpanExporter) -> tuple[TracerProvider, BatchSpanProcessor]:
    provider = TracerProvider(shutdown_on_exit=False)
    processor = BatchSpanProcessor(exporter, max_queue_size=1_000_000, schedule_delay_millis=200)
    provider.add_span_processor(processor)
    return provider, processor


TOOL_INPUT = {"query": "how do I reset my password", "filters": {"lang": "en", "limit": 5}}
TOOL_OUTPUT = {"results": [{"id": "KB-1", "title": "Reset your password"}, {"id": "KB-7"}]}
Event = Callable[[sentrial.SentrialClient, str], object]

# Ordinary support-chat prose for --payload-chars: like the small payloads it says
# "password" once, so the secret pre-test runs its follow-up search as well.
_PROSE = (
    "To reset your password open Settings, choose Security and follow the link we send to "
    "the address on your account. The link stays valid for one hour; if it expires, ask "
    "for a new one from the same page. Orders placed before the change are not affected. "
)


def prose(chars: int) -> str:
    """``chars`` characters of prose."""
    return (_PROSE * (chars // len(_PROSE) + 1))[:chars]


def events_with(text: str | None = None) -> dict[str, Event]:
    """The three facade calls. With ``text``, it is the tool result's body, the decision's
    reasoning and the LLM call's input and output (the payloads that grow in real use);
    without, the small payloads above."""
    tool_output = TOOL_OUTPUT if text is None else {"results": [{"id": "KB-1", "body": text}]}
    reasoning = "search the knowledge base first" if text is None else text
    llm_input = "How do I reset my password?" if text is None else text
    llm_output = "Go to Settings > Security > Reset password." if text is None else text
    return {
        "track_tool_call": lambda c, sid: c.track_tool_call(
            sid, "search_kb", TOOL_INPUT, tool_output, reasoning="user asked about passwords",
            estimated_cost=0.0004, token_count=120,
        ),
        "track_decision": lambda c, sid: c.track_decision(
            sid, reasoning, alternatives=["escalate", "search_kb"],
            confidence=0.85, chosen="search_kb",
        ),
        "track_llm_call": lambda c, sid: c.track_llm_call(
            sid, provider="openai", model="gpt-4o", input=llm_input,
            output=llm_output, prompt_tokens=42, completion_tokens=17, finish_reason="stop",
        ),
    }


def facade_client(
    provider: TracerProvider, capture_content: bool, dialect: str | None = None
) -> sentrial.SentrialClient:
    """A facade client on ``provider``, with ``dialect`` (``SENTRIAL_DIALECTS``) or none."""
    saved = os.environ.pop("SENTRIAL_DIALECTS", None)
    if dialect is not None:
        os.environ["SENTRIAL_DIALECTS"] = dialect
    try:
        return sentrial.SentrialClient(tracer_provider=provider, capture_content=capture_content)
    finally:
        os.environ.pop("SENTRIAL_DIALECTS", None)
        if saved is not None:
            os.environ["SENTRIAL_DIALECTS"] = saved


def facade_span(call: Event, capture_content: bool, dialect: str | None = None) -> ReadableSpan:
    """The span the facade makes for ``call``."""
    exporter = KeepOne()
    provider, _ = make_provider(exporter)
    client = facade_client(provider, capture_content, dialect)
    sid = client.create_session(name="bench", agent_name="bench-agent", user_id="u1")
    call(client, sid)
    client.complete_session(sid)
    provider.force_flush()
    return next(s for s in exporter.spans if s.parent is not None)


def facade_span_shape(call: Event, capture_content: bool) -> tuple[str, SpanKind, dict]:
    """Name, kind and attributes of the span the facade makes for ``call``."""
    span = facade_span(call, capture_content)
    return span.name, span.kind, dict(span.attributes)


def time_facade(client: sentrial.SentrialClient, call: Event, n: int) -> float:
    """Seconds ``n`` calls of ``call`` take in one session of ``client``."""
    sid = client.create_session(name="bench", agent_name="bench-agent", user_id="u1")
    start = time.perf_counter()
    for _ in range(n):
        call(client, sid)
    elapsed = time.perf_counter() - start
    client.complete_session(sid)
    return elapsed


class EventBench:
    """One event's two contenders, each on its own provider: the facade's call and a bare SDK
    span with the attributes the facade's span carries."""

    def __init__(self, call: Event, capture_content: bool) -> None:
        self.call = call
        self.name, self.kind, self.attributes = facade_span_shape(call, capture_content)
        self.provider_f, self.bsp_f = make_provider(NoopExporter())
        self.client = sentrial.SentrialClient(tracer_provider=self.provider_f, capture_content=capture_content)
        self.provider_b, self.bsp_b = make_provider(NoopExporter())
        self.tracer_b = self.provider_b.get_tracer("bench")
        self.facade(200), self.floor(200)  # warm-up

    def facade(self, n: int) -> float:
        return time_facade(self.client, self.call, n)

    def floor(self, n: int) -> float:
        tracer, name, kind, attributes = self.tracer_b, self.name, self.kind, self.attributes
        root = tracer.start_span("invoke_agent bench-agent")
        context = set_span_in_context(root)
        start = time.perf_counter()
        for _ in range(n):
            tracer.start_span(name, context, kind, attributes).end()
        elapsed = time.perf_counter() - start
        root.end()
        return elapsed

    def block(self, n: int, floor_first: bool) -> dict[str, float]:
        """µs per event of each contender, measured back to back."""
        order = [("facade", self.facade), ("floor", self.floor)]
        if floor_first:
            order.reverse()
        measured = {}
        for label, contender in order:
            self.bsp_f.force_flush(), self.bsp_b.force_flush()
            gc.collect()
            measured[label] = contender(n) / n * 1e6
        return measured

    def close(self) -> None:
        self.provider_f.shutdown()
        self.provider_b.shutdown()


def detectors_cost(events_per_session: int, rounds: int, capture_content: bool) -> dict:
    """What the detectors of issue 12 add per event. Sessions of N events (the three calls
    in turn, so a third are the same tool call) are ended with the detectors on (every
    built-in one, with a budget and a slow-step limit: ``tool_loop`` and ``over_budget``
    are found) and off, alternating; ``end_us_per_event`` is the difference of their
    ``complete_session`` over N. ``judge_us_per_step`` times the detectors alone on such a
    session's steps."""
    from sentrial_otel._internal.spans.detectors import SessionSteps, judge

    calls = list(events_with().values())
    clients = {}
    for label, options in (("on", {"budget_usd": 0.01, "slow_step_seconds": 1.0}),
                           ("off", {"detect_issues": False})):
        provider, processor = make_provider(NoopExporter())
        client = sentrial.SentrialClient(tracer_provider=provider, capture_content=capture_content,
                                         **options)
        clients[label] = (client, provider, processor)

    def recorded(label: str) -> tuple[sentrial.SentrialClient, str]:
        client = clients[label][0]
        sid = client.create_session(name="bench", agent_name="bench-agent", user_id="u1")
        for index in range(events_per_session):
            calls[index % len(calls)](client, sid)
        clients[label][2].force_flush()
        gc.collect()
        return client, sid

    def ending(label: str) -> float:
        client, sid = recorded(label)
        start = time.perf_counter()
        client.complete_session(sid)
        return time.perf_counter() - start

    ending("on"), ending("off")  # warm-up
    per_event, per_step = [], []
    for index in range(rounds):
        order = ["on", "off"] if index % 2 == 0 else ["off", "on"]
        seconds = {label: ending(label) for label in order}
        per_event.append((seconds["on"] - seconds["off"]) / events_per_session * 1e6)
        client, sid = recorded("on")
        session = client.telemetry.open_session(sid)
        steps = tuple(session.steps)
        root = steps[-1]._replace(kind="agent", cost=sum(step.cost for step in steps))
        view = SessionSteps(steps, root, sid, "bench-agent",
                            client.telemetry.settings.issues, capture_content, True)
        start = time.perf_counter()
        found = judge(view)
        per_step.append((time.perf_counter() - start) / len(steps) * 1e6)
        client.complete_session(sid)
    for _, provider, _ in clients.values():
        provider.shutdown()
    result = {
        "events_per_session": events_per_session,
        "findings_per_session": len(found),
        "end_us_per_event": spread(per_event),
        "judge_us_per_step": spread(per_step),
        "goal": "at most 1 µs per event",
    }
    print(
        f"detectors        end µs/event {fmt(result['end_us_per_event'], digits=3)}"
        f" (q1 – q3 {fmt_quartiles(result['end_us_per_event'], digits=3)})"
        f"  judge µs/step {fmt(result['judge_us_per_step'], digits=3)}"
        f"  ({len(found)} findings in {events_per_session} events)",
        flush=True,
    )
    return result


def run(
    events_per_round: int,
    rounds: int,
    profile: bool,
    capture_content: bool = True,
    payload_chars: int | None = None,
) -> dict:
    results: dict[str, dict] = {}
    calls = events_with(None if payload_chars is None else prose(payload_chars))
    for event, call in calls.items():
        bench = EventBench(call, capture_content)
        per_event: dict[str, list[float]] = {"facade": [], "floor": []}
        ratios = []
        for index in range(rounds):
            measured = bench.block(events_per_round, floor_first=bool(index % 2))
            for label, value in measured.items():
                per_event[label].append(value)
            ratios.append(measured["facade"] / measured["floor"])
        results[event] = {
            "attributes": len(bench.attributes),
            "facade_us": spread(per_event["facade"]),
            "floor_us": spread(per_event["floor"]),
            "ratio": spread(ratios),
        }
        print(
            f"{event:16} attrs={len(bench.attributes):2}  facade µs {fmt(results[event]['facade_us'])}"
            f"  floor µs {fmt(results[event]['floor_us'])}  ratio {fmt(results[event]['ratio'])}"
            f"  (q1 – q3 {fmt_quartiles(results[event]['ratio'])})",
            flush=True,
        )
        if profile:
            client = bench.client
            profiler = cProfile.Profile()
            sid = client.create_session(name="bench", agent_name="bench-agent", user_id="u1")
            profiler.enable()
            for _ in range(events_per_round):
                call(client, sid)
            profiler.disable()
            client.complete_session(sid)
            text = io.StringIO()
            pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(18)
            results[event]["profile_top"] = text.getvalue()
            print(text.getvalue())
        bench.close()
    detectors = detectors_cost(events_per_round, rounds, capture_content)
    return {
        "detectors": detectors,
        "events_per_round": events_per_round,
        "rounds": rounds,
        "capture_content": capture_content,
        "payload_chars": payload_chars,
        "goal": "ratio <= 1.5",
        "results": results,
        "versions": versions(),
    }


# --- --dialect: the facade with a dialect against the facade without -------------------------
def otlp_bytes(span: ReadableSpan) -> int:
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    return len(encode_spans([span]).SerializeToString())




def dialect_cost(
    dialect: str, events_per_round: int, rounds: int, capture_content: bool,
    payload_chars: int | None,
) -> dict:
    results: dict[str, dict] = {}
    calls = events_with(None if payload_chars is None else prose(payload_chars))
    for event, call in calls.items():
        providers = {label: make_provider(NoopExporter()) for label in ("off", "on")}
        clients = {
            label: facade_client(provider, capture_content, dialect if label == "on" else None)
            for label, (provider, _) in providers.items()
        }
        for client in clients.values():
            time_facade(client, call, 200)  # warm-up
        per_event: dict[str, list[float]] = {"off": [], "on": []}
        extra, ratios = [], []
        for index in range(rounds):
            measured = {}
            for label in (("off", "on") if index % 2 == 0 else ("on", "off")):
                for _, processor in providers.values():
                    processor.force_flush()
                gc.collect()
                measured[label] = time_facade(clients[label], call, events_per_round) / events_per_round * 1e6
                per_event[label].append(measured[label])
            extra.append(measured["on"] - measured["off"])
            ratios.append(measured["on"] / measured["off"])
        spans = {label: facade_span(call, capture_content, dialect if label == "on" else None)
                 for label in ("off", "on")}
        results[event] = {
            "attributes": {label: len(span.attributes) for label, span in spans.items()},
            "otlp_bytes": {label: otlp_bytes(span) for label, span in spans.items()},
            "off_us": spread(per_event["off"]),
            "on_us": spread(per_event["on"]),
            "extra_us": spread(extra),
            "on_over_off": spread(ratios),
        }
        r = results[event]
        print(
            f"{event:16} µs off {fmt(r['off_us'])}  on {fmt(r['on_us'])}  extra {fmt(r['extra_us'])}"
            f"  on/off {fmt(r['on_over_off'], digits=3)}  attrs {r['attributes']['off']} -> "
            f"{r['attributes']['on']}  OTLP bytes {r['otlp_bytes']['off']} -> {r['otlp_bytes']['on']}",
            flush=True,
        )
        for provider, _ in providers.values():
            provider.shutdown()
    return {
        "dialect": dialect,
        "events_per_round": events_per_round,
        "rounds": rounds,
        "capture_content": capture_content,
        "payload_chars": payload_chars,
        "results": results,
        "versions": versions(),
    }


# --- --vs-util: against opentelemetry-util-genai's TelemetryHandler (issue 11) ---------------
UTIL_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
UTIL_EVENTS = ("tool", "llm")
FACADE_CALLS = {"tool": "track_tool_call", "llm": "track_llm_call"}
LLM_INPUT = "How do I reset my password?"
LLM_OUTPUT = "Go to Settings > Security > Reset password."


# CPU time (all threads: the batch processor's too) is what the other jobs of a loaded
# machine do not inflate; wall time is what a user waits.
CLOCKS = ("cpu", "wall")


def _clocks() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(start: tuple[float, float]) -> tuple[float, float]:
    return time.perf_counter() - start[0], time.process_time() - start[1]


class UtilBench:
    """The same tool call and LLM call three ways, each on its own provider with a batch
    processor to a no-op exporter, content captured: the facade (``track_tool_call`` /
    ``track_llm_call``), the native API (``session.tool`` / ``session.llm``), and the
    official util's ``TelemetryHandler`` (``tool(name)`` / ``inference(provider,
    request_model=...)``, with ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=SPAN_ONLY``),
    each under a root span. And the SDK's floor under the facade: a bare span started with
    the attributes the facade's span ends up with (copied from a real one), on a provider
    like the util's: what any code setting those attributes pays the SDK, whatever it does
    on top. And the facade on OpenTelemetry's ``NoOpTracerProvider`` ("nosdk"): all of our
    own work per call (content, checks, the step record) with the SDK's span taken away."""

    def __init__(self) -> None:
        import sentrial_otel
        from opentelemetry.util.genai.handler import TelemetryHandler
        from opentelemetry.util.genai.types import InputMessage, OutputMessage, Text

        self.providers = {}
        self.providers["facade"], _ = make_provider(NoopExporter())
        self.client = sentrial.SentrialClient(tracer_provider=self.providers["facade"],
                                              capture_content=True)
        self.providers["native"], _ = make_provider(NoopExporter())
        self.telemetry = sentrial_otel.configure(tracer_provider=self.providers["native"],
                                                 capture_content=True)
        self.providers["util"], _ = make_provider(NoopExporter())
        self.handler = TelemetryHandler(tracer_provider=self.providers["util"])
        self.types = InputMessage, OutputMessage, Text
        self.facade_calls = events_with()
        self.nosdk_client = sentrial.SentrialClient(tracer_provider=NoOpTracerProvider(),
                                                    capture_content=True)
        self.providers["floor"], _ = make_provider(NoopExporter())
        self.floor_spans = {
            event: facade_span_shape(self.facade_calls[FACADE_CALLS[event]], True)
            for event in UTIL_EVENTS
        }
        for event in UTIL_EVENTS:  # warm-up
            for contender in self.contenders:
                getattr(self, contender)(event, 200)

    contenders = ("facade", "native", "util", "floor", "nosdk")

    def facade(
        self, event: str, n: int, client: sentrial.SentrialClient | None = None
    ) -> tuple[float, float]:
        client = client or self.client
        call = self.facade_calls[FACADE_CALLS[event]]
        sid = client.create_session(name="bench", agent_name="bench-agent", user_id="u1")
        start = _clocks()
        for _ in range(n):
            call(client, sid)
        elapsed = _since(start)
        client.complete_session(sid)
        return elapsed

    def native(self, event: str, n: int) -> tuple[float, float]:
        session = self.telemetry.start_session("bench-agent", name="bench", user_id="u1")
        start = _clocks()
        if event == "tool":
            for _ in range(n):
                with session.tool("search_kb", TOOL_INPUT) as call:
                    call.result = TOOL_OUTPUT
        else:
            for _ in range(n):
                with session.llm("gpt-4o", "openai", input=LLM_INPUT) as llm:
                    llm.finish(LLM_OUTPUT, prompt_tokens=42, completion_tokens=17, finish_reason="stop")
        elapsed = _since(start)
        session.finish()
        return elapsed

    def util(self, event: str, n: int) -> tuple[float, float]:
        from opentelemetry import context as otel_context

        handler = self.handler
        input_message, output_message, text = self.types
        root = self.providers["util"].get_tracer("bench").start_span("invoke_agent bench-agent")
        token = otel_context.attach(set_span_in_context(root))
        start = _clocks()
        if event == "tool":
            for _ in range(n):
                tool = handler.tool("search_kb")
                tool.arguments = TOOL_INPUT
                tool.tool_result = TOOL_OUTPUT
                tool.stop()
        else:
            for _ in range(n):
                llm = handler.inference("openai", request_model="gpt-4o")
                llm.input_messages = [input_message(role="user", parts=[text(content=LLM_INPUT)])]
                llm.output_messages = [output_message(role="assistant", parts=[text(content=LLM_OUTPUT)],
                                                      finish_reason="stop")]
                llm.input_tokens, llm.output_tokens = 42, 17
                llm.finish_reasons = ["stop"]
                llm.stop()
        elapsed = _since(start)
        otel_context.detach(token)
        root.end()
        return elapsed

    def nosdk(self, event: str, n: int) -> tuple[float, float]:
        return self.facade(event, n, self.nosdk_client)

    def floor(self, event: str, n: int) -> tuple[float, float]:
        tracer = self.providers["floor"].get_tracer("bench")
        name, kind, attributes = self.floor_spans[event]
        root = tracer.start_span("invoke_agent bench-agent")
        context = set_span_in_context(root)
        start = _clocks()
        for _ in range(n):
            tracer.start_span(name, context, kind, attributes).end()
        elapsed = _since(start)
        root.end()
        return elapsed

    def block(self, event: str, n: int, shift: int) -> dict[str, tuple[float, float]]:
        """Wall and CPU µs per event of each contender, back to back, in an order rotated
        by ``shift``."""
        count = len(self.contenders)
        order = self.contenders[shift % count:] + self.contenders[:shift % count]
        measured = {}
        for contender in order:
            for provider in self.providers.values():
                provider.force_flush()
            gc.collect()
            wall, cpu = getattr(self, contender)(event, n)
            measured[contender] = (wall / n * 1e6, cpu / n * 1e6)
        return measured

    def close(self) -> None:
        for provider in self.providers.values():
            provider.shutdown()


def run_vs_util(events_per_round: int, rounds: int, profile: bool) -> dict:
    """Facade and native API over the util, per event, the ratio taken within each round."""
    os.environ[UTIL_CONTENT_ENV] = "SPAN_ONLY"
    import opentelemetry.util.genai as util_genai

    load_before = os.getloadavg()
    bench = UtilBench()
    results: dict[str, dict] = {}
    for event in UTIL_EVENTS:
        per_event: dict[str, dict[str, list[float]]] = {k: {c: [] for c in bench.contenders} for k in CLOCKS}
        ratios: dict[str, dict[str, list[float]]] = {
            k: {"facade": [], "native": [], "floor": [], "nosdk": []} for k in CLOCKS
        }
        for index in range(rounds):
            measured = bench.block(event, events_per_round, index)
            for k, clock in enumerate(CLOCKS):
                for contender, values in measured.items():
                    per_event[clock][contender].append(values[k])
                for contender in ratios[clock]:
                    ratios[clock][contender].append(measured[contender][k] / measured["util"][k])
        results[event] = {
            clock: {
                **{f"{c}_us": spread(v) for c, v in per_event[clock].items()},
                **{f"{c}_over_util": spread(v) for c, v in ratios[clock].items()},
            }
            for clock in CLOCKS
        }
        for clock in CLOCKS:
            row = results[event][clock]
            print(f"{event:5} {clock:4} util µs {fmt(row['util_us'])}" + "".join(
                f"  {c}/util {fmt(row[f'{c}_over_util'])} (q1 – q3 {fmt_quartiles(row[f'{c}_over_util'])})"
                for c in ratios[clock]
            ), flush=True)
        if profile:
            for contender in ("facade", "native", "util"):
                profiler = cProfile.Profile()
                profiler.enable()
                getattr(bench, contender)(event, events_per_round)
                profiler.disable()
                text = io.StringIO()
                pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(10)
                results[event][f"profile_{contender}"] = text.getvalue()
                print(f"--- {contender} {event}\n{text.getvalue()}")
    bench.close()
    return {
        "events_per_round": events_per_round,
        "rounds": rounds,
        "goal": "facade and native each <= 0.75x the util",
        "floor": "a bare SDK span with the facade span's attributes: floor_over_util is the "
                 "least the facade could cost, doing nothing but set them; nosdk: the "
                 "facade on a NoOpTracerProvider, our own work without the SDK's span",
        "util_genai": {"version": getattr(util_genai, "__version__", None) or _util_version(),
                       "path": str(Path(util_genai.__file__).parent)},
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg(),
        "results": results,
        "versions": versions(["opentelemetry-util-genai"]),
    }


def loop_vs_util(contender: str, event: str, seconds: float) -> dict:
    """One contender's event over and over for ``seconds``, in blocks of 500 (each provider
    flushed after each), for a sampling profiler run from outside (py-spy): a profile of
    what a call costs without cProfile's per-call overhead, which inflates deep Python
    call chains more than shallow ones."""
    os.environ[UTIL_CONTENT_ENV] = "SPAN_ONLY"
    bench = UtilBench()
    run_block = getattr(bench, contender)
    events = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        run_block(event, 500)
        events += 500
        for provider in bench.providers.values():
            provider.force_flush()
    bench.close()
    print(f"{contender} {event}: {events} events in {seconds:g} s (profile under UtilBench.{contender})")
    return {"contender": contender, "event": event, "events": events, "seconds": seconds}


def _util_version() -> str:
    from opentelemetry.util.genai import version

    return version.__version__


# --- --before-src: this checkout against another, one subprocess each ------------------------
def serve(capture_content: bool, payload_chars: int | None) -> None:
    """Worker protocol, one JSON line per answer: ``{"ready": attribute counts}`` once set
    up and warmed up; then ``EVENT N FLOOR_FIRST`` -> that event's block of N events."""
    calls = events_with(None if payload_chars is None else prose(payload_chars))
    benches = {event: EventBench(call, capture_content) for event, call in calls.items()}
    metrics = next(iter(benches.values())).client.telemetry.metrics
    print(json.dumps({"ready": {e: len(b.attributes) for e, b in benches.items()},
                      "src": str(Path(sentrial.__file__).resolve().parents[1]),
                      # an older checkout has no v0.1.0 metrics at all
                      "latest_metrics": getattr(metrics, "latest", False)}), flush=True)
    for line in sys.stdin:
        event, n, floor_first = line.split()
        print(json.dumps(benches[event].block(int(n), floor_first == "1")), flush=True)


def serve_util() -> None:
    """Worker protocol of ``--vs-util --before-src``: ``{"ready": ..., "src": ...}`` once
    warmed up; then ``EVENT N SHIFT`` -> ``UtilBench.block`` (every contender, µs per event)."""
    os.environ[UTIL_CONTENT_ENV] = "SPAN_ONLY"
    bench = UtilBench()
    print(json.dumps({"ready": True, "src": str(Path(sentrial.__file__).resolve().parents[1])}),
          flush=True)
    for line in sys.stdin:
        event, n, shift = line.split()
        print(json.dumps(bench.block(event, int(n), int(shift))), flush=True)
    bench.close()


OPT_IN = "OTEL_SEMCONV_STABILITY_OPT_IN"


class Worker:
    def __init__(
        self, src: Path | None, capture_content: bool, payload_chars: int | None,
        opt_in: str | None = None, metrics: str = "off", serve: list[str] | None = None,
    ) -> None:
        """``serve``: the worker's arguments, when it is not an ``EventBench`` worker."""
        env = {k: v for k, v in os.environ.items() if k not in ("SENTRIAL_BENCH_SRC", OPT_IN)}
        if src is not None:
            env["SENTRIAL_BENCH_SRC"] = str(src)
        if opt_in is not None:
            env[OPT_IN] = opt_in
        command = [sys.executable, str(Path(__file__).resolve())]
        if serve is not None:
            command += serve
        else:
            command += ["--serve", "--capture-content", "on" if capture_content else "off",
                        "--metrics", metrics]
        if payload_chars is not None:
            command += ["--payload-chars", str(payload_chars)]
        self.process = subprocess.Popen(command, env=env, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        self.ready = self._answer()

    def _answer(self) -> dict:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("a benchmark worker died (its stderr is above)")
        return json.loads(line)

    def block(self, event: str, n: int, floor_first: bool) -> dict[str, float]:
        return self._ask(f"{event} {n} {int(floor_first)}")

    def util_block(self, event: str, n: int, shift: int) -> dict[str, list[float]]:
        """A ``serve_util`` worker's block: contender -> [wall µs, CPU µs] per event."""
        return self._ask(f"{event} {n} {shift}")

    def _ask(self, line: str) -> dict:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return self._answer()

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=60)


@contextlib.contextmanager
def _all_closed(workers: dict[str, Worker]) -> Iterator[dict[str, Worker]]:
    """The workers, each closed on the way out, whatever happened."""
    try:
        yield workers
    finally:
        for worker in workers.values():
            worker.close()


def compare(
    before_src: Path | None, events_per_round: int, rounds: int, capture_content: bool,
    payload_chars: int | None, opt_in_compare: bool = False, metrics: str = "off",
) -> dict:
    """Each event's facade/floor ratio now and before, measured in alternating blocks
    (``opt_in_compare``: now with the GenAI v0.1.0 opt-in, before without, same source)."""
    workers = {
        "now": Worker(None, capture_content, payload_chars,
                      "gen_ai_latest_experimental" if opt_in_compare else None, metrics),
        "before": Worker(before_src, capture_content, payload_chars, None, metrics),
    }
    results: dict[str, dict] = {}
    with _all_closed(workers):
        for event in events_with():
            ratios: dict[str, list[float]] = {"now": [], "before": []}
            relative = []
            for index in range(rounds):
                order = ["now", "before"] if index % 2 == 0 else ["before", "now"]
                measured = {}
                for label in order:
                    block = workers[label].block(event, events_per_round, floor_first=bool(index // 2 % 2))
                    measured[label] = block["facade"] / block["floor"]
                    ratios[label].append(measured[label])
                relative.append(measured["now"] / measured["before"])
            results[event] = {
                "attributes": {label: w.ready["ready"][event] for label, w in workers.items()},
                "ratio_now": spread(ratios["now"]),
                "ratio_before": spread(ratios["before"]),
                "now_over_before": spread(relative),
            }
            print(
                f"{event:16} ratio now {fmt(results[event]['ratio_now'])}"
                f"  before {fmt(results[event]['ratio_before'])}"
                f"  now/before {fmt(results[event]['now_over_before'], digits=3)}"
                f" (q1 – q3 {fmt_quartiles(results[event]['now_over_before'], digits=3)})",
                flush=True,
            )
    return {
        "events_per_round": events_per_round,
        "rounds": rounds,
        "capture_content": capture_content,
        "payload_chars": payload_chars,
        "before_src": str(before_src) if before_src is not None else None,
        "opt_in_compare": opt_in_compare,
        "metrics": metrics,
        "sources": {label: w.ready["src"] for label, w in workers.items()},
        "latest_metrics": {label: w.ready["latest_metrics"] for label, w in workers.items()},
        "results": results,
        "versions": versions(),
    }


def compare_vs_util(
    before_src: Path, util_path: Path | None, events_per_round: int, rounds: int
) -> dict:
    """``--vs-util`` for this checkout ("now") and ``before_src``, one worker process each,
    asked in turn every round (order swapped every round): each one's CPU ratios over the
    util it measured in the same block, and now/before of those ratios (the util cancels
    out whatever the machine's load did between the two blocks)."""
    serve = ["--serve-util"] + (["--util-genai-path", str(util_path)] if util_path else [])
    workers = {"now": Worker(None, True, None, serve=serve),
               "before": Worker(before_src, True, None, serve=serve)}
    ours = ("facade", "native")
    results: dict[str, dict] = {}
    with _all_closed(workers):
        for event in UTIL_EVENTS:
            ratios: dict[str, dict[str, list[float]]] = {
                label: {c: [] for c in (*ours, "floor", "nosdk")} for label in workers
            }
            relative: dict[str, list[float]] = {c: [] for c in ours}
            for index in range(rounds):
                order = ["now", "before"] if index % 2 == 0 else ["before", "now"]
                measured = {}
                for label in order:
                    block = workers[label].util_block(event, events_per_round, index)
                    measured[label] = {c: block[c][1] / block["util"][1] for c in ratios[label]}
                    for contender, ratio in measured[label].items():
                        ratios[label][contender].append(ratio)
                for contender in ours:
                    relative[contender].append(measured["now"][contender] / measured["before"][contender])
            results[event] = {
                **{f"{label}_cpu_over_util": {c: spread(v) for c, v in by.items()}
                   for label, by in ratios.items()},
                "now_over_before": {c: spread(v) for c, v in relative.items()},
            }
            for contender in ours:
                now = results[event]["now_cpu_over_util"][contender]
                before = results[event]["before_cpu_over_util"][contender]
                change = results[event]["now_over_before"][contender]
                print(f"{event:5} {contender:6}/util cpu  now {now['median']:.2f} "
                      f"(q1 – q3 {fmt_quartiles(now)})  before {before['median']:.2f} "
                      f"(q1 – q3 {fmt_quartiles(before)})  now/before {change['median']:.3f} "
                      f"(q1 – q3 {fmt_quartiles(change, digits=3)})", flush=True)
    return {
        "events_per_round": events_per_round,
        "rounds": rounds,
        "before_src": str(before_src),
        "sources": {label: w.ready["src"] for label, w in workers.items()},
        "util_genai_path": str(util_path) if util_path else None,
        "results": results,
        "versions": versions(["opentelemetry-util-genai"]),
    }


def _import_util_from(path: Path) -> None:
    """Make ``opentelemetry.util.genai`` come from ``path`` (a ``pip --target`` dir).

    ``opentelemetry`` and ``opentelemetry.util`` are namespace packages, whose search paths
    follow ``sys.path``: put first, ``path``'s copy of the util wins."""
    sys.path.insert(0, str(path))
    import opentelemetry.util.genai

    found = Path(opentelemetry.util.genai.__file__).resolve()
    if not found.is_relative_to(path.resolve()):
        raise SystemExit(f"opentelemetry.util.genai came from {found}, not {path}")


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500, help="events per round")
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--capture-content", choices=("on", "off"), default="on",
                        help="the facade's content capture (the goal is set with it on)")
    parser.add_argument("--metrics", choices=("off", "sdk"), default="off",
                        help="sdk: an SDK MeterProvider is the global one, so the facade's "
                        "GenAI metrics are really recorded (as with an OTLP endpoint set)")
    parser.add_argument("--payload-chars", type=int, default=None, metavar="N",
                        help="N characters of prose as the tool result, the decision's "
                        "reasoning and the LLM call's input and output (default: short texts)")
    parser.add_argument("--out", help="write the JSON result here")
    parser.add_argument("--before-src", type=Path, metavar="DIR",
                        help="also measure the src/ of another checkout, alternating with this one")
    parser.add_argument("--opt-in-compare", action="store_true",
                        help=f"this checkout with {OPT_IN}=gen_ai_latest_experimental (now) "
                        "against without (before)")
    parser.add_argument("--dialect", choices=("openinference",),
                        help="measure this dialect: the facade with it against without it")
    parser.add_argument("--detectors-only", action="store_true",
                        help="only what the session detectors add per event")
    parser.add_argument("--vs-util", action="store_true",
                        help="the facade and the native API against opentelemetry-util-genai's "
                        "TelemetryHandler (tool and LLM calls)")
    parser.add_argument("--util-genai-path", type=Path, metavar="DIR",
                        help="import opentelemetry-util-genai from DIR (a pip --target dir), "
                        "not the installed one")
    parser.add_argument("--loop", metavar="CONTENDER:EVENT:SECONDS",
                        help="with --vs-util: run only CONTENDER's (facade, native, util, "
                        "floor) EVENT (tool, llm) for SECONDS, for a sampling profiler")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--serve-util", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.vs_util and args.before_src is not None:
        result = compare_vs_util(args.before_src, args.util_genai_path, args.events, args.rounds)
        emit("events-vs-util-compare", result, args.out)
        return result
    if args.vs_util or args.serve_util:
        if args.util_genai_path is not None:
            _import_util_from(args.util_genai_path)
        if args.serve_util:
            serve_util()
            return {}
        if args.loop is not None:
            contender, _, rest = args.loop.partition(":")
            event, _, seconds = rest.partition(":")
            if contender not in UtilBench.contenders or event not in UTIL_EVENTS:
                parser.error(f"--loop: CONTENDER is one of {', '.join(UtilBench.contenders)}, "
                             f"EVENT one of {', '.join(UTIL_EVENTS)}")
            try:
                duration = float(seconds)
            except ValueError:
                parser.error("--loop: SECONDS must be a number")
            return loop_vs_util(contender, event, duration)
        result = run_vs_util(args.events, args.rounds, args.profile)
        emit("events-vs-util", result, args.out)
        return result
    if args.metrics == "sdk":
        from opentelemetry import metrics
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader

        metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))
    if args.payload_chars is not None and args.payload_chars < 1:
        parser.error("--payload-chars must be at least 1")
    if args.serve:
        serve(args.capture_content == "on", args.payload_chars)
        return {}
    if args.dialect is not None:
        result = dialect_cost(args.dialect, args.events, args.rounds,
                              args.capture_content == "on", args.payload_chars)
        emit("events-dialect", result, args.out)
        return result
    if args.detectors_only:
        result = {"detectors": detectors_cost(args.events, args.rounds, args.capture_content == "on"),
                  "versions": versions()}
        emit("events-detectors", result, args.out)
        return result
    if args.before_src is not None or args.opt_in_compare:
        if args.before_src is not None and (args.metrics == "sdk" or args.opt_in_compare):
            parser.error("--before-src runs alone, with --metrics off")
        result = compare(args.before_src, args.events, args.rounds,
                         args.capture_content == "on", args.payload_chars,
                         args.opt_in_compare, args.metrics)
        emit("events-compare", result, args.out)
        return result
    result = run(
        args.events, args.rounds, args.profile, args.capture_content == "on", args.payload_chars
    )
    result["metrics"] = args.metrics
    for event in result["results"].values():
        event.pop("profile_top", None) if not args.profile else None
    emit("events", result, args.out)
    return result


if __name__ == "__main__":
    main()
