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

Every contender runs in its own long-lived subprocess (the peers patch module globals --
LangGraph's ``Pregel.stream``, ``create_agent``, class-level ``Config`` -- so a fresh
interpreter is the only way to be sure nothing of one leaks into another), with the
identical workload. Each worker sets up and warms up (``--warmup`` untimed runs) before any
timing; then the driver alternates them in short blocks: each round asks every contender in
turn, in an order rotated every round, for ``--runs`` timed runs. A round's figure for a
contender is the median of its block; the ratio is that over the baseline's block of the
same round, measured a fraction of a second apart, so this machine's slow spells cancel
out. The table gives min / median / max of the per-round ratios, and the median per-run
time over all rounds. A contender whose package is not installed is reported as skipped.

Span counts: the no-op exporter counts what it receives. Each worker reports the spans of
one run (by name) and the spans per run over all its runs, after a flush; a worker whose
total is not runs x spans-per-run lost spans (a full queue) and says so.

Usage::

    python benchmarks/bench_langchain.py [--rounds 60] [--runs 10] [--warmup 30]
        [--contenders baseline,sentrial,...] [--json results.json]
    python benchmarks/bench_langchain.py --profile-callbacks [--runs 300]
    python benchmarks/bench_langchain.py --workload light [--rounds 60] [--runs 10] [--json F]
    python benchmarks/bench_langchain.py --workload light --profile-callbacks [--runs 300]

``--workload light`` (issue 11) is a ``RunnableLambda`` chain calling a tool-bound chat
model three times and the two tools directly, no LangGraph, in this one process: ours, a
do-nothing callback handler (added to every callback manager as ours is) and the SDK
floor (``sdk-floor``: a handler that only makes the SDK spans ours makes, with the same
names and attributes, recorded from one run of ours) are switched on and off in place, in
chunks of ``--runs`` runs alternating in a rotated order, one untimed run after each
switch. Ratios are per round, over the baseline chunk of the same round, in
process CPU time (what the other jobs of a loaded machine do not inflate) and wall time.
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
def scripted_model_and_tools(bind_schemas: bool = False, turns: int = 3) -> tuple[Any, list[Any]]:
    """A scripted chat model (no network) and the two tools it calls.

    The model cycles through a script of ``turns`` messages (``get_weather``, then
    ``get_time``, alternating, then the answer, each with usage metadata), so every run is
    the same; it returns
    shallow copies (LangChain stamps ids and response metadata on the message it is
    given). ``bind_tools`` returns the model itself, or with ``bind_schemas`` a
    ``RunnableBinding`` of the tools' OpenAI schemas, as a real chat model does.
    """
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage
    from langchain_core.outputs import ChatGeneration, ChatResult
    from langchain_core.tools import tool
    from langchain_core.utils.function_calling import convert_to_openai_tool

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
        tool_call(("get_weather", "get_time")[turn % 2], f"call_{turn + 1}", (52 + 29 * turn, 14))
        for turn in range(turns - 1)
    ] + [
        AIMessage(
            content="It is sunny in Paris and the local time is 14:05.",
            usage_metadata=usage((110, 16)),  # type: ignore[arg-type]
            response_metadata={"model_name": f"{model_name}-2024-07-18", "finish_reason": "stop"},
        ),
    ]

    class ScriptedChatModel(GenericFakeChatModel):
        """Cycles through the script; reports itself as OpenAI, as real models do."""

        def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
            if not bind_schemas:
                return self
            return self.bind(tools=[convert_to_openai_tool(t) for t in tools], **kwargs)

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

    return ScriptedChatModel(messages=itertools.cycle(script)), [get_weather, get_time]


def build_agent() -> Any:
    """A ``create_agent`` graph over the scripted chat model and two tools.

    Built after instrumenting (OpenLLMetry wraps ``create_agent`` itself) and looked up
    through the module so wrappers apply.
    """
    import langchain.agents

    model, tools = scripted_model_and_tools()
    return langchain.agents.create_agent(model, tools, system_prompt=SYSTEM_PROMPT, name="travel_agent")


def build_light_chain(turns: int = 3) -> Any:
    """The light workload (issue 11): a ``RunnableLambda`` that calls a tool-bound chat model
    ``turns`` times (each call's prompt the whole history so far) and a tool after each
    call but the last, no LangGraph."""
    from langchain_core.messages import HumanMessage, SystemMessage
    from langchain_core.runnables import RunnableLambda

    model, tool_list = scripted_model_and_tools(bind_schemas=True, turns=turns)
    tools = {t.name: t for t in tool_list}
    bound = model.bind_tools(tool_list)

    def travel_agent(question: str) -> str:
        messages: list[Any] = [SystemMessage(SYSTEM_PROMPT), HumanMessage(question)]
        for _ in range(turns - 1):
            reply = bound.invoke(messages)
            call = reply.tool_calls[0]
            messages += [reply, tools[call["name"]].invoke(call)]
        return bound.invoke(messages).content

    return RunnableLambda(travel_agent, name="travel_agent")


def make_provider() -> tuple[Any, Any]:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    class CountingNoopExporter(SpanExporter):
        """Exports nowhere; counts spans, and records names while ``names`` is a Counter
        (the spans themselves while ``kept`` is a list)."""

        def __init__(self) -> None:
            self.count = 0
            self.names: Counter[str] | None = None
            self.kept: list[Any] | None = None

        def export(self, spans: Sequence[Any]) -> SpanExportResult:
            self.count += len(spans)
            if self.names is not None:
                self.names.update(s.name for s in spans)
            if self.kept is not None:
                self.kept.extend(spans)
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


class Workload:
    """One contender's process state: provider, instrumentation, the agent, span counts."""

    def __init__(self, contender: str, warmup: int, set_global: bool = True) -> None:
        from opentelemetry import trace

        self.contender = contender
        self.provider, self.exporter = make_provider()
        if set_global:
            trace.set_tracer_provider(self.provider)
        self.instrumentor = instrument(contender, self.provider)
        self.agent = build_agent()
        # Spans of building the agent (OpenLLMetry's ``create_agent`` span) are not a run's.
        self.provider.force_flush()
        self.exporter.count = 0
        # One run on its own, flushed, to see what a run emits.
        self.exporter.names = Counter()
        result = self.agent.invoke(QUESTION)
        self.provider.force_flush()
        self.one_run = dict(sorted(self.exporter.names.items()))
        self.exporter.names = None
        self.per_run = self.exporter.count
        self.answer = result["messages"][-1].content
        self.runs_total = 1
        for _ in range(max(warmup - 1, 0)):
            self.agent.invoke(QUESTION)
        self.runs_total += max(warmup - 1, 0)
        self.provider.force_flush()
        gc.collect()

    def timed(self, runs: int) -> list[int]:
        """ns per ``invoke`` of ``runs`` runs."""
        times = []
        invoke = self.agent.invoke
        clock = time.perf_counter_ns
        for _ in range(runs):
            start = clock()
            invoke(QUESTION)
            times.append(clock() - start)
        self.runs_total += runs
        return times

    def report(self) -> dict[str, Any]:
        """What a run emits, and whether every span of every run reached the exporter."""
        self.provider.force_flush()
        return {
            "contender": self.contender,
            "answer": self.answer,
            "one_run_spans": self.one_run,
            "spans_one_run": self.per_run,
            "spans_total": self.exporter.count,
            "runs_total": self.runs_total,
            "spans_lost": self.per_run * self.runs_total - self.exporter.count,
            "sentrial_from": _sentrial_path(),
        }

    def close(self) -> None:
        if self.instrumentor is not None:
            self.instrumentor.uninstrument()
        self.provider.shutdown()


def run_worker(contender: str, runs: int, warmup: int, set_global: bool = True) -> dict[str, Any]:
    """Time ``runs`` agent runs under ``contender`` in this process (after ``warmup`` runs)."""
    workload = Workload(contender, warmup, set_global)
    try:
        times = workload.timed(runs)
        return {**workload.report(), "times_ns": times}
    finally:
        workload.close()


def serve_worker(contender: str, warmup: int) -> None:
    """Driver protocol on stdin/stdout, one JSON line per answer: after set-up and warm-up
    ``{"ready": ...report}``; then ``run N`` -> a list of N times (ns); ``end`` -> the report."""
    workload = Workload(contender, warmup)
    print(json.dumps({"ready": workload.report()}), flush=True)
    for line in sys.stdin:
        command = line.split()
        if command and command[0] == "run":
            print(json.dumps(workload.timed(int(command[1]))), flush=True)
        elif command == ["end"]:
            print(json.dumps(workload.report()), flush=True)
            break
    workload.close()


def profile_callbacks(
    runs: int, warmup: int, top: int = 30, light: bool = False, turns: int = 3
) -> str:
    """cProfile of our handler's callbacks alone over ``runs`` runs (own time, top functions)
    of the agent workload, or of the light one."""
    import cProfile
    import io
    import pstats

    if light:
        workload: Any = LightSwitch(turns)
        workload.switch("sentrial")
        workload.timed(warmup)
        workload.close = lambda: workload.switch("baseline")
    else:
        workload = Workload("sentrial", warmup)
    handler = workload.instrumentor.handler
    profiler = cProfile.Profile()

    def profiled(method: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            profiler.enable()
            try:
                return method(*args, **kwargs)
            finally:
                profiler.disable()

        return call

    for name in dir(type(handler)):
        if name.startswith("on_"):
            setattr(handler, name, profiled(getattr(handler, name)))
    try:
        workload.timed(runs)
    finally:
        workload.close()
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text)
    print(f"callbacks: {stats.total_tt / runs * 1e6:.0f} µs per run under the profiler", file=text)
    stats.sort_stats("tottime").print_stats(top)
    return text.getvalue()


# --- the light workload: one process, instrumentation switched off and on in place -------
LIGHT_MODES = ("baseline", "sentrial", "noop-handler", "sdk-floor")
LIGHT_QUESTION = "What is the weather and time in Paris?"


class _NoopAdder:
    """Wrapper of ``BaseCallbackManager.__init__`` adding a do-nothing inheritable handler
    (or ``handler``) to every manager, as ours adds its handler: the floor any callback
    handler pays."""

    def __init__(self, handler: Any = None) -> None:
        from langchain_core.callbacks import BaseCallbackHandler

        self.handler = handler if handler is not None else BaseCallbackHandler()

    def __call__(self, wrapped: Any, instance: Any, args: Any, kwargs: Any) -> None:
        wrapped(*args, **kwargs)
        if self.handler not in instance.inheritable_handlers:
            instance.add_handler(self.handler, inherit=True)


def sdk_floor_handler(tracer: Any, specs: list[tuple[str, Any, dict[str, Any]]]) -> Any:
    """The SDK's share of ours: for each run LangChain reports, the span ours makes of it
    (name, kind and every attribute, recorded from one run of ours, all given at its start),
    started under its parent run's span and ended with the run, and nothing else: no
    reading of inputs or outputs, no encoding. What any handler making these spans pays,
    LangChain's dispatch included. ``specs``: (name, kind, attributes) in start order (the
    runs of every light run start in the same order)."""
    from langchain_core.callbacks import BaseCallbackHandler
    from opentelemetry import trace

    class SdkFloorHandler(BaseCallbackHandler):
        raise_error = False
        run_inline = True

        def __init__(self) -> None:
            self.spans: dict[Any, Any] = {}
            self.started = 0

        def _start(self, run_id: Any, parent_run_id: Any) -> None:
            name, kind, attributes = specs[self.started % len(specs)]
            self.started += 1
            parent = self.spans.get(parent_run_id)
            context = trace.set_span_in_context(parent) if parent is not None else None
            self.spans[run_id] = tracer.start_span(name, context, kind, attributes)

        def _end(self, run_id: Any) -> None:
            span = self.spans.pop(run_id, None)
            if span is not None:
                span.end()

        def on_chain_start(self, serialized: Any, inputs: Any, *, run_id: Any,
                           parent_run_id: Any = None, **kwargs: Any) -> None:
            self._start(run_id, parent_run_id)

        def on_chat_model_start(self, serialized: Any, messages: Any, *, run_id: Any,
                                parent_run_id: Any = None, **kwargs: Any) -> None:
            self._start(run_id, parent_run_id)

        def on_tool_start(self, serialized: Any, input_str: Any, *, run_id: Any,
                          parent_run_id: Any = None, **kwargs: Any) -> None:
            self._start(run_id, parent_run_id)

        def on_chain_end(self, outputs: Any, *, run_id: Any, **kwargs: Any) -> None:
            self._end(run_id)

        def on_llm_end(self, response: Any, *, run_id: Any, **kwargs: Any) -> None:
            self._end(run_id)

        def on_tool_end(self, output: Any, *, run_id: Any, **kwargs: Any) -> None:
            self._end(run_id)

    return SdkFloorHandler()


class LightSwitch:
    """The light chain (of ``turns`` chat calls) under one provider, switched between the
    modes in place."""

    def __init__(self, turns: int = 3) -> None:
        from opentelemetry import trace

        self.provider, self.exporter = make_provider()
        trace.set_tracer_provider(self.provider)
        self.chain = build_light_chain(turns)
        self.instrumentor: Any = None
        self.floor_specs: list[tuple[str, Any, dict[str, Any]]] = []
        """The spans of one run of ours, for the ``sdk-floor`` mode (``one_run_spans``)."""
        self.mode = "baseline"
        self.spans: dict[str, int] = {mode: 0 for mode in LIGHT_MODES}
        self.runs: dict[str, int] = {mode: 0 for mode in LIGHT_MODES}

    def switch(self, mode: str) -> None:
        from langchain_core.callbacks.base import BaseCallbackManager
        from opentelemetry.instrumentation.utils import unwrap
        from wrapt import wrap_function_wrapper

        self.provider.force_flush()
        self.spans[self.mode] += self.exporter.count
        self.exporter.count = 0
        if self.mode == "sentrial":
            self.instrumentor.uninstrument()
        elif self.mode in ("noop-handler", "sdk-floor"):
            unwrap(BaseCallbackManager, "__init__")
        if mode == "sentrial":
            from sentrial_otel.instrumentation.langchain import LangChainInstrumentor

            self.instrumentor = LangChainInstrumentor()
            self.instrumentor.instrument(tracer_provider=self.provider, capture_content=True)
        elif mode == "noop-handler":
            wrap_function_wrapper("langchain_core.callbacks.base", "BaseCallbackManager.__init__",
                                  _NoopAdder())
        elif mode == "sdk-floor":
            if not self.floor_specs:
                raise RuntimeError("sdk-floor replays one run of ours: run one_run_spans('sentrial') first")
            floor = sdk_floor_handler(self.provider.get_tracer("sdk-floor"), self.floor_specs)
            wrap_function_wrapper("langchain_core.callbacks.base", "BaseCallbackManager.__init__",
                                  _NoopAdder(floor))
        self.mode = mode

    def timed(self, runs: int) -> tuple[list[int], list[int]]:
        """Wall and process-CPU ns per ``invoke`` of ``runs`` runs in the current mode.

        CPU time (all threads, so the batch processor's too) is what a loaded machine does
        not inflate: wall time includes the spells this process waits for a core."""
        invoke = self.chain.invoke
        wall, cpu = time.perf_counter_ns, time.process_time_ns
        walls, cpus = [], []
        for _ in range(runs):
            start, start_cpu = wall(), cpu()
            invoke(LIGHT_QUESTION)
            walls.append(wall() - start)
            cpus.append(cpu() - start_cpu)
        self.runs[self.mode] += runs
        return walls, cpus

    def one_run_spans(self, mode: str) -> dict[str, int]:
        """What one run emits in ``mode`` (span name -> count), outside any timing."""
        self.switch(mode)
        self.provider.force_flush()
        self.exporter.names = Counter()
        self.exporter.kept = []
        answer = self.chain.invoke(LIGHT_QUESTION)
        self.runs[mode] += 1
        self.provider.force_flush()
        names, self.exporter.names = self.exporter.names, None
        kept, self.exporter.kept = self.exporter.kept, None
        if mode == "sentrial":
            kept.sort(key=lambda span: span.start_time)
            self.floor_specs = [(span.name, span.kind, dict(span.attributes)) for span in kept]
        assert answer == "It is sunny in Paris and the local time is 14:05.", answer
        return dict(sorted(names.items()))


def drive_light(
    rounds: int, runs: int, warmup: int, log: Any = sys.stderr, turns: int = 3
) -> dict[str, Any]:
    """Alternate the modes in chunks of ``runs`` runs, order rotated every round; after each
    switch one untimed run. A round's ratio is a mode's chunk median over the baseline's."""
    load_before = os.getloadavg()
    switch = LightSwitch(turns)
    modes = list(LIGHT_MODES)
    span_names = {mode: switch.one_run_spans(mode) for mode in modes}
    for mode in modes:
        switch.switch(mode)
        switch.timed(warmup)
    clocks = ("wall", "cpu")
    medians = {c: {m: [] for m in modes} for c in clocks}
    ratios = {c: {m: [] for m in modes} for c in clocks}
    every_run = {c: {m: [] for m in modes} for c in clocks}
    for index in range(rounds):
        shift = index % len(modes)
        this_round: dict[str, dict[str, float]] = {c: {} for c in clocks}
        for mode in modes[shift:] + modes[:shift]:
            switch.switch(mode)
            switch.timed(1)
            for clock, times in zip(clocks, switch.timed(runs)):
                every_run[clock][mode].extend(t / 1000.0 for t in times)
                this_round[clock][mode] = statistics.median(times) / 1000.0
        for clock in clocks:
            for mode in modes:
                medians[clock][mode].append(this_round[clock][mode])
                ratios[clock][mode].append(this_round[clock][mode] / this_round[clock]["baseline"])
        print(f"round {index + 1}/{rounds} " + "  ".join(
            f"{m} cpu {ratios['cpu'][m][-1]:.2f} wall {ratios['wall'][m][-1]:.2f}"
            for m in modes if m != "baseline"), file=log, flush=True)
    switch.switch("baseline")
    switch.provider.force_flush()
    switch.spans["baseline"] += switch.exporter.count
    summary: dict[str, dict[str, Any]] = {c: {} for c in clocks}
    for clock in clocks:
        for mode in modes:
            per_run = sum(span_names[mode].values())
            summary[clock][mode] = {
                "us_min": min(medians[clock][mode]),
                "us_median": statistics.median(every_run[clock][mode]),
                "us_max": max(medians[clock][mode]),
                "ratio_min": min(ratios[clock][mode]),
                "ratio_median": statistics.median(ratios[clock][mode]),
                "ratio_quartiles": _quartiles(ratios[clock][mode]),
                "ratio_max": max(ratios[clock][mode]),
                "spans_per_run": per_run,
                "spans_lost": per_run * switch.runs[mode] - switch.spans[mode],
                "span_names": span_names[mode],
                "sentrial_from": _sentrial_path(),
                "round_medians_us": medians[clock][mode],
                "round_ratios": ratios[clock][mode],
            }
    switch.provider.shutdown()
    return {
        "config": {"workload": "light", "rounds": rounds, "runs": runs, "warmup": warmup,
                   "turns": turns, "contenders": modes},
        "skipped": [],
        "machine": {**machine(), "loadavg_before": load_before, "loadavg_after": os.getloadavg()},
        "versions": versions(),
        "summary": summary["cpu"],
        "summary_wall": summary["wall"],
    }


def run_light_only(mode: str, runs: int, warmup: int, turns: int = 3) -> str:
    """``runs`` light runs in ``mode``, after ``warmup``, all inside one ``sorted()`` call:
    callgrind counts them alone, set-up and imports left out, with
    ``valgrind --tool=callgrind --collect-atstart=no --toggle-collect='builtin_sorted*'``.
    Instructions do not move with the machine's load, as CPU time does. Returns what
    the timed runs emitted."""
    switch = LightSwitch(turns)
    if mode == "sdk-floor":
        switch.one_run_spans("sentrial")  # the spans the floor replays
    switch.switch(mode)
    switch.timed(warmup)
    switch.provider.force_flush()
    switch.exporter.count = 0
    invoke = switch.chain.invoke
    sorted(range(runs), key=lambda _: invoke(LIGHT_QUESTION))
    switch.provider.force_flush()
    spans = switch.exporter.count
    switch.switch("baseline")
    switch.provider.shutdown()
    return f"{mode}: {runs} runs, {spans} spans"


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


class Worker:
    """A contender's long-lived subprocess (``serve_worker``), driven one block at a time."""

    def __init__(self, contender: str, warmup: int, before_src: Path | None = None) -> None:
        self.contender = contender
        command = [sys.executable, str(Path(__file__).resolve()), "--worker", contender,
                   "--serve", "--warmup", str(warmup)]
        self.process = subprocess.Popen(
            command, env=worker_env(contender, before_src), stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.ready = self._answer()["ready"]

    def _answer(self) -> Any:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            error = self.process.stderr.read() if self.process.stderr else ""
            raise RuntimeError(f"worker {self.contender} failed:\n{error[-4000:]}")
        return json.loads(line)

    def _send(self, command: str) -> Any:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self._answer()

    def timed(self, runs: int) -> list[int]:
        return self._send(f"run {runs}")

    def finish(self) -> dict[str, Any]:
        report = self._send("end")
        self.process.wait(timeout=60)
        return report

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


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
    """Alternate the contenders' long-lived workers in short blocks; returns the raw results
    and the summary.

    Every contender has its own subprocess (set up and warmed up before any timing), and a
    round asks each in turn, in an order rotated every round, for ``runs`` timed runs. A
    round takes a fraction of a second, so the machine's slow spells hit the contenders of
    one round alike, and the ratio to the baseline's block of the same round cancels them.
    """
    if "baseline" not in contenders:
        contenders = ["baseline", *contenders]
    skipped = [c for c in contenders if not available(c)]
    present = [c for c in contenders if c not in skipped]
    medians: dict[str, list[float]] = {c: [] for c in present}
    ratios: dict[str, list[float]] = {c: [] for c in present}
    every_run: dict[str, list[float]] = {c: [] for c in present}
    workers: dict[str, Worker] = {}
    try:
        for contender in present:
            workers[contender] = Worker(contender, warmup, before_src)
            print(f"{contender:17s} ready", file=log, flush=True)
        for index in range(rounds):
            shift = index % len(present)
            this_round: dict[str, float] = {}
            for contender in present[shift:] + present[:shift]:
                times = [t / 1000.0 for t in workers[contender].timed(runs)]
                every_run[contender].extend(times)
                this_round[contender] = statistics.median(times)
            for contender in present:
                medians[contender].append(this_round[contender])
                ratios[contender].append(this_round[contender] / this_round["baseline"])
            print(f"round {index + 1}/{rounds} " + "  ".join(
                f"{c} {ratios[c][-1]:.2f}" for c in present if c != "baseline"
            ), file=log, flush=True)
        reports = {c: workers[c].finish() for c in present}
    finally:
        for worker in workers.values():
            worker.kill()
    summary = {
        c: {
            "us_min": min(medians[c]),
            "us_median": statistics.median(every_run[c]),
            "us_max": max(medians[c]),
            "ratio_min": min(ratios[c]),
            "ratio_median": statistics.median(ratios[c]),
            "ratio_quartiles": _quartiles(ratios[c]),
            "ratio_max": max(ratios[c]),
            "spans_per_run": reports[c]["spans_one_run"],
            "spans_lost": reports[c]["spans_lost"],
            "span_names": reports[c]["one_run_spans"],
            "sentrial_from": reports[c]["sentrial_from"],
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


def _quartiles(values: list[float]) -> list[float]:
    if len(values) < 2:
        return [values[0], values[0]] if values else []
    q1, _, q3 = statistics.quantiles(values, n=4)
    return [q1, q3]


def table(report: dict[str, Any]) -> str:
    lines = [
        "| contender | spans / run | per-run µs min / median / max | ratio min / median / max "
        "| ratio q1 – q3 |",
        "|---|---:|---:|---:|---:|",
    ]
    for contender, row in report["summary"].items():
        lost = f" ({row['spans_lost']} lost)" if row["spans_lost"] else ""
        us = spread([row["us_min"], row["us_median"], row["us_max"]], ",.0f")
        ratio = spread([row["ratio_min"], row["ratio_median"], row["ratio_max"]], ".2f")
        quartiles = " – ".join(format(q, ".2f") for q in row["ratio_quartiles"])
        lines.append(
            f"| {contender} | {row['spans_per_run']}{lost} | {us} | {ratio} | {quartiles} |"
        )
    for contender in report["skipped"]:
        lines.append(f"| {contender} | not installed, skipped | | | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--runs", type=int, default=10, help="timed runs per contender per round")
    parser.add_argument("--warmup", type=int, default=30, help="untimed runs per worker first")
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    parser.add_argument("--workload", choices=("agent", "light"), default="agent",
                        help="agent: create_agent graph, a subprocess per contender; light: a "
                             "RunnableLambda chain in this process, ours, a do-nothing "
                             "handler and the SDK floor switched on and off in place")
    parser.add_argument("--json", type=Path, help="write the raw report here")
    parser.add_argument("--before-src", type=Path,
                        help="also run ours from this src/ directory (contender sentrial-before)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--profile-callbacks", action="store_true",
                        help="profile our callbacks over --runs runs (no comparison)")
    parser.add_argument("--turns", type=int, default=3,
                        help="light workload: chat calls per run (a tool call after each but "
                             "the last; each prompt is the whole history so far)")
    parser.add_argument("--only", choices=LIGHT_MODES,
                        help="light workload: --runs untimed runs in this mode alone, for an "
                             "instruction counter (see run_light_only)")
    args = parser.parse_args(argv)
    if args.turns < 1:
        parser.error("--turns must be at least 1")

    if args.only:
        print(run_light_only(args.only, args.runs, args.warmup, args.turns))
        return 0
    if args.profile_callbacks:
        print(profile_callbacks(args.runs, args.warmup, light=args.workload == "light",
                                turns=args.turns))
        return 0
    if args.worker and args.serve:
        serve_worker(args.worker, args.warmup)
        return 0
    if args.worker:
        print(json.dumps(run_worker(args.worker, args.runs, args.warmup)))
        return 0

    if args.workload == "light":
        report = drive_light(args.rounds, args.runs, args.warmup, turns=args.turns)
        print(json.dumps({"machine": report["machine"], "versions": report["versions"]}, indent=2))
        print()
        print("process CPU time per run (the ratio to quote on a loaded machine):")
        print(table(report))
        print("\nwall time per run:")
        print(table({**report, "summary": report["summary_wall"]}))
        for contender, row in report["summary"].items():
            print(f"\n{contender}: one run emits {row['span_names']}")
        if args.json:
            args.json.write_text(json.dumps(report, indent=2))
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
