"""Every span name part, attribute key and value this project writes, as literals.

The OpenTelemetry GenAI conventions are still "Development" stability and their Python
constants moved packages more than once, so we keep our own literals here (SEMCONV.md is
the normative table) and pin tests to them. Keys under ``sentrial.*`` are ours; we never
invent keys under ``gen_ai.*``.
"""

from __future__ import annotations

from typing import Final

# --- Operation names (gen_ai.operation.name values) -------------------------------------
OP_INVOKE_AGENT: Final = "invoke_agent"
OP_INVOKE_WORKFLOW: Final = "invoke_workflow"
OP_EXECUTE_TOOL: Final = "execute_tool"
OP_CHAT: Final = "chat"
OP_TEXT_COMPLETION: Final = "text_completion"
OP_EMBEDDINGS: Final = "embeddings"
OP_RETRIEVAL: Final = "retrieval"
LLM_OPERATIONS: Final = frozenset({OP_CHAT, OP_TEXT_COMPLETION, OP_EMBEDDINGS})

# Decision spans carry no gen_ai.operation.name (no standard operation exists); this is the
# first word of their span name.
DECISION_SPAN_NAME: Final = "decision"

# --- OpenTelemetry GenAI attributes ------------------------------------------------------
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_AGENT_NAME: Final = "gen_ai.agent.name"
GEN_AI_AGENT_ID: Final = "gen_ai.agent.id"
GEN_AI_WORKFLOW_NAME: Final = "gen_ai.workflow.name"
GEN_AI_CONVERSATION_ID: Final = "gen_ai.conversation.id"
GEN_AI_INPUT_MESSAGES: Final = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
GEN_AI_SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"
GEN_AI_TOOL_DEFINITIONS: Final = "gen_ai.tool.definitions"

GEN_AI_TOOL_NAME: Final = "gen_ai.tool.name"
GEN_AI_TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
GEN_AI_TOOL_TYPE: Final = "gen_ai.tool.type"
GEN_AI_TOOL_DESCRIPTION: Final = "gen_ai.tool.description"
GEN_AI_TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"
GEN_AI_TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"
TOOL_TYPE_FUNCTION: Final = "function"

GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
GEN_AI_RESPONSE_ID: Final = "gen_ai.response.id"
GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
GEN_AI_REQUEST_STREAM: Final = "gen_ai.request.stream"
GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.response.time_to_first_chunk"
GEN_AI_REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
GEN_AI_REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
GEN_AI_REQUEST_TOP_P: Final = "gen_ai.request.top_p"
GEN_AI_REQUEST_TOP_K: Final = "gen_ai.request.top_k"
GEN_AI_REQUEST_FREQUENCY_PENALTY: Final = "gen_ai.request.frequency_penalty"
GEN_AI_REQUEST_PRESENCE_PENALTY: Final = "gen_ai.request.presence_penalty"
GEN_AI_REQUEST_STOP_SEQUENCES: Final = "gen_ai.request.stop_sequences"
GEN_AI_REQUEST_SEED: Final = "gen_ai.request.seed"

GEN_AI_USAGE_PREFIX: Final = "gen_ai.usage."
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"
# Cache writes. semantic-conventions-genai renamed the core registry's
# gen_ai.usage.cache_creation.input_tokens to this (PR #440); opentelemetry-util-genai 1.3b0
# emits this name only, so both of our modes do (docs/attributes.md).
GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: Final = "gen_ai.usage.cache_write.input_tokens"
# The token breakdowns an LLM span may carry, by the suffix after "gen_ai.usage.": a
# session's root sums each as "sentrial.session.usage.<suffix>" (SESSION_USAGE_PREFIX).
USAGE_CACHE_READ: Final = "cache_read.input_tokens"
USAGE_CACHE_WRITE: Final = "cache_write.input_tokens"
USAGE_REASONING: Final = "reasoning.output_tokens"

GEN_AI_DATA_SOURCE_ID: Final = "gen_ai.data_source.id"
GEN_AI_RETRIEVAL_QUERY_TEXT: Final = "gen_ai.retrieval.query.text"
GEN_AI_RETRIEVAL_DOCUMENTS: Final = "gen_ai.retrieval.documents"

GEN_AI_TOKEN_TYPE: Final = "gen_ai.token.type"
GEN_AI_TOKEN_MODALITY: Final = "gen_ai.token.modality"
TOKEN_MODALITY_UNKNOWN: Final = "unknown"

# Scores: the gen_ai.evaluation.result log record (SEMCONV.md "Scores and feedback").
GEN_AI_EVALUATION_RESULT_EVENT: Final = "gen_ai.evaluation.result"
GEN_AI_EVALUATION_NAME: Final = "gen_ai.evaluation.name"
GEN_AI_EVALUATION_SCORE_VALUE: Final = "gen_ai.evaluation.score.value"
GEN_AI_EVALUATION_SCORE_LABEL: Final = "gen_ai.evaluation.score.label"
GEN_AI_EVALUATION_EXPLANATION: Final = "gen_ai.evaluation.explanation"

# --- General OpenTelemetry attributes ----------------------------------------------------
USER_ID: Final = "user.id"
SESSION_ID: Final = "session.id"
ERROR_TYPE: Final = "error.type"
EXCEPTION_EVENT: Final = "exception"
EXCEPTION_TYPE: Final = "exception.type"
EXCEPTION_MESSAGE: Final = "exception.message"
EXCEPTION_STACKTRACE: Final = "exception.stacktrace"

# --- MCP (OpenTelemetry's MCP conventions) -----------------------------------------------
MCP_METHOD_NAME: Final = "mcp.method.name"
JSONRPC_REQUEST_ID: Final = "jsonrpc.request.id"
RPC_RESPONSE_STATUS_CODE: Final = "rpc.response.status_code"
MCP_TOOLS_CALL: Final = "tools/call"
# error.type of a tools/call whose result says isError (the MCP conventions' value).
ERROR_TYPE_MCP_TOOL_ERROR: Final = "tool_error"
# gen_ai.tool.type of a tool served by another process over MCP.
TOOL_TYPE_EXTENSION: Final = "extension"

# --- OpenInference (the "openinference" dialect: Arize Phoenix, Langfuse) ------------------
OI_SPAN_KIND: Final = "openinference.span.kind"
OI_INPUT_VALUE: Final = "input.value"
OI_INPUT_MIME_TYPE: Final = "input.mime_type"
OI_OUTPUT_VALUE: Final = "output.value"
OI_OUTPUT_MIME_TYPE: Final = "output.mime_type"
OI_KIND_AGENT: Final = "AGENT"
OI_KIND_TOOL: Final = "TOOL"
OI_KIND_LLM: Final = "LLM"
OI_KIND_EMBEDDING: Final = "EMBEDDING"
OI_KIND_RETRIEVER: Final = "RETRIEVER"
OI_KIND_CHAIN: Final = "CHAIN"
OI_MIME_JSON: Final = "application/json"
OI_MIME_TEXT: Final = "text/plain"

# --- sentrial.* attributes (no standard key exists) --------------------------------------
SENTRIAL_SESSION_ID: Final = "sentrial.session.id"
SENTRIAL_SESSION_NAME: Final = "sentrial.session.name"
SENTRIAL_SESSION_PARENT_ID: Final = "sentrial.session.parent_id"
SENTRIAL_SESSION_SUCCESS: Final = "sentrial.session.success"
SENTRIAL_SESSION_FAILURE_REASON: Final = "sentrial.session.failure_reason"
SENTRIAL_SESSION_COST_USD: Final = "sentrial.session.cost.usd"
SENTRIAL_SESSION_INPUT_TOKENS: Final = "sentrial.session.usage.input_tokens"
SENTRIAL_SESSION_OUTPUT_TOKENS: Final = "sentrial.session.usage.output_tokens"
SENTRIAL_SESSION_TOTAL_TOKENS: Final = "sentrial.session.usage.total_tokens"
# + a USAGE_* suffix: the session's cache and reasoning token totals (never gen_ai.usage.*
# on the root: backends would count them twice).
SESSION_USAGE_PREFIX: Final = "sentrial.session.usage."
SENTRIAL_SESSION_ABANDONED: Final = "sentrial.session.abandoned"
SENTRIAL_SESSION_DURATION_MS: Final = "sentrial.session.duration_ms"
# On the sentrial.sessions metric: success / failed / abandoned.
SENTRIAL_SESSION_OUTCOME: Final = "sentrial.session.outcome"
SENTRIAL_METADATA_PREFIX: Final = "sentrial.metadata."
SENTRIAL_METRIC_PREFIX: Final = "sentrial.metric."
SENTRIAL_STATE_PREFIX: Final = "sentrial.state."
SENTRIAL_SPAN_KIND: Final = "sentrial.span.kind"
SENTRIAL_CONTENT_TRUNCATED: Final = "sentrial.content.truncated"
# The metadata and custom metrics that did not fit the span's attribute count limit, as one
# JSON object {attribute key: value}, and the flag that says some did not.
SENTRIAL_ATTRIBUTES_OVERFLOW: Final = "sentrial.attributes.overflow"
SENTRIAL_ATTRIBUTES_TRUNCATED: Final = "sentrial.attributes.truncated"

SENTRIAL_COST_USD: Final = "sentrial.cost.usd"
SENTRIAL_USAGE_TOTAL_TOKENS: Final = "sentrial.usage.total_tokens"
# An LLM span whose model reported no token usage says so instead of writing 0.
SENTRIAL_USAGE_UNKNOWN: Final = "sentrial.usage.unknown"
# LangChain runs kept as plain INTERNAL spans (graph nodes; plumbing chains when asked for).
SENTRIAL_LANGCHAIN_RUN_TYPE: Final = "sentrial.langchain.run_type"
# A LangGraph run that paused on an interrupt (interrupt(), interrupt_before/after), and the
# node span the interrupt ended: control flow, so no error status.
SENTRIAL_LANGCHAIN_INTERRUPTED: Final = "sentrial.langchain.interrupted"
# A streaming run whose consumer stopped reading before the end (break, close()): no error.
SENTRIAL_STREAM_CONSUMER_STOPPED: Final = "sentrial.stream.consumer_stopped"

SENTRIAL_TOOL_REASONING: Final = "sentrial.tool.reasoning"
SENTRIAL_TOOL_ERROR: Final = "sentrial.tool.error"

SENTRIAL_DECISION_REASONING: Final = "sentrial.decision.reasoning"
SENTRIAL_DECISION_ALTERNATIVES: Final = "sentrial.decision.alternatives"
SENTRIAL_DECISION_CHOSEN: Final = "sentrial.decision.chosen"
SENTRIAL_DECISION_CONFIDENCE: Final = "sentrial.decision.confidence"

# Detected issues, on the session root (SEMCONV.md "Detected issues").
SENTRIAL_SESSION_ISSUES: Final = "sentrial.session.issues"
SENTRIAL_SESSION_ISSUE_COUNT: Final = "sentrial.session.issue_count"
SENTRIAL_ISSUE_EVENT: Final = "sentrial.issue"
SENTRIAL_ISSUE_KIND: Final = "sentrial.issue.kind"
SENTRIAL_ISSUE_SPAN_ID: Final = "sentrial.issue.span_id"
SENTRIAL_ISSUE_DETAIL: Final = "sentrial.issue.detail"

# --- Values ------------------------------------------------------------------------------
SPAN_KIND_DECISION: Final = "decision"
ERROR_TYPE_SESSION_FAILED: Final = "sentrial.session_failed"
ERROR_TYPE_TOOL_ERROR: Final = "sentrial.tool_error"
ERROR_TYPE_ABANDONED: Final = "sentrial.abandoned"
ERROR_TYPE_OTHER: Final = "_OTHER"

FINISH_REASON_STOP: Final = "stop"
ROLE_USER: Final = "user"
ROLE_ASSISTANT: Final = "assistant"
ROLE_SYSTEM: Final = "system"
ROLE_TOOL: Final = "tool"

# --- Metrics -----------------------------------------------------------------------------
METRIC_TOKEN_USAGE: Final = "gen_ai.client.token.usage"
METRIC_OPERATION_DURATION: Final = "gen_ai.client.operation.duration"
METRIC_TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.operation.time_to_first_chunk"
METRIC_INVOKE_AGENT_DURATION: Final = "gen_ai.invoke_agent.duration"
METRIC_EXECUTE_TOOL_DURATION: Final = "gen_ai.execute_tool.duration"
METRIC_SESSIONS: Final = "sentrial.sessions"
METRIC_COST: Final = "sentrial.cost.usd"

# GenAI conventions v0.1.0 (semantic-conventions-genai): recorded next to the ones above
# with OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental.
SEMCONV_OPT_IN_GENAI_LATEST: Final = "gen_ai_latest_experimental"
METRIC_INFERENCE_DURATION: Final = "gen_ai.client.inference.duration"
METRIC_INFERENCE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.inference.time_to_first_chunk"
METRIC_INFERENCE_OPERATION_INPUT_TOKENS: Final = "gen_ai.client.inference.operation.input_tokens"
METRIC_INFERENCE_OPERATION_OUTPUT_TOKENS: Final = "gen_ai.client.inference.operation.output_tokens"
# Counters, one per token kind: this prefix + "input_tokens", "output_tokens" or a USAGE_*.
METRIC_INFERENCE_USAGE_PREFIX: Final = "gen_ai.client.inference.usage."

TOKEN_USAGE_BUCKETS: Final = (
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216,
    67108864,
)
OPERATION_DURATION_BUCKETS: Final = (
    0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
)
AGENT_DURATION_BUCKETS: Final = (
    0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2, 102.4, 204.8, 409.6,
)

# Keys whose values are user content: absent when content capture is off.
CONTENT_KEYS: Final = frozenset(
    {
        GEN_AI_INPUT_MESSAGES,
        GEN_AI_OUTPUT_MESSAGES,
        GEN_AI_SYSTEM_INSTRUCTIONS,
        GEN_AI_TOOL_DEFINITIONS,
        GEN_AI_TOOL_CALL_ARGUMENTS,
        GEN_AI_TOOL_CALL_RESULT,
        GEN_AI_RETRIEVAL_QUERY_TEXT,
        GEN_AI_RETRIEVAL_DOCUMENTS,
        SENTRIAL_TOOL_REASONING,
        SENTRIAL_TOOL_ERROR,
        SENTRIAL_DECISION_REASONING,
        SENTRIAL_DECISION_ALTERNATIVES,
        SENTRIAL_DECISION_CHOSEN,
        OI_INPUT_VALUE,
        OI_OUTPUT_VALUE,
    }
)

# Keys of log records (scores) whose values are user content: absent when capture is off.
LOG_CONTENT_KEYS: Final = frozenset({GEN_AI_EVALUATION_EXPLANATION})

# --- Keys other instrumentations write, read by the session roll-up ---------------------
# (SEMCONV.md "Spans of other instrumentations inside a session"; never written by us.)
OP_GENERATE_CONTENT: Final = "generate_content"
# Operations whose spans are one call to a model (their usage counts in a session's totals).
INFERENCE_OPERATIONS: Final = frozenset({*LLM_OPERATIONS, OP_GENERATE_CONTENT})
GEN_AI_SYSTEM: Final = "gen_ai.system"  # the provider key before gen_ai.provider.name
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: Final = "gen_ai.usage.cache_creation.input_tokens"
# Older OpenLLMetry releases.
GEN_AI_USAGE_PROMPT_TOKENS: Final = "gen_ai.usage.prompt_tokens"
GEN_AI_USAGE_COMPLETION_TOKENS: Final = "gen_ai.usage.completion_tokens"
GEN_AI_USAGE_REASONING_TOKENS: Final = "gen_ai.usage.reasoning_tokens"
GEN_AI_USAGE_COST: Final = "gen_ai.usage.cost"  # Langfuse's de facto key
# OpenInference (Arize Phoenix) keys we read on other instrumentations' LLM spans (their
# kind: OI_SPAN_KIND == OI_KIND_LLM, the dialect's names above).
LLM_TOKEN_COUNT_PROMPT: Final = "llm.token_count.prompt"
LLM_TOKEN_COUNT_COMPLETION: Final = "llm.token_count.completion"
LLM_TOKEN_COUNT_CACHE_READ: Final = "llm.token_count.prompt_details.cache_read"
LLM_TOKEN_COUNT_CACHE_WRITE: Final = "llm.token_count.prompt_details.cache_write"
LLM_TOKEN_COUNT_REASONING: Final = "llm.token_count.completion_details.reasoning"
LLM_MODEL_NAME: Final = "llm.model_name"
LLM_PROVIDER: Final = "llm.provider"
LLM_SYSTEM: Final = "llm.system"
LLM_COST_TOTAL: Final = "llm.cost.total"
# Our LLM span of a call another instrumentation's span (its child) also describes: the
# usage is on that span, so backends that sum gen_ai.usage.* count the call once.
SENTRIAL_USAGE_ON_CHILD: Final = "sentrial.usage.on_child"
