"""Span attributes for each kind of event, exactly as SEMCONV.md lays them out.

Pure functions from arguments to an :class:`Attributes` bag; the caller (sessions.py, the
LangChain handler) starts and ends the spans. Content keys are only written when the policy
captures content. Bad values are repaired here and reported through ``report``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sentrial_otel import semconv as sc
from sentrial_otel._internal.content.encoding import (
    Encoded,
    finite_float,
    non_negative_int,
    primitive_or_json,
)
from sentrial_otel._internal.content.policy import ContentPolicy

Report = Callable[[type[Exception], str], None]


class Attributes:
    """Attribute values on their way to a span, plus whether any content was cut."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.truncated = False

    def put(self, key: str, value: Any) -> None:
        if value is not None:
            self.values[key] = value

    def put_encoded(self, key: str, encoded: Encoded) -> None:
        self.values[key] = encoded.value
        self.truncated = self.truncated or encoded.truncated

    def finish(self) -> dict[str, Any]:
        if self.truncated:
            self.values[sc.SENTRIAL_CONTENT_TRUNCATED] = True
        return self.values


def add_metadata(attrs: Attributes, policy: ContentPolicy, metadata: Any, report: Report) -> None:
    """``sentrial.metadata.<key>``: primitives as they are, anything else as JSON."""
    if metadata is None:
        return
    if not isinstance(metadata, Mapping):
        report(TypeError, f"metadata must be a dict, not {type(metadata).__name__}")
        metadata = {"value": metadata}
    encoder = policy.encoder("metadata")
    for key, value in list(metadata.items())[:64]:
        if value is None:
            continue
        name = str(key)[:128]
        encoded, cut = primitive_or_json(value, encoder)
        attrs.put(sc.SENTRIAL_METADATA_PREFIX + name, encoded)
        attrs.truncated = attrs.truncated or cut


def add_cost_and_tokens(
    attrs: Attributes, cost: Any, token_count: Any, report: Report
) -> tuple[float, int]:
    """``sentrial.cost.usd`` / ``sentrial.usage.total_tokens``; returns the usable values."""
    usable_cost = checked_cost(cost, "estimated_cost", report)
    if usable_cost:
        attrs.put(sc.SENTRIAL_COST_USD, usable_cost)
    tokens = checked_tokens(token_count, "token_count", report)
    if tokens is not None:
        attrs.put(sc.SENTRIAL_USAGE_TOTAL_TOKENS, tokens)
    return usable_cost or 0.0, tokens or 0


def checked_cost(value: Any, name: str, report: Report) -> float | None:
    if value is None:
        return None
    cost = finite_float(value)
    if cost is None or cost < 0:
        report(ValueError, f"{name} must be a finite, non-negative number, got {value!r}")
        return None
    return cost


def checked_tokens(value: Any, name: str, report: Report) -> int | None:
    if value is None:
        return None
    tokens = non_negative_int(value)
    if tokens is None:
        report(ValueError, f"{name} must be a non-negative integer, got {value!r}")
    return tokens


def text_messages(role: str, content: Any, finish_reason: str | None = None) -> list[dict[str, Any]]:
    """One message in the GenAI parts schema holding a single text part."""
    message: dict[str, Any] = {
        "role": role,
        "parts": [{"type": "text", "content": content if isinstance(content, str) else content}],
    }
    if finish_reason is not None:
        message["finish_reason"] = finish_reason
    return [message]


def tool_call(
    policy: ContentPolicy,
    report: Report,
    *,
    tool_name: str,
    agent_name: str | None,
    tool_input: Any = None,
    tool_output: Any = None,
    reasoning: Any = None,
    estimated_cost: Any = None,
    token_count: Any = None,
    tool_error: Any = None,
    call_id: Any = None,
    tool_type: str | None = None,
    description: Any = None,
    metadata: Any = None,
    has_output: bool = True,
) -> tuple[Attributes, float, int]:
    attrs = Attributes()
    attrs.put(sc.GEN_AI_OPERATION_NAME, sc.OP_EXECUTE_TOOL)
    attrs.put(sc.GEN_AI_TOOL_NAME, tool_name)
    attrs.put(sc.GEN_AI_TOOL_TYPE, tool_type or sc.TOOL_TYPE_FUNCTION)
    attrs.put(sc.GEN_AI_AGENT_NAME, agent_name)
    if call_id is not None:
        attrs.put(sc.GEN_AI_TOOL_CALL_ID, str(call_id)[:256])
    if description is not None:
        attrs.put(sc.GEN_AI_TOOL_DESCRIPTION, policy.text("metadata", description).value)
    if policy.capture:
        if tool_input is not None:
            attrs.put_encoded(
                sc.GEN_AI_TOOL_CALL_ARGUMENTS,
                policy.encoder("tool_input").json_object(tool_input, "input"),
            )
        if has_output and tool_error is None and tool_output is not None:
            attrs.put_encoded(sc.GEN_AI_TOOL_CALL_RESULT, tool_result(policy, tool_output))
        if reasoning is not None:
            attrs.put_encoded(sc.SENTRIAL_TOOL_REASONING, policy.text("reasoning", reasoning))
        if tool_error is not None:
            attrs.put_encoded(sc.SENTRIAL_TOOL_ERROR, policy.json("error", tool_error))
    cost, tokens = add_cost_and_tokens(attrs, estimated_cost, token_count, report)
    add_metadata(attrs, policy, metadata, report)
    return attrs, cost, tokens


def tool_result(policy: ContentPolicy, result: Any) -> Encoded:
    """``gen_ai.tool.call.result``: a JSON object (non-dict results wrapped as ``{"result": v}``)."""
    return policy.encoder("tool_output").json_object(result, "result")


def set_tool_result(span: Any, policy: ContentPolicy, result: Any) -> None:
    """Set a finished tool call's result on its span (content: only when captured)."""
    if not policy.capture or result is None:
        return
    encoded = tool_result(policy, result)
    span.set_attribute(sc.GEN_AI_TOOL_CALL_RESULT, encoded.value)
    if encoded.truncated:
        span.set_attribute(sc.SENTRIAL_CONTENT_TRUNCATED, True)


def tool_error_details(tool_error: Any) -> tuple[str, str]:
    """(error.type, message) of a ``tool_error`` dict, string or exception."""
    if isinstance(tool_error, BaseException):
        return type(tool_error).__qualname__, str(tool_error)
    if isinstance(tool_error, Mapping):
        kind = tool_error.get("type") or tool_error.get("error_type")
        message = tool_error.get("message") or tool_error.get("error") or ""
        return (str(kind)[:128] if kind else sc.ERROR_TYPE_TOOL_ERROR), str(message)
    return sc.ERROR_TYPE_TOOL_ERROR, str(tool_error)


def decision(
    policy: ContentPolicy,
    report: Report,
    *,
    agent_name: str | None,
    reasoning: Any,
    alternatives: Any = None,
    confidence: Any = None,
    chosen: Any = None,
    estimated_cost: Any = None,
    token_count: Any = None,
    metadata: Any = None,
) -> tuple[Attributes, float, int]:
    attrs = Attributes()
    attrs.put(sc.SENTRIAL_SPAN_KIND, sc.SPAN_KIND_DECISION)
    attrs.put(sc.GEN_AI_AGENT_NAME, agent_name)
    if policy.capture:
        if reasoning is not None:
            attrs.put_encoded(sc.SENTRIAL_DECISION_REASONING, policy.text("reasoning", reasoning))
        if alternatives is not None:
            values, cut = policy.encoder("reasoning").strings(alternatives)
            if values:
                attrs.put(sc.SENTRIAL_DECISION_ALTERNATIVES, values)
            attrs.truncated = attrs.truncated or cut
        if chosen is not None:
            attrs.put_encoded(sc.SENTRIAL_DECISION_CHOSEN, policy.text("reasoning", chosen))
    if confidence is not None:
        value = finite_float(confidence)
        if value is None or not 0.0 <= value <= 1.0:
            report(ValueError, f"confidence must be a number in [0, 1], got {confidence!r}")
        else:
            attrs.put(sc.SENTRIAL_DECISION_CONFIDENCE, value)
    cost, tokens = add_cost_and_tokens(attrs, estimated_cost, token_count, report)
    add_metadata(attrs, policy, metadata, report)
    return attrs, cost, tokens


_REQUEST_PARAMS = {
    "temperature": sc.GEN_AI_REQUEST_TEMPERATURE,
    "max_tokens": sc.GEN_AI_REQUEST_MAX_TOKENS,
    "top_p": sc.GEN_AI_REQUEST_TOP_P,
    "top_k": sc.GEN_AI_REQUEST_TOP_K,
    "frequency_penalty": sc.GEN_AI_REQUEST_FREQUENCY_PENALTY,
    "presence_penalty": sc.GEN_AI_REQUEST_PRESENCE_PENALTY,
    "seed": sc.GEN_AI_REQUEST_SEED,
}


def llm_start(
    *,
    operation: str,
    provider: str,
    request_model: str,
    agent_name: str | None = None,
    stream: bool = False,
    params: Mapping[str, Any] | None = None,
) -> Attributes:
    """The attributes an LLM span needs when it starts (samplers read these)."""
    attrs = Attributes()
    attrs.put(sc.GEN_AI_OPERATION_NAME, operation)
    attrs.put(sc.GEN_AI_PROVIDER_NAME, provider)
    attrs.put(sc.GEN_AI_REQUEST_MODEL, request_model)
    attrs.put(sc.GEN_AI_AGENT_NAME, agent_name)
    if stream:
        attrs.put(sc.GEN_AI_REQUEST_STREAM, True)
    for name, value in (params or {}).items():
        key = _REQUEST_PARAMS.get(name)
        if key is None or value is None or isinstance(value, bool):
            if name == "stop" and value:
                stops = [value] if isinstance(value, str) else [str(v) for v in value]
                attrs.put(sc.GEN_AI_REQUEST_STOP_SEQUENCES, stops)
            continue
        if isinstance(value, (int, float)) and math.isfinite(value):
            attrs.put(key, value)
    return attrs


def as_messages(value: Any, default_role: str) -> Any:
    """Messages in the parts schema: a plain string becomes one text message."""
    if value is None:
        return None
    if isinstance(value, str):
        return text_messages(default_role, value)
    if isinstance(value, Mapping) and "role" in value:
        return [_normalise_message(value, default_role)]
    if isinstance(value, Iterable) and not isinstance(value, (bytes, Mapping)):
        return [
            _normalise_message(item, default_role) if isinstance(item, Mapping) else item
            for item in value
        ]
    return text_messages(default_role, value)


def with_finish_reason(messages: Any, reason: str) -> Any:
    """Output messages, each with a finish reason (its own, else ``reason``)."""
    if not isinstance(messages, list):
        return messages
    return [
        {**m, "finish_reason": m.get("finish_reason") or reason} if isinstance(m, dict) else m
        for m in messages
    ]


def _normalise_message(message: Mapping[str, Any], default_role: str) -> dict[str, Any]:
    """Accept OpenAI-style ``{"role", "content"}`` as well as the parts schema."""
    if "parts" in message:
        return dict(message)
    out = {k: v for k, v in message.items() if k != "content"}
    out.setdefault("role", default_role)
    content = message.get("content")
    out["parts"] = (
        [{"type": "text", "content": content}] if content is not None else []
    )
    return out


def llm_end(
    attrs: Attributes,
    policy: ContentPolicy,
    report: Report,
    *,
    response_model: Any = None,
    input_messages: Any = None,
    output: Any = None,
    system_instructions: Any = None,
    input_tokens: Any = None,
    output_tokens: Any = None,
    cache_read_tokens: Any = None,
    reasoning_tokens: Any = None,
    finish_reasons: Any = None,
    cost: float | None = None,
    response_id: Any = None,
    time_to_first_chunk: Any = None,
) -> tuple[int | None, int | None]:
    """Add the outcome of an LLM call; returns the usable (input, output) token counts."""
    if response_model is not None:
        attrs.put(sc.GEN_AI_RESPONSE_MODEL, str(response_model)[:256])
    if response_id is not None:
        attrs.put(sc.GEN_AI_RESPONSE_ID, str(response_id)[:256])
    tokens_in = checked_tokens(input_tokens, "prompt_tokens", report)
    tokens_out = checked_tokens(output_tokens, "completion_tokens", report)
    attrs.put(sc.GEN_AI_USAGE_INPUT_TOKENS, tokens_in)
    attrs.put(sc.GEN_AI_USAGE_OUTPUT_TOKENS, tokens_out)
    attrs.put(
        sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
        checked_tokens(cache_read_tokens, "cache_read_tokens", report),
    )
    attrs.put(
        sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
        checked_tokens(reasoning_tokens, "reasoning_tokens", report),
    )
    reasons: list[str] = []
    if finish_reasons is not None:
        items = [finish_reasons] if isinstance(finish_reasons, str) else finish_reasons
        try:
            reasons = [str(item)[:64] for item in items if item is not None]
        except TypeError:
            reasons = [str(finish_reasons)[:64]]
        if reasons:
            attrs.put(sc.GEN_AI_RESPONSE_FINISH_REASONS, reasons)
    if cost:
        attrs.put(sc.SENTRIAL_COST_USD, cost)
    ttfc = finite_float(time_to_first_chunk)
    if ttfc is not None and ttfc >= 0:
        attrs.put(sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK, ttfc)
    if policy.capture:
        if system_instructions is not None:
            parts = (
                [{"type": "text", "content": system_instructions}]
                if isinstance(system_instructions, str)
                else system_instructions
            )
            attrs.put_encoded(sc.GEN_AI_SYSTEM_INSTRUCTIONS, policy.json("llm_input", parts))
        if input_messages is not None:
            attrs.put_encoded(
                sc.GEN_AI_INPUT_MESSAGES,
                policy.json("llm_input", as_messages(input_messages, sc.ROLE_USER)),
            )
        if output is not None:
            default_reason = reasons[0] if reasons else sc.FINISH_REASON_STOP
            if isinstance(output, str):  # the common case: one text message
                messages = text_messages(sc.ROLE_ASSISTANT, output, default_reason)
            else:
                messages = with_finish_reason(as_messages(output, sc.ROLE_ASSISTANT), default_reason)
            attrs.put_encoded(sc.GEN_AI_OUTPUT_MESSAGES, policy.json("llm_output", messages))
    return tokens_in, tokens_out
