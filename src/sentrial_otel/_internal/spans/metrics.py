"""GenAI and session metrics (SEMCONV.md "Metrics"), with low-cardinality attributes only.

Recorded through whatever meter provider is in effect: the application's global one, or the
one we build next to our own OTLP trace pipeline. With neither, the OpenTelemetry API's
no-op meter makes every call free.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import metrics

from sentrial_otel import semconv as sc
from sentrial_otel.version import __version__


class AgentMetrics:
    """The instruments, created once per engine."""

    def __init__(self, meter_provider: metrics.MeterProvider | None = None) -> None:
        provider = meter_provider or metrics.get_meter_provider()
        meter = provider.get_meter("sentrial_otel", __version__)
        self.token_usage = meter.create_histogram(
            sc.METRIC_TOKEN_USAGE,
            unit="{token}",
            description="Tokens used per LLM call, by token type.",
            explicit_bucket_boundaries_advisory=sc.TOKEN_USAGE_BUCKETS,
        )
        self.operation_duration = meter.create_histogram(
            sc.METRIC_OPERATION_DURATION,
            unit="s",
            description="Duration of LLM calls.",
            explicit_bucket_boundaries_advisory=sc.OPERATION_DURATION_BUCKETS,
        )
        self.agent_duration = meter.create_histogram(
            sc.METRIC_INVOKE_AGENT_DURATION,
            unit="s",
            description="Duration of agent sessions.",
            explicit_bucket_boundaries_advisory=sc.AGENT_DURATION_BUCKETS,
        )
        self.tool_duration = meter.create_histogram(
            sc.METRIC_EXECUTE_TOOL_DURATION,
            unit="s",
            description="Duration of tool calls.",
            explicit_bucket_boundaries_advisory=sc.OPERATION_DURATION_BUCKETS,
        )
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
        if seconds is not None:
            if error_type:
                attributes[sc.ERROR_TYPE] = error_type
            self.operation_duration.record(max(seconds, 0.0), attributes)
