"""Benchmark: the cost of LangChain instrumentation on one offline agent run.

One run is ``agent.invoke(question)`` on a real ``langchain.agents.create_agent`` graph
whose chat model is scripted (no network): three chat-model calls that return tool calls
and usage metadata (``get_weather``, then ``get_time``, then the answer), and the two tools.

Contenders (each with an SDK ``TracerProvider`` + ``BatchSpanProcessor`` to a no-op
exporter, also set as the global provider):

* ``baseline``          no instrumentation
* ``sentrial``          ours, ``capture_content=True``
* ``sentrial-before``   ours from another checkout (``--before-src DIR/src``), to measure
                        an optimisation in the same run
* ``openinference``     ``openinference-instrumentation-langchain`` (captures content by default)
* ``openllmetry``       ``opentelemetry-instrumentation-langchain`` (``TRACELOOP_TRACE_CONTENT=true``)
* ``genai-content``     ``opentelemetry-instrumentation-genai-langchain``,
                        ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=SPAN_ONLY``
* ``genai-no-content``  the same with ``NO_CONTENT``

Every contender runs in its own subprocess (the peers patch module globals -- LangGraph's
``Pregel.stream``, ``create_agent``, class-level ``Config`` -- so a fresh interpreter is the
only way to be sure nothing of one leaks into another), with the identical workload. The
driver alternates: each round starts one subprocess per contender, in an order rotated
every round, and each subprocess does ``--warmup`` untimed runs then ``--runs`` timed ones.
A round's figure for a contender is the median of its timed runs; the ratio is that median
over the baseline's median of the same round. The table gives min / median / max over the
rounds. A contender whose package is not installed is reported as skipped.

Span counts: the no-op exporter counts what it receives. Each worker reports the spans of
one run (by name) and the spans per run over all its runs, after a flush; a worker whose
total is not runs x spans-per-run lost spans (a full queue) and says so.

Usage::

    python benchmarks/bench_langchain.py [--rounds 7] [--runs 200] [--warmup 30]
        [--contenders baseline,sentrial,...] [--json results.json]
"""

from __future__ import annotations

import argparse
import gc
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from importlib import metadata, util
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# ``--before-src`` runs a second "sentrial" contender from another checkout's src/.
SRC = os.environ.get("SENTRIAL_BENCH_SRC") or str(REPO / "src")
if SRC not in sys.path:
    sys.path.insert(0, SRC)

CONTENDERS = (
    "baseline",
    "sentrial",
    "openinference",
    "openllmetry",
    "genai-content",
    "genai-no-content",
)

# The module each contender needs (None: always available).
REQUIRES: dict[str, str | None] = {
    "baseline": None,
    "sentrial": "sentrial_otel.instrumentation.langchain",
    "sentrial-before": "sentrial_otel.instrumentation.langchain",
    "openinference": "openinference.instrumentation.langchain",
    "openllmetry": "opentelemetry.instrumentation.langchain",
    "genai-content": "opentelemetry.instrumentation.genai.langchain",
    "genai-no-content": "opentelemetry.instrumentation.genai.langchain",
}

GENAI_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"

# Every worker gets the same environment except the official instrumentation's content switch.
COMMON_ENV = {"TRACELOOP_TRACE_CONTENT": "true", "OTEL_SDK_DISABLED": "false"}
CONTENDER_ENV = {
    "genai-content": {GENAI_CONTENT_ENV: "SPAN_ONLY"},
    "genai-no-content": {GENAI_CONTENT_ENV: "NO_CONTENT"},
}

VERSIONED = (
    "sentrial-otel",
    "langchain",
    "langchain-core",
    "langgraph",
    "opentelemetry-api",
    "opentelemetry-sdk",
    "opentelemetry-instrumentation",
    "openinference-instrumentation",
    "openinference-instrumentation-langchain",
    "opentelemetry-instrumentation-langchain",
    "opentelemetry-instrumentation-genai-langchain",
    "opentelemetry-util-genai",
    "wrapt",
)

QUESTION = {"messages": [{"role": "user", "content": "What is the weather and time in Paris?"}]}
SYSTEM_PROMPT = "You are a concise travel assistant. Use the tools, then answer in one sentence."


def available(contender: str) -> bool:
    module = REQUIRES[contender]
    if module is None:
        return True
    try:
        return util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


# --- the workload (importing LangChain only in the worker) ---------------------------------
def build_agent() -> Any:
    """A ``create_agent`` graph over a scripted chat model and two tools.

    Built after instrumenting (OpenLLMetry wraps ``create_agent`` itself) and looked up
    through the module so wrappers apply. The model cycles through a three-message script,
    so every ``invoke`` is the same run; it returns shallow copies (LangChain stamps ids and
    response metadata on the message it is given).
    """
    import langchain.agents
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage
    from langchain_core.outputs import ChatGeneration, ChatResult
    from langchain_core.tools import tool

    model_name = "gpt-4o-mini"

    def usage(tokens: tuple[int, int]) -> dict[str, int]:
        return {"input_tokens": tokens[0], "output_tokens": tokens[1], "total_tokens": sum(tokens)}

    def tool_call(name: str, call_id: str, tokens: tuple[int, int]) -> AIMessage:
        return AIMessage(
            content="",
            tool_calls=[{"name": name, "args": {"city": "Paris"}, "id": call_id, "type": "tool_call"}],
            usage_metadata=usage(tokens),  # type: ignore[arg-type]
            response_metadata={"model_name": f"{model_name}-2024-07-18", "finish_reason": "tool_calls"},
        )

    script = [
        tool_call("get_weather", "call_1", (52, 14)),
        tool_call("get_time", "call_2", (81, 14)),
        AIMessage(
            content="It is sunny in Paris and the local time is 14:05.",
            usage_metadata=usage((110, 16)),  # type: ignore[arg-type]
            response_metadata={"model_name": f"{model_name}-2024-07-18", "finish_reason": "stop"},
        ),
    ]

    class ScriptedChatModel(GenericFakeChatModel):
        """Cycles through the script; reports itself as OpenAI, as real models do."""

        def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
            return self

        def _get_ls_params(self, stop: Any = None, **kwargs: Any) -> Any:
            params = super()._get_ls_params(stop=stop, **kwargs)
            params.update(ls_provider="openai", ls_model_name=model_name, ls_temperature=0.2)
            return params

        def _generate(self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
            message = next(self.messages).model_copy()
            return ChatResult(generations=[ChatGeneration(message=message)])

    @tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return f"sunny in {city}"

    @tool
    def get_time(city: str) -> str:
        """The local time in a city."""
        return f"14:05 in {city}"

    model = ScriptedChatModel(messages=itertools.cycle(script))
    return langchain.agents.create_agent(
        model, [get_weather, get_time], system_prompt=SYSTEM_PROMPT, name="travel_agent"
    )


def make_provider() -> tuple[Any, Any]:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    class CountingNoopExporter(SpanExporter):
        """Exports nowhere; counts spans, and records names while ``names`` is a Counter."""

        def __init__(self) -> None:
            self.count = 0
            self.names: Counter[str] | None = None

        def export(self, spans: Sequence[Any]) -> SpanExportResult:
            self.count += len(spans)
            if self.names is not None:
                self.names.update(s.name for s in spans)
            return SpanExportResult.SUCCESS

        def shutdown(self) -> None:
            pass

    exporter = CountingNoopExporter()
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider, exporter


def instrument(contender: str, provider: Any) -> Any:
    """Instrument the process for ``contender``; returns the instrumentor (None: baseline)."""
    if contender == "baseline":
        return None
    if contender in ("sentrial", "sentrial-before"):
        from sentrial_otel.instrumentation.langchain import LangChainInstrumentor

        instrumentor = LangChainInstrumentor()
        instrumentor.instrument(tracer_provider=provider, capture_content=True)
    elif contender == "openinference":
        from openinference.instrumentation.langchain import (
            LangChainInstrumentor as OIInstrumentor,
        )

        instrumentor = OIInstrumentor()
        instrumentor.instrument(tracer_provider=provider)
    elif contender == "openllmetry":
        from opentelemetry.instrumentation.langchain import LangchainInstrumentor

        instrumentor = LangchainInstrumentor()
        instrumentor.instrument(tracer_provider=provider)
    elif contender in ("genai-content", "genai-no-content"):
        from opentelemetry.instrumentation.genai.langchain import (
            LangChainInstrumentor as GenAIInstrumentor,
        )

        instrumentor = GenAIInstrumentor()
        instrumentor.instrument(tracer_provider=provider)
    else:
        raise ValueError(f"unknown contender {contender!r}")
    return instrumentor


def run_worker(contender: str, runs: int, warmup: int, set_global: bool = True) -> dict[str, Any]:
    """Time ``runs`` agent runs under ``contender`` in this process (after ``warmup`` runs)."""
    from opentelemetry import trace

    provider, exporter = make_provider()
    if set_global:
        trace.set_tracer_provider(provider)
    instrumentor = instrument(contender, provider)
    try:
        agent = build_agent()
        # Spans of building the agent (OpenLLMetry's ``create_agent`` span) are not a run's.
        provider.force_flush()
        exporter.count = 0
        # One run on its own, flushed, to see what a run emits.
        exporter.names = Counter()
        result = agent.invoke(QUESTION)
        provider.force_flush()
        one_run = dict(sorted(exporter.names.items()))
        exporter.names = None
        per_run = exporter.count
        answer = result["messages"][-1].content
        for _ in range(max(warmup - 1, 0)):
            agent.invoke(QUESTION)
        provider.force_flush()
        gc.collect()
        times = []
        invoke = agent.invoke
        clock = time.perf_counter_ns
        for _ in range(runs):
            start = clock()
            invoke(QUESTION)
            times.append(clock() - start)
        provider.force_flush()
        total_runs = 1 + max(warmup - 1, 0) + runs
        return {
            "contender": contender,
            "answer": answer,
            "times_ns": times,
            "one_run_spans": one_run,
            "spans_one_run": per_run,
            "spans_total": exporter.count,
            "runs_total": total_runs,
            "spans_lost": per_run * total_runs - exporter.count,
            "sentrial_from": _sentrial_path(),
        }
    finally:
        if instrumentor is not None:
            instrumentor.uninstrument()
        provider.shutdown()


def _sentrial_path() -> str | None:
    module = sys.modules.get("sentrial_otel")
    return str(Path(module.__file__).parent) if module is not None and module.__file__ else None


# --- the driver ----------------------------------------------------------------------------
def worker_env(contender: str, before_src: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop(GENAI_CONTENT_ENV, None)
    env.pop("SENTRIAL_BENCH_SRC", None)
    if contender == "sentrial-before" and before_src is not None:
        env["SENTRIAL_BENCH_SRC"] = str(before_src)
    env.update(COMMON_ENV)
    env.update(CONTENDER_ENV.get(contender, {}))
    env["PYTHONHASHSEED"] = "0"
    return env


def spawn(contender: str, runs: int, warmup: int, before_src: Path | None = None) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", contender,
               "--runs", str(runs), "--warmup", str(warmup)]
    env = worker_env(contender, before_src)
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"worker {contender} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def versions() -> dict[str, str]:
    found = {}
    for name in VERSIONED:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def machine() -> dict[str, Any]:
    return {
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
    }


def spread(values: list[float], fmt: str) -> str:
    return " / ".join(format(v, fmt) for v in (min(values), statistics.median(values), max(values)))


def drive(contenders: list[str], rounds: int, runs: int, warmup: int, log: Any = sys.stderr,
          before_src: Path | None = None) -> dict[str, Any]:
    """Alternate one subprocess per contender per round; returns the raw results and summary."""
    if "baseline" not in contenders:
        contenders = ["baseline", *contenders]
    skipped = [c for c in contenders if not available(c)]
    present = [c for c in contenders if c not in skipped]
    medians: dict[str, list[float]] = {c: [] for c in present}
    ratios: dict[str, list[float]] = {c: [] for c in present}
    spans: dict[str, dict[str, Any]] = {}
    for index in range(rounds):
        shift = index % len(present)
        order = present[shift:] + present[:shift]
        this_round: dict[str, float] = {}
        for contender in order:
            result = spawn(contender, runs, warmup, before_src)
            this_round[contender] = statistics.median(result["times_ns"]) / 1000.0
            spans.setdefault(contender, {
                "per_run": result["spans_one_run"],
                "names": result["one_run_spans"],
                "lost": 0,
                "sentrial_from": result["sentrial_from"],
            })
            spans[contender]["lost"] += result["spans_lost"]
            print(f"round {index + 1}/{rounds} {contender:17s} median {this_round[contender]:9.1f} us",
                  file=log, flush=True)
        for contender in present:
            medians[contender].append(this_round[contender])
            ratios[contender].append(this_round[contender] / this_round["baseline"])
    summary = {
        c: {
            "us_min": min(medians[c]),
            "us_median": statistics.median(medians[c]),
            "us_max": max(medians[c]),
            "ratio_min": min(ratios[c]),
            "ratio_median": statistics.median(ratios[c]),
            "ratio_max": max(ratios[c]),
            "spans_per_run": spans[c]["per_run"],
            "spans_lost": spans[c]["lost"],
            "span_names": spans[c]["names"],
            "sentrial_from": spans[c]["sentrial_from"],
            "round_medians_us": medians[c],
            "round_ratios": ratios[c],
        }
        for c in present
    }
    return {
        "config": {"rounds": rounds, "runs": runs, "warmup": warmup, "contenders": present},
        "skipped": skipped,
        "machine": machine(),
        "versions": versions(),
        "summary": summary,
    }


def table(report: dict[str, Any]) -> str:
    lines = [
        "| contender | spans / run | per-run µs min / median / max | ratio min / median / max |",
        "|---|---:|---:|---:|",
    ]
    for contender, row in report["summary"].items():
        lost = f" ({row['spans_lost']} lost)" if row["spans_lost"] else ""
        us = spread([row["us_min"], row["us_median"], row["us_max"]], ",.0f")
        ratio = spread([row["ratio_min"], row["ratio_median"], row["ratio_max"]], ".2f")
        lines.append(f"| {contender} | {row['spans_per_run']}{lost} | {us} | {ratio} |")
    for contender in report["skipped"]:
        lines.append(f"| {contender} | not installed, skipped | | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--runs", type=int, default=200, help="timed runs per subprocess")
    parser.add_argument("--warmup", type=int, default=30, help="untimed runs per subprocess first")
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    parser.add_argument("--json", type=Path, help="write the raw report here")
    parser.add_argument("--before-src", type=Path,
                        help="also run ours from this src/ directory (contender sentrial-before)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        print(json.dumps(run_worker(args.worker, args.runs, args.warmup)))
        return 0

    contenders = [c.strip() for c in args.contenders.split(",") if c.strip()]
    unknown = set(contenders) - set(CONTENDERS)
    if unknown:
        parser.error(f"unknown contenders: {', '.join(sorted(unknown))}")
    if args.before_src is not None:
        contenders.insert(contenders.index("sentrial") + 1 if "sentrial" in contenders else 0,
                          "sentrial-before")
    report = drive(contenders, args.rounds, args.runs, args.warmup, before_src=args.before_src)
    print(json.dumps({"machine": report["machine"], "versions": report["versions"]}, indent=2))
    print()
    print(table(report))
    for contender, row in report["summary"].items():
        print(f"\n{contender}: one run emits {row['span_names']}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
