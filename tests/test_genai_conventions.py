"""GenAI conventions in both modes (SEMCONV.md "GenAI conventions v0.1.0").

One agent, run the ways users run one: a native session with an LLM call tracked after the
fact (Anthropic-style cache read and write, reasoning), a streamed LLM call timed as it
runs, a tool and a decision; then a LangGraph workflow outside any session, its node
streaming a chat model whose usage metadata carries cache and reasoning details. Spans and
metrics go over real OTLP/HTTP to the test receiver on 127.0.0.1 and are read back decoded
with opentelemetry-proto; a sampler that records what it was given checks the keys that
samplers must see when a span starts.

Default mode is what opentelemetry-util-genai 1.3b0 emits; with
``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental`` the workflow span is folded
into ``invoke_agent`` and the v0.1.0 client inference metrics come next to the others.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any, TypedDict

import pytest
from langchain_core.messages import AIMessage
from langchain_core.tools import tool
from langgraph.graph import END, START, StateGraph
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, Sampler, SamplingResult

import sentrial_otel
from sentrial_otel import semconv as sc
from sentrial_otel._internal.spans.pricing import cost_usd
from sentrial_otel.instrumentation.langchain import RUNS, LangChainInstrumentor
from tests.langchain.fakes import ScriptedChatModel
from tests.support.otlp_receiver import OtlpReceiver, any_value_to_python

LATEST = "gen_ai_latest_experimental"
CONVO = "conv-7"
THREAD = "thread-42"


class RecordingSampler(Sampler):
    """Samples everything and keeps (span name, attributes) as the SDK handed them over."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()

    def should_sample(
        self, parent_context: Any, trace_id: int, name: str, kind: Any = None,
        attributes: Any = None, links: Sequence[Any] | None = None, trace_state: Any = None,
    ) -> SamplingResult:
        with self._lock:
            self.seen.append((name, dict(attributes or {})))
        return ALWAYS_ON.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        return "RecordingSampler"

    def start_attributes(self, name: str) -> dict[str, Any]:
        (found,) = [attributes for seen, attributes in self.seen if seen == name]
        return found


class State(TypedDict):
    question: str
    answer: str


def _streaming_model() -> ScriptedChatModel:
    usage = {
        "input_tokens": 1000,
        "output_tokens": 100,
        "total_tokens": 1100,
        "input_token_details": {"cache_read": 200, "cache_creation": 50},
        "output_token_details": {"reasoning": 30},
    }
    return ScriptedChatModel([
        AIMessage(
            content="Reset it from the login page",
            usage_metadata=usage,  # type: ignore[arg-type]
            response_metadata={"model_name": "gpt-4o-mini-2024-07-18", "finish_reason": "stop"},
        )
    ])


@tool
def lookup(topic: str) -> str:
    """Look a topic up in the help centre."""
    return f"article about {topic}"


def _triage_graph() -> Any:
    model = _streaming_model()

    def answer(state: State) -> dict[str, str]:
        lookup.invoke({"topic": "passwords"})
        text = "".join(str(chunk.content) for chunk in model.stream(state["question"]))
        return {"answer": text}

    graph = StateGraph(State)
    graph.add_node("answer", answer)
    graph.add_edge(START, "answer")
    graph.add_edge("answer", END)
    return graph.compile(name="triage")


def _run(telemetry: Any) -> None:
    """The agent: a native session, then a LangGraph workflow in a conversation thread."""
    with telemetry.session("support", user_id="user-1", convo_id=CONVO) as session:
        session.track_llm_call(
            provider="anthropic", model="claude-sonnet-4-5", input="hi", output="hello",
            prompt_tokens=1350, completion_tokens=100, cache_read_tokens=300,
            cache_write_tokens=50, reasoning_tokens=40,
        )
        with session.llm("gpt-4o", "openai", stream=True) as call:
            call.chunk()
            call.chunk()
            call.finish("streamed", prompt_tokens=1000, completion_tokens=100, cache_read_tokens=200)
        with session.tool("search", {"q": "reset"}) as tool:
            tool.result = {"hits": 1}
        session.track_decision("search first", alternatives=["escalate"], confidence=0.8)
    _triage_graph().invoke(
        {"question": "How do I reset my password?"},
        config={"configurable": {"thread_id": THREAD}},
    )


class Run:
    """What one run of the agent left: spans and metrics as received, start attributes."""

    def __init__(self, receiver: OtlpReceiver, sampler: RecordingSampler) -> None:
        self.spans = {span.name: span for span in receiver.spans()}
        self.sampler = sampler
        self.metrics: dict[str, list[Any]] = {}
        self.units: dict[str, str] = {}
        self.kinds: dict[str, str] = {}
        """"histogram", or "counter" for a monotonic sum."""
        for request in receiver.requests:
            if request.signal != "metrics":
                continue
            for resource_metrics in request.message.resource_metrics:
                for scope_metrics in resource_metrics.scope_metrics:
                    for metric in scope_metrics.metrics:
                        kind = metric.WhichOneof("data")
                        data = getattr(metric, kind)
                        self.metrics.setdefault(metric.name, []).extend(data.data_points)
                        self.units[metric.name] = metric.unit
                        monotonic = kind == "sum" and data.is_monotonic
                        self.kinds[metric.name] = "counter" if monotonic else kind

    def attributes(self, name: str) -> dict[str, Any]:
        return self.spans[name].attributes

    def points(self, name: str) -> list[tuple[dict[str, Any], Any]]:
        return [
            ({kv.key: any_value_to_python(kv.value) for kv in point.attributes}, point)
            for point in self.metrics.get(name, [])
        ]


@pytest.fixture(params=["default", "latest"])
def run(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Run]:
    if request.param == "latest":
        monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", f"http, {LATEST}")
    else:
        monkeypatch.delenv("OTEL_SEMCONV_STABILITY_OPT_IN", raising=False)
    sampler = RecordingSampler()
    with OtlpReceiver() as receiver:
        tracer_provider = TracerProvider(sampler=sampler)
        tracer_provider.add_span_processor(
            SimpleSpanProcessor(OTLPSpanExporter(endpoint=receiver.traces_endpoint))
        )
        meter_provider = MeterProvider(metric_readers=[PeriodicExportingMetricReader(
            OTLPMetricExporter(endpoint=receiver.endpoint + "/v1/metrics"),
            export_interval_millis=3_600_000,
        )])
        telemetry = sentrial_otel.configure(
            tracer_provider=tracer_provider, meter_provider=meter_provider
        )
        instrumentor = LangChainInstrumentor()
        instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        try:
            _run(telemetry)
        finally:
            instrumentor.uninstrument()
            RUNS.clear()
            telemetry.shutdown()
            tracer_provider.shutdown()
            meter_provider.shutdown()  # the last collection goes out here
        yield Run(receiver, sampler)


def _is_latest(run: Run) -> bool:
    return "invoke_agent triage" in run.spans


# --- spans ---------------------------------------------------------------------------------
def test_streamed_langchain_call_has_cache_reasoning_and_stream_keys(run: Run) -> None:
    values = run.attributes("chat gpt-4o-mini")
    stamp = {sc.GEN_AI_CONVERSATION_ID: THREAD}
    expected = {
        sc.GEN_AI_OPERATION_NAME: "chat",
        sc.GEN_AI_PROVIDER_NAME: "openai",
        sc.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
        sc.GEN_AI_REQUEST_TEMPERATURE: 0.2,
        sc.GEN_AI_RESPONSE_MODEL: "gpt-4o-mini-2024-07-18",
        sc.GEN_AI_RESPONSE_FINISH_REASONS: ["stop"],
        sc.GEN_AI_REQUEST_STREAM: True,
        sc.GEN_AI_USAGE_INPUT_TOKENS: 1000,
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: 100,
        sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 200,
        sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: 50,
        sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: 30,
        # gpt-4o-mini: 750 input at 0.15, 200 cached at 0.075, 50 written at the input
        # price (OpenAI has no cache-write price), 100 output at 0.60 per 1M.
        sc.SENTRIAL_COST_USD: pytest.approx((800 * 0.15 + 200 * 0.075 + 100 * 0.60) / 1e6),
        **stamp,
    }
    if _is_latest(run):
        expected[sc.GEN_AI_AGENT_NAME] = "triage"
    ttfc = values.pop(sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK)
    for key in sc.CONTENT_KEYS & set(values):
        values.pop(key)
    assert values == expected
    assert isinstance(ttfc, float) and 0 <= ttfc <= run.spans["chat gpt-4o-mini"].duration_s
    assert "cache_creation" not in "".join(values)  # the superseded name is never written


def test_workflow_span_per_mode(run: Run) -> None:
    if _is_latest(run):
        values = run.attributes("invoke_agent triage")
        assert "invoke_workflow triage" not in run.spans
        assert values[sc.GEN_AI_OPERATION_NAME] == sc.OP_INVOKE_AGENT
        assert values[sc.GEN_AI_AGENT_NAME] == "triage"
        assert sc.GEN_AI_WORKFLOW_NAME not in values
        assert run.spans["invoke_agent triage"].kind == "INTERNAL"
        assert run.attributes("answer")[sc.GEN_AI_AGENT_NAME] == "triage"
    else:
        values = run.attributes("invoke_workflow triage")
        assert "invoke_agent triage" not in run.spans
        assert values[sc.GEN_AI_OPERATION_NAME] == sc.OP_INVOKE_WORKFLOW
        assert values[sc.GEN_AI_WORKFLOW_NAME] == "triage"
        assert sc.GEN_AI_AGENT_NAME not in values
        assert sc.GEN_AI_AGENT_NAME not in run.attributes("answer")
    assert values[sc.GEN_AI_CONVERSATION_ID] == THREAD
    assert run.attributes("answer")[sc.GEN_AI_CONVERSATION_ID] == THREAD


def test_native_llm_calls_and_session_totals(run: Run) -> None:
    claude = run.attributes("chat claude-sonnet-4-5")
    assert claude[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 300
    assert claude[sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS] == 50
    assert claude[sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] == 40
    assert sc.GEN_AI_REQUEST_STREAM not in claude  # set only when streaming
    assert sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK not in claude
    # Sonnet 4.5: 1000 plain input at $3, 300 cache hits at $0.30, 50 cache writes at
    # $3.75, 100 output at $15 per 1M.
    claude_cost = (1000 * 3.0 + 300 * 0.30 + 50 * 3.75 + 100 * 15.0) / 1e6
    assert claude[sc.SENTRIAL_COST_USD] == pytest.approx(claude_cost)

    streamed = run.attributes("chat gpt-4o")
    assert streamed[sc.GEN_AI_REQUEST_STREAM] is True
    ttfc = streamed[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK]
    assert isinstance(ttfc, float) and 0 <= ttfc <= run.spans["chat gpt-4o"].duration_s
    assert streamed[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 200
    assert sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS not in streamed
    gpt_cost = (800 * 2.5 + 200 * 1.25 + 100 * 10.0) / 1e6
    assert streamed[sc.SENTRIAL_COST_USD] == pytest.approx(gpt_cost)

    root = run.attributes("invoke_agent support")
    totals = {key: value for key, value in root.items() if key.startswith("sentrial.session.usage.")}
    assert totals == {
        sc.SENTRIAL_SESSION_INPUT_TOKENS: 2350,
        sc.SENTRIAL_SESSION_OUTPUT_TOKENS: 200,
        sc.SENTRIAL_SESSION_TOTAL_TOKENS: 2550,
        "sentrial.session.usage.cache_read.input_tokens": 500,
        "sentrial.session.usage.cache_write.input_tokens": 50,
        "sentrial.session.usage.reasoning.output_tokens": 40,
    }
    assert all(type(value) is int for value in totals.values())
    assert root[sc.SENTRIAL_SESSION_COST_USD] == pytest.approx(claude_cost + gpt_cost)
    assert not [key for key in root if key.startswith(sc.GEN_AI_USAGE_PREFIX)]  # leaf spans only


# --- what samplers see -----------------------------------------------------------------------
def test_samplers_see_the_sampling_keys_of_every_span_kind(run: Run) -> None:
    seen = run.sampler.start_attributes
    in_session = {sc.GEN_AI_CONVERSATION_ID: CONVO, sc.GEN_AI_AGENT_NAME: "support"}
    expected = {
        "invoke_agent support": {sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_AGENT, **in_session},
        "chat claude-sonnet-4-5": {
            sc.GEN_AI_OPERATION_NAME: "chat", sc.GEN_AI_PROVIDER_NAME: "anthropic",
            sc.GEN_AI_REQUEST_MODEL: "claude-sonnet-4-5", **in_session,
        },
        "chat gpt-4o": {
            sc.GEN_AI_OPERATION_NAME: "chat", sc.GEN_AI_PROVIDER_NAME: "openai",
            sc.GEN_AI_REQUEST_MODEL: "gpt-4o", sc.GEN_AI_REQUEST_STREAM: True, **in_session,
        },
        "execute_tool search": {
            sc.GEN_AI_OPERATION_NAME: sc.OP_EXECUTE_TOOL, sc.GEN_AI_TOOL_NAME: "search",
            sc.GEN_AI_TOOL_TYPE: "function", **in_session,
        },
        "decision support": {sc.SENTRIAL_SPAN_KIND: "decision", **in_session},
        "chat gpt-4o-mini": {
            sc.GEN_AI_OPERATION_NAME: "chat", sc.GEN_AI_PROVIDER_NAME: "openai",
            sc.GEN_AI_REQUEST_MODEL: "gpt-4o-mini", sc.GEN_AI_CONVERSATION_ID: THREAD,
        },
        "answer": {sc.GEN_AI_CONVERSATION_ID: THREAD},
        "execute_tool lookup": {
            sc.GEN_AI_OPERATION_NAME: sc.OP_EXECUTE_TOOL, sc.GEN_AI_TOOL_NAME: "lookup",
            sc.GEN_AI_TOOL_TYPE: "function", sc.GEN_AI_CONVERSATION_ID: THREAD,
        },
    }
    if _is_latest(run):
        expected["invoke_agent triage"] = {
            sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_AGENT, sc.GEN_AI_AGENT_NAME: "triage",
            sc.GEN_AI_CONVERSATION_ID: THREAD,
        }
        expected["chat gpt-4o-mini"][sc.GEN_AI_AGENT_NAME] = "triage"
        expected["answer"][sc.GEN_AI_AGENT_NAME] = "triage"
        expected["execute_tool lookup"][sc.GEN_AI_AGENT_NAME] = "triage"
    else:
        expected["invoke_workflow triage"] = {
            sc.GEN_AI_OPERATION_NAME: sc.OP_INVOKE_WORKFLOW, sc.GEN_AI_WORKFLOW_NAME: "triage",
            sc.GEN_AI_CONVERSATION_ID: THREAD,
        }
    assert set(expected) == set(run.spans)
    for name, keys in expected.items():
        started = seen(name)
        assert {key: started.get(key) for key in keys} == keys, name
        assert (sc.GEN_AI_AGENT_NAME in started) == (sc.GEN_AI_AGENT_NAME in keys), name


# --- metrics ---------------------------------------------------------------------------------
def test_metrics_per_mode(run: Run) -> None:
    latest = _is_latest(run)
    current = {
        sc.METRIC_TOKEN_USAGE, sc.METRIC_OPERATION_DURATION, sc.METRIC_TIME_TO_FIRST_CHUNK,
        sc.METRIC_INVOKE_AGENT_DURATION, sc.METRIC_EXECUTE_TOOL_DURATION, sc.METRIC_SESSIONS,
        sc.METRIC_COST,
    }
    inference = {
        sc.METRIC_INFERENCE_DURATION,
        sc.METRIC_INFERENCE_TIME_TO_FIRST_CHUNK,
        sc.METRIC_INFERENCE_OPERATION_INPUT_TOKENS,
        sc.METRIC_INFERENCE_OPERATION_OUTPUT_TOKENS,
        *(sc.METRIC_INFERENCE_USAGE_PREFIX + kind for kind in (
            "input_tokens", "output_tokens", sc.USAGE_CACHE_READ, sc.USAGE_CACHE_WRITE,
            sc.USAGE_REASONING,
        )),
    }
    assert set(run.metrics) == (current | inference if latest else current)

    # Streamed calls only (the timed native one and LangChain's), in both modes.
    ttfc = run.points(sc.METRIC_TIME_TO_FIRST_CHUNK)
    assert sorted(a[sc.GEN_AI_REQUEST_MODEL] for a, _ in ttfc) == ["gpt-4o", "gpt-4o-mini"]
    assert list(ttfc[0][1].explicit_bounds) == list(sc.OPERATION_DURATION_BUCKETS)
    assert run.units[sc.METRIC_TIME_TO_FIRST_CHUNK] == "s"
    if not latest:
        return

    def by_model(name: str) -> dict[str, Any]:
        return {attributes[sc.GEN_AI_REQUEST_MODEL]: point for attributes, point in run.points(name)}

    usage = sc.METRIC_INFERENCE_USAGE_PREFIX
    assert {m: p.as_int for m, p in by_model(usage + "input_tokens").items()} == {
        "claude-sonnet-4-5": 1350, "gpt-4o": 1000, "gpt-4o-mini": 1000,
    }
    assert {m: p.as_int for m, p in by_model(usage + sc.USAGE_CACHE_READ).items()} == {
        "claude-sonnet-4-5": 300, "gpt-4o": 200, "gpt-4o-mini": 200,
    }
    assert {m: p.as_int for m, p in by_model(usage + sc.USAGE_CACHE_WRITE).items()} == {
        "claude-sonnet-4-5": 50, "gpt-4o-mini": 50,
    }
    assert {m: p.as_int for m, p in by_model(usage + sc.USAGE_REASONING).items()} == {
        "claude-sonnet-4-5": 40, "gpt-4o-mini": 30,
    }
    for attributes, _ in run.points(usage + "output_tokens"):
        assert attributes[sc.GEN_AI_TOKEN_MODALITY] == sc.TOKEN_MODALITY_UNKNOWN
        assert attributes[sc.GEN_AI_OPERATION_NAME] == "chat"
    for name in inference:
        assert run.kinds[name] == ("counter" if name.startswith(usage) else "histogram"), name
        assert run.units[name] == ("{token}" if "tokens" in name else "s"), name
    histogram = by_model(sc.METRIC_INFERENCE_OPERATION_INPUT_TOKENS)["gpt-4o"]
    assert (histogram.count, histogram.sum) == (1, 1000)
    assert list(histogram.explicit_bounds) == list(sc.TOKEN_USAGE_BUCKETS)
    durations = by_model(sc.METRIC_INFERENCE_DURATION)
    # The call tracked after the fact gave no duration_ms: it has none to record.
    assert set(durations) == {"gpt-4o", "gpt-4o-mini"}
    assert run.units[sc.METRIC_INFERENCE_DURATION] == "s"
    assert set(by_model(sc.METRIC_INFERENCE_TIME_TO_FIRST_CHUNK)) == {"gpt-4o", "gpt-4o-mini"}


def test_cost_of_the_price_table_keeps_its_old_signature() -> None:
    assert cost_usd("gpt-4o", 1000, 100, "openai") == pytest.approx((1000 * 2.5 + 100 * 10) / 1e6)
    assert cost_usd("gpt-4o", 1000, 100) == cost_usd("gpt-4o", 1000, 100, "openai")
    # More cache tokens than input tokens (Anthropic's own counting passed as is): the
    # input is taken as all cached, never a negative remainder.
    assert cost_usd("claude-sonnet-4-5", 100, 0, "anthropic", cache_read_tokens=300) == (
        pytest.approx(100 * 0.30 / 1e6)
    )
