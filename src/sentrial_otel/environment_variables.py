"""Environment variables this library reads, with what each one does.

Precedence everywhere: an explicit argument, then our ``SENTRIAL_*`` variable, then the
standard ``OTEL_*`` variable, then the default. docs/configuration.md is generated from the
same facts (and a test keeps the two in step).
"""

from __future__ import annotations

from typing import Final

SENTRIAL_API_URL: Final = "SENTRIAL_API_URL"
"""OTLP endpoint of a collector (base URL; ``/v1/traces`` is added for http/protobuf).
Same as the ``api_url`` argument. Wins over ``OTEL_EXPORTER_OTLP_*ENDPOINT``."""

SENTRIAL_API_KEY: Final = "SENTRIAL_API_KEY"
"""API key sent as ``Authorization: Bearer <key>`` on every export. Never put in a span."""

SENTRIAL_HOME: Final = "SENTRIAL_HOME"
"""Directory of the embedded local store used when no endpoint is set (default ``./.sentrial``)."""

SENTRIAL_SHUTDOWN_TIMEOUT: Final = "SENTRIAL_SHUTDOWN_TIMEOUT"
"""Seconds the process may spend delivering queued spans at exit (default 5)."""

SENTRIAL_MAX_CONTENT_LENGTH: Final = "SENTRIAL_MAX_CONTENT_LENGTH"
"""Longest string kept inside a content attribute, in characters (default 16384)."""

SENTRIAL_SOURCE: Final = "SENTRIAL_SOURCE"
"""Where ``sentrial-otel sessions`` reads: ``local`` (default) or ``jaeger=http://HOST:16686``.
Read by the CLI only."""

SENTRIAL_FAIL_SILENTLY: Final = "SENTRIAL_FAIL_SILENTLY"
"""``false`` turns on strict mode (misuse raises) when ``fail_silently`` is not given."""

SENTRIAL_HANDLE_SIGTERM: Final = "SENTRIAL_HANDLE_SIGTERM"
"""``false`` keeps our SIGTERM handler out. When on (the default) and SIGTERM still has its
default disposition, SIGTERM ends open sessions as abandoned and delivers within the
shutdown budget, then the process dies by the signal as before."""

SENTRIAL_INSTRUMENT_EXECUTORS: Final = "SENTRIAL_INSTRUMENT_EXECUTORS"
"""``false`` leaves ``concurrent.futures`` alone. When on (the default) and sentrial builds
the tracer provider, work submitted to thread and process pools runs in the submitter's
OpenTelemetry context and session."""
SENTRIAL_DEFER_ROOT_SPAN: Final = "SENTRIAL_DEFER_ROOT_SPAN"
"""``false`` starts a session's root span when the session begins. When on (the default) and
the tracer is the SDK's, the root is handed to the SDK when the session ends, backdated to
its begin, so an open session holds no SDK span (processors' ``on_start`` runs at the end)."""
SENTRIAL_DETECT_ISSUES: Final = "SENTRIAL_DETECT_ISSUES"
"""``false`` turns the detectors that judge each session at its end off (default on)."""

SENTRIAL_TOOL_LOOP_REPEATS: Final = "SENTRIAL_TOOL_LOOP_REPEATS"
"""``tool_loop``: calls of one tool with the same arguments in a session (default 3)."""

SENTRIAL_TOOL_ERROR_STREAK: Final = "SENTRIAL_TOOL_ERROR_STREAK"
"""``tool_error_streak``: failed tool calls in a row (default 2)."""

SENTRIAL_LOW_CONFIDENCE: Final = "SENTRIAL_LOW_CONFIDENCE"
"""``low_confidence``: a decision's confidence below this (default 0.5)."""

SENTRIAL_BUDGET_USD: Final = "SENTRIAL_BUDGET_USD"
"""``over_budget``: a session's cost above this, in US dollars (default none: not judged)."""

SENTRIAL_SLOW_STEP_SECONDS: Final = "SENTRIAL_SLOW_STEP_SECONDS"
"""``slow_step``: a step longer than this, in seconds (default none: not judged)."""

SENTRIAL_DIALECTS: Final = "SENTRIAL_DIALECTS"
"""Extra attribute dialects for LLM-observability UIs, comma-separated: ``openinference``
(Arize Phoenix, Langfuse: span kinds, ``input.value``/``output.value``). Default none."""

OTEL_EXPORTER_OTLP_ENDPOINT: Final = "OTEL_EXPORTER_OTLP_ENDPOINT"
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: Final = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
OTEL_EXPORTER_OTLP_PROTOCOL: Final = "OTEL_EXPORTER_OTLP_PROTOCOL"
OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: Final = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
OTEL_EXPORTER_OTLP_HEADERS: Final = "OTEL_EXPORTER_OTLP_HEADERS"
OTEL_EXPORTER_OTLP_TRACES_HEADERS: Final = "OTEL_EXPORTER_OTLP_TRACES_HEADERS"
OTEL_EXPORTER_OTLP_TIMEOUT: Final = "OTEL_EXPORTER_OTLP_TIMEOUT"
OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: Final = "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"
OTEL_EXPORTER_OTLP_COMPRESSION: Final = "OTEL_EXPORTER_OTLP_COMPRESSION"
OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: Final = "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION"
OTEL_TRACES_EXPORTER: Final = "OTEL_TRACES_EXPORTER"
OTEL_LOGS_EXPORTER: Final = "OTEL_LOGS_EXPORTER"
OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: Final = "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"
OTEL_BSP_SCHEDULE_DELAY: Final = "OTEL_BSP_SCHEDULE_DELAY"
OTEL_BSP_MAX_QUEUE_SIZE: Final = "OTEL_BSP_MAX_QUEUE_SIZE"
OTEL_BSP_MAX_EXPORT_BATCH_SIZE: Final = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE"
OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: Final = (
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
)
OTEL_SEMCONV_STABILITY_OPT_IN: Final = "OTEL_SEMCONV_STABILITY_OPT_IN"
# Read by the SDK's TracerProvider (SpanLimits); our spans stay under what it holds.
OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: Final = "OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT"
OTEL_ATTRIBUTE_COUNT_LIMIT: Final = "OTEL_ATTRIBUTE_COUNT_LIMIT"
OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: Final = "OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT"
OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: Final = "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT"
OTEL_SERVICE_NAME: Final = "OTEL_SERVICE_NAME"
OTEL_RESOURCE_ATTRIBUTES: Final = "OTEL_RESOURCE_ATTRIBUTES"
# Read by the SDK's TracerProvider, in one we build and in an application's own.
OTEL_TRACES_SAMPLER: Final = "OTEL_TRACES_SAMPLER"
OTEL_TRACES_SAMPLER_ARG: Final = "OTEL_TRACES_SAMPLER_ARG"

# name -> one-line description, for `sentrial-otel doctor` and the configuration docs.
ALL: Final = {
    SENTRIAL_API_URL: "collector endpoint (wins over OTEL_EXPORTER_OTLP_*ENDPOINT)",
    SENTRIAL_API_KEY: "API key, sent as 'Authorization: Bearer <key>'",
    SENTRIAL_HOME: "local store directory (default ./.sentrial)",
    SENTRIAL_SHUTDOWN_TIMEOUT: "seconds allowed for delivery at exit (default 5)",
    SENTRIAL_MAX_CONTENT_LENGTH: "longest string kept in content attributes (default 16384)",
    SENTRIAL_FAIL_SILENTLY: "'false' makes misuse raise (default true)",
    SENTRIAL_HANDLE_SIGTERM: "'false' keeps our SIGTERM handler out (default true)",
    SENTRIAL_INSTRUMENT_EXECUTORS: "'false' leaves thread and process pools alone (default true)",
    SENTRIAL_DEFER_ROOT_SPAN: "'false' starts a session's root span at begin (default true)",
    SENTRIAL_SOURCE: "where `sentrial-otel sessions` reads: 'local' or 'jaeger=URL' (CLI only)",
    SENTRIAL_DIALECTS: "'openinference' adds the keys Phoenix and Langfuse read (default none)",
    SENTRIAL_DETECT_ISSUES: "'false' turns the session detectors off (default true)",
    SENTRIAL_TOOL_LOOP_REPEATS: "tool_loop: same tool, same arguments, this many times (default 3)",
    SENTRIAL_TOOL_ERROR_STREAK: "tool_error_streak: failed tool calls in a row (default 2)",
    SENTRIAL_LOW_CONFIDENCE: "low_confidence: decision confidence below this (default 0.5)",
    SENTRIAL_BUDGET_USD: "over_budget: session cost above this many USD (default: not judged)",
    SENTRIAL_SLOW_STEP_SECONDS: "slow_step: a step longer than this many seconds (default: not judged)",
    OTEL_EXPORTER_OTLP_ENDPOINT: "base OTLP endpoint ('/v1/traces' added for http)",
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "full OTLP traces endpoint, used as is",
    OTEL_EXPORTER_OTLP_PROTOCOL: "'http/protobuf' (default) or 'grpc'",
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "protocol for traces only",
    OTEL_EXPORTER_OTLP_HEADERS: "extra export headers, 'k1=v1,k2=v2'",
    OTEL_EXPORTER_OTLP_TRACES_HEADERS: "extra export headers for traces only",
    OTEL_EXPORTER_OTLP_TIMEOUT: "seconds per export request, retries included (default 10)",
    OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: "the same, traces only",
    OTEL_EXPORTER_OTLP_COMPRESSION: "'gzip', 'deflate' or 'none' (read by the OTLP exporter)",
    OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: "the same, traces only",
    OTEL_TRACES_EXPORTER: "'otlp', 'console' or 'none' (default: otlp with an endpoint, "
    "else the local store)",
    OTEL_LOGS_EXPORTER: "where scores go: 'otlp', 'console', 'none' or 'store' (default: "
    "where the traces go)",
    OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: "full OTLP logs endpoint for scores, used as is "
    "(default: the traces' endpoint, '/v1/logs' for http)",
    OTEL_BSP_SCHEDULE_DELAY: "batch delay in ms (default 5000)",
    OTEL_BSP_MAX_QUEUE_SIZE: "spans held before dropping (default 2048)",
    OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "spans per export request (default 512)",
    OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: "NO_CONTENT/false turns content "
    "capture off; SPAN_ONLY/SPAN_AND_EVENT/true keep it (default on)",
    OTEL_SEMCONV_STABILITY_OPT_IN: "comma list; gen_ai_latest_experimental emits the GenAI "
    "conventions v0.1.0 (workflow folded into invoke_agent, gen_ai.client.inference.* "
    "metrics)",
    OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: "attributes per span (default 128); metadata and custom "
    "metrics share it less 32, the rest in sentrial.attributes.overflow",
    OTEL_ATTRIBUTE_COUNT_LIMIT: "the same, when the span one is not set",
    OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: "characters per span attribute value; content is "
    "cut inside its JSON to fit",
    OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: "the same for spans and events, when the span one is "
    "not set",
    OTEL_SERVICE_NAME: "service.name of the resource",
    OTEL_RESOURCE_ATTRIBUTES: "extra resource attributes, 'k1=v1,k2=v2'",
    OTEL_TRACES_SAMPLER: "head sampler, e.g. 'parentbased_traceidratio' (default "
    "parentbased_always_on); a session is kept or dropped whole",
    OTEL_TRACES_SAMPLER_ARG: "the sampler's ratio, e.g. '0.25'",
}
