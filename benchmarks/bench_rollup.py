"""Benchmark 8: what the roll-up processor adds to every span of a provider we use.

Every span on a provider our sessions use goes through the stamping processor
(``spans/stamping.py``) and, since issue 14, the roll-up one (``spans/rollup.py``). This
times one span started and ended by another instrumentation's tracer (the bare SDK, a no-op
processor standing in for export), on a provider with the stamping processor only
(``before``) and with both (``now``), in three places:

* ``outside a session``: a plain span in a trace that is no session's (most spans);
* ``in a session``: a plain span (an HTTP call) in a session's trace: stamped, not counted;
* ``LLM span in a session``: an inference span with usage (5 attributes): stamped, and now
  also read, priced and counted in the session.

Contenders alternate within each round; each figure is µs per span, and the ratio now /
before of the same round.

Usage::

    python benchmarks/bench_rollup.py [--spans 2000] [--rounds 30] [--out FILE]
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable

from _common import emit, fmt, fmt_quartiles, spread, versions  # noqa: I001 - sets sys.path first

from opentelemetry import trace
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider

import sentrial_otel
from sentrial_otel import semconv as sc
from sentrial_otel._internal.spans.rollup import SessionUsageProcessor
from sentrial_otel._internal.spans.stamping import SessionStampingProcessor

LLM_ATTRIBUTES = {sc.GEN_AI_OPERATION_NAME: sc.OP_CHAT, sc.GEN_AI_REQUEST_MODEL: "gpt-4o",
                  sc.GEN_AI_PROVIDER_NAME: "openai"}
USAGE = {sc.GEN_AI_RESPONSE_MODEL: "gpt-4o-2024-08-06", sc.GEN_AI_USAGE_INPUT_TOKENS: 1000,
         sc.GEN_AI_USAGE_OUTPUT_TOKENS: 100}


def provider(with_rollup: bool) -> TracerProvider:
    built = TracerProvider()
    built.add_span_processor(SpanProcessor())  # stands in for the export processor
    built.add_span_processor(SessionStampingProcessor())
    if with_rollup:
        built.add_span_processor(SessionUsageProcessor())
    return built


def timed(body: Callable[[], None], spans: int) -> float:
    """µs per span."""
    gc.disable()
    start = time.perf_counter()
    for _ in range(spans):
        body()
    elapsed = time.perf_counter() - start
    gc.enable()
    return elapsed / spans * 1e6


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--out")
    args = parser.parse_args(argv)

    before = provider(False).get_tracer("other.instrumentation")
    now = provider(True).get_tracer("other.instrumentation")
    # The session's own spans go elsewhere: only its trace id matters here.
    engine = sentrial_otel.Telemetry(tracer_provider=TracerProvider())
    session = engine.start_session("bench-agent")
    in_session = session.root_context()
    outside = trace.set_span_in_context(
        trace.NonRecordingSpan(trace.SpanContext(0xABC, 0xDEF, False, trace.TraceFlags(1)))
    )

    def plain(on: trace.Tracer, context: object) -> Callable[[], None]:
        def body() -> None:
            on.start_span("GET /search", context).end()  # type: ignore[arg-type]
        return body

    def llm(on: trace.Tracer, context: object) -> Callable[[], None]:
        def body() -> None:
            span = on.start_span(
                "chat gpt-4o", context, trace.SpanKind.CLIENT, LLM_ATTRIBUTES  # type: ignore[arg-type]
            )
            span.set_attributes(USAGE)
            span.end()
        return body

    places = {
        "outside a session": (plain, outside),
        "in a session": (plain, in_session),
        "LLM span in a session": (llm, in_session),
    }
    contenders = {}
    for place, (make, context) in places.items():
        contenders[f"{place}, before"] = make(before, context)
        contenders[f"{place}, now"] = make(now, context)
    per_span: dict[str, list[float]] = {name: [] for name in contenders}
    for body in contenders.values():
        timed(body, min(args.spans, 200))  # warm up
    for round_number in range(args.rounds):
        names = list(contenders)
        if round_number % 2:
            names.reverse()
        for name in names:
            per_span[name].append(timed(contenders[name], args.spans))
    counted = session.totals.sums().llm_calls
    session.finish()
    results = {}
    for place in places:
        was, now_values = per_span[f"{place}, before"], per_span[f"{place}, now"]
        ratios = [n / b for n, b in zip(now_values, was)]
        results[place] = {"before_us": spread(was), "now_us": spread(now_values),
                          "ratio": spread(ratios)}
        print(f"{place:>22}: before {fmt(spread(was), ' µs')}  now {fmt(spread(now_values), ' µs')}"
              f"  now/before {fmt(spread(ratios), 'x')} (q1 – q3 {fmt_quartiles(spread(ratios))})")
    result = {"spans": args.spans, "rounds": args.rounds, "llm_calls_counted": counted,
              "results": results, "versions": versions()}
    emit("rollup", result, args.out)
    return result


if __name__ == "__main__":
    main()
