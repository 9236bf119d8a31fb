"""GenAI and session metrics (SEMCONV.md "Metrics"), with low-cardinality attributes only.

Recorded through whatever meter provider is in effect: the application's global one, or the
one we build next to our own OTLP trace pipeline. With neither, the OpenTelemetry API's
no-op meter makes every call free.

Two sets: what opentelemetry-util-genai 1.3b0 records (always), and, with
``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental``, the GenAI conventions
v0.1.0's client inference metrics next to them (``gen_ai.client.inference.*``), so
dashboards on either keep working while they move.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry import metrics

from sentrial_otel import semconv as sc
from sentrial_otel.config import genai_latest_from_env
from sentrial_otel.version import __version__


_SECONDS = ("s", sc.OPERATION_DURATION_BUCKETS)
_TOKENS = ("{token}", sc.TOKEN_USAGE_BUCKETS)


def _histograms(
    meter: metrics.Meter, *table: tuple[str, tuple[str, tuple[float, ...]], str]
) -> list[metrics.Histogram]:
    """One histogram per (name, (unit, bucket boundaries), description)."""
    return [
        meter.create_histogram(
            name, unit=unit, description=description, explicit_bucket_boundaries_advisory=buckets
        )
        for name, (unit, buckets), description in table
    ]


class AgentMetrics:
    """The instruments, created once per engine."""

    def __init__(
        self,
        meter_provider: metrics.MeterProvider | None = None,
        *,
        latest_conventions: bool | None = None,
    ) -> None:
        """``latest_conventions``: also record the v0.1.0 metrics (default: as
        ``OTEL_SEMCONV_STABILITY_OPT_IN`` says)."""
        provider = meter_provider or metrics.get_meter_provider()
        meter = provider.get_meter("sentrial_otel", __version__)
        self.latest = genai_latest_from_env() if latest_conventions is None else latest_conventions
        (
            self.token_usage, self.operation_duration, self.agent_duration, self.tool_duration,
            self.time_to_first_chunk,
        ) = _histograms(
            meter,
            (sc.METRIC_TOKEN_USAGE, _TOKENS, "Tokens used per LLM call, by token type."),
            (sc.METRIC_OPERATION_DURATION, _SECONDS, "Duration of LLM calls."),
            (sc.METRIC_INVOKE_AGENT_DURATION, ("s", sc.AGENT_DURATION_BUCKETS),
             "Duration of agent sessions."),
            (sc.METRIC_EXECUTE_TOOL_DURATION, _SECONDS, "Duration of tool calls."),
            (sc.METRIC_TIME_TO_FIRST_CHUNK, _SECONDS,
             "Time from the request to the first chunk of a streamed LLM response."),
        )
        self._latest = _InferenceInstruments(meter) if self.latest else None
        self.sessions = meter.create_counter(
            sc.METRIC_SESSIONS, unit="{session}", description="Sessions ended, by agent and outcome."
        )
        self.cost = meter.create_counter(
            sc.METRIC_COST, unit="USD", description="Estimated cost of sessions, by agent."
        )

    def session_ended(
        self, agent: str, outcome: str, seconds: float, cost: float, error_type: str | None
    ) -> None:
        attributes: dict[str, Any] = {sc.GEN_AI_AGENT_NAME: agent, sc.SENTRIAL_SESSION_OUTCOME: outcome}
        self.sessions.add(1, attributes)
        duration_attributes: dict[str, Any] = {sc.GEN_AI_AGENT_NAME: agent}
        if error_type:
            duration_attributes[sc.ERROR_TYPE] = error_type
        self.agent_duration.record(max(seconds, 0.0), duration_attributes)
        if cost > 0:
            self.cost.add(cost, {sc.GEN_AI_AGENT_NAME: agent})

    def tool_ended(
        self, tool: str, agent: str | None, seconds: float, error_type: str | None
    ) -> None:
        attributes: dict[str, Any] = {
            sc.GEN_AI_TOOL_NAME: tool,
            sc.GEN_AI_TOOL_TYPE: sc.TOOL_TYPE_FUNCTION,
        }
        if agent:
            attributes[sc.GEN_AI_AGENT_NAME] = agent
        if error_type:
            attributes[sc.ERROR_TYPE] = error_type
        self.tool_duration.record(max(seconds, 0.0), attributes)

    def llm_ended(
        self,
        operation: str,
        provider: str,
        model: str,
        input_tokens: int | None,
        output_tokens: int | None,
        seconds: float | None,
        agent_name: str | None = None,
        error_type: str | None = None,
        token_details: Mapping[str, int] | None = None,
        time_to_first_chunk: float | None = None,
    ) -> None:
        attributes: dict[str, Any] = {
            sc.GEN_AI_OPERATION_NAME: operation,
            sc.GEN_AI_PROVIDER_NAME: provider,
            sc.GEN_AI_REQUEST_MODEL: model,
        }
        if agent_name:
            attributes[sc.GEN_AI_AGENT_NAME] = agent_name
        # Token usage is reported only when known (the spec: never a made-up zero).
        if input_tokens is not None:
            self.token_usage.record(input_tokens, {**attributes, sc.GEN_AI_TOKEN_TYPE: "input"})
        if output_tokens is not None:
            self.token_usage.record(output_tokens, {**attributes, sc.GEN_AI_TOKEN_TYPE: "output"})
        if time_to_first_chunk is not None:
            self.time_to_first_chunk.record(time_to_first_chunk, attributes)
        if self._latest is not None:
            self._latest.record(
                attributes, input_tokens, output_tokens, token_details, seconds,
                time_to_first_chunk, error_type,
            )
        if seconds is not None:
            if error_type:
                attributes[sc.ERROR_TYPE] = error_type
            self.operation_duration.record(max(seconds, 0.0), attributes)


class _InferenceInstruments:
    """The GenAI conventions v0.1.0 client inference metrics (semantic-conventions-genai
    ``gen-ai-token-metrics.md``, ``client-inference.md``): a duration and a time to first
    chunk, a counter per token kind with ``gen_ai.token.modality`` (``unknown``: no
    provider we read breaks usage down by modality), and per-call token histograms."""

    def __init__(self, meter: metrics.Meter) -> None:
        self.duration, self.time_to_first_chunk, self.operation_input, self.operation_output = (
            _histograms(
                meter,
                (sc.METRIC_INFERENCE_DURATION, _SECONDS, "Duration of GenAI inference operations."),
                (sc.METRIC_INFERENCE_TIME_TO_FIRST_CHUNK, _SECONDS,
                 "Time from the request to the first chunk of a streamed response."),
                (sc.METRIC_INFERENCE_OPERATION_INPUT_TOKENS, _TOKENS,
                 "Input tokens per inference operation."),
                (sc.METRIC_INFERENCE_OPERATION_OUTPUT_TOKENS, _TOKENS,
                 "Output tokens per inference operation."),
            )
        )
        self.usage = {
            kind: meter.create_counter(
                sc.METRIC_INFERENCE_USAGE_PREFIX + kind,
                unit="{token}",
                description=f"Tokens used by GenAI inference operations ({kind}).",
            )
            for kind in (
                "input_tokens", "output_tokens", sc.USAGE_CACHE_READ, sc.USAGE_CACHE_WRITE,
                sc.USAGE_REASONING,
            )
        }

    def record(
        self,
        attributes: dict[str, Any],
        input_tokens: int | None,
        output_tokens: int | None,
        token_details: Mapping[str, int] | None,
        seconds: float | None,
        time_to_first_chunk: float | None,
        error_type: str | None,
    ) -> None:
        # Every call counts, a failed one or one without usage with 0 tokens, as v0.1.0
        # asks of both families (unlike gen_ai.client.token.usage, never a made-up 0).
        by_modality = {**attributes, sc.GEN_AI_TOKEN_MODALITY: sc.TOKEN_MODALITY_UNKNOWN}
        usage = self.usage
        usage["input_tokens"].add(input_tokens or 0, by_modality)
        usage["output_tokens"].add(output_tokens or 0, by_modality)
        if token_details:
            for kind, count in token_details.items():
                counter = usage.get(kind)
                if counter is not None:
                    counter.add(count, by_modality)
        if time_to_first_chunk is not None:
            self.time_to_first_chunk.record(time_to_first_chunk, attributes)
        with_error = {**attributes, sc.ERROR_TYPE: error_type} if error_type else attributes
        self.operation_input.record(input_tokens or 0, with_error)
        self.operation_output.record(output_tokens or 0, with_error)
        if seconds is not None:
            self.duration.record(max(seconds, 0.0), with_error)
