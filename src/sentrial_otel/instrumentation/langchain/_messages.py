"""LangChain objects -> the GenAI shapes of SEMCONV.md (messages as parts, usage, documents).

Pure functions that read LangChain objects by attribute (duck typing), so they work across
``langchain-core`` versions and never import LangChain themselves. Each returns plain
Python values; encoding, truncation and redaction happen later in ``ContentPolicy``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

from sentrial_otel import semconv as sc
from sentrial_otel._internal.spans.attributes import text_messages, text_part
from sentrial_otel._internal.spans.pricing import infer_provider

# LangChain message ``type`` -> GenAI role.
_ROLES = {
    "human": sc.ROLE_USER,
    "user": sc.ROLE_USER,
    "ai": sc.ROLE_ASSISTANT,
    "assistant": sc.ROLE_ASSISTANT,
    "AIMessageChunk": sc.ROLE_ASSISTANT,
    "system": sc.ROLE_SYSTEM,
    "developer": sc.ROLE_SYSTEM,
    "tool": sc.ROLE_TOOL,
    "function": sc.ROLE_TOOL,
}

# LangSmith's ``ls_provider`` (set by every LangChain chat model) -> gen_ai.provider.name.
_PROVIDERS = {
    "openai": "openai",
    "azure": "azure.ai.openai",
    "azure_openai": "azure.ai.openai",
    "anthropic": "anthropic",
    "google_genai": "gcp.gemini",
    "google_vertexai": "gcp.vertex_ai",
    "google_anthropic_vertex": "gcp.vertex_ai",
    "bedrock": "aws.bedrock",
    "amazon_bedrock": "aws.bedrock",
    "bedrock_converse": "aws.bedrock",
    "mistral": "mistral_ai",
    "mistralai": "mistral_ai",
    "cohere": "cohere",
    "groq": "groq",
    "deepseek": "deepseek",
    "xai": "x_ai",
    "perplexity": "perplexity",
    "ibm": "ibm.watsonx.ai",
}


def _is_mapping(value: Any) -> TypeGuard[Mapping[Any, Any]]:
    """``isinstance(value, Mapping)``, a plain dict by its exact type first: the ABC's check
    costs a microsecond, and LangChain hands us dicts on every call."""
    return type(value) is dict or isinstance(value, Mapping)


def provider_name(metadata: Mapping[str, Any], model: str) -> str:
    """``gen_ai.provider.name`` from LangChain's ``ls_provider``, else from the model name."""
    raw = metadata.get("ls_provider")
    if isinstance(raw, str) and raw:
        lowered = raw.lower()
        return _PROVIDERS.get(lowered, lowered)
    return infer_provider(model) or "unknown"


def request_model(metadata: Mapping[str, Any], params: Mapping[str, Any], serialized: Any) -> str:
    """The requested model: LangChain's ``ls_model_name``, invocation params, constructor."""
    value = metadata.get("ls_model_name")
    if type(value) is str and value:  # what every LangChain chat model reports
        return value[:256]
    candidates: list[Any] = [value]
    for key in ("model", "model_name", "model_id", "deployment_name"):
        candidates.append(params.get(key))
    kwargs = serialized.get("kwargs") if _is_mapping(serialized) else None
    if _is_mapping(kwargs):
        candidates.extend(kwargs.get(key) for key in ("model", "model_name", "model_id"))
    for value in candidates:
        if isinstance(value, str) and value:
            return value[:256]
    return "unknown"


def request_params(metadata: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """Request parameters by their OpenAI-style names (what ``events.llm_start`` reads)."""
    out = {
        name: params.get(name)
        for name in ("temperature", "max_tokens", "top_p", "top_k", "frequency_penalty",
                     "presence_penalty", "seed", "stop")
    }
    out["temperature"] = out["temperature"] if out["temperature"] is not None else metadata.get(
        "ls_temperature"
    )
    out["max_tokens"] = out["max_tokens"] if out["max_tokens"] is not None else metadata.get(
        "ls_max_tokens"
    )
    if out["max_tokens"] is None:
        out["max_tokens"] = params.get("max_completion_tokens")
    if not out["stop"]:
        out["stop"] = metadata.get("ls_stop")
    return {k: v for k, v in out.items() if v is not None}


# --- messages -----------------------------------------------------------------------------
def _content_parts(content: Any) -> list[dict[str, Any]]:
    """A message's ``content`` (a string or a list of content blocks) as GenAI parts."""
    if type(content) is str:  # the common case first: no ABC checks
        return [{"type": "text", "content": content}] if content else []
    if content is None or content == "":
        return []
    if isinstance(content, str):
        return [text_part(content)]
    if isinstance(content, Sequence) and not isinstance(content, (bytes, bytearray)):
        parts: list[dict[str, Any]] = []
        for block in content:
            if isinstance(block, str):
                parts.append(text_part(block))
            elif _is_mapping(block):
                kind = block.get("type")
                if kind == "text":
                    parts.append(text_part(block.get("text", "")))
                elif kind in ("reasoning", "thinking"):
                    text = block.get("reasoning") or block.get("thinking") or block.get("text")
                    parts.append({"type": "reasoning", "content": text or ""})
                elif kind in ("tool_use", "tool_call", "function_call"):
                    # Providers echo tool calls in content too; tool_calls carries them.
                    continue
                else:
                    parts.append(dict(block))
            else:
                parts.append(text_part(str(block)))
        return parts
    return [text_part(str(content))]


def message_parts(message: Any) -> dict[str, Any]:
    """One LangChain ``BaseMessage`` (or a plain dict) as a GenAI message."""
    # A message's type first: every LangChain message has one, a plain dict none, and the
    # Mapping check (an ABC's) costs a quarter of a message's conversion.
    given = getattr(message, "type", None) if type(message) is not dict else None
    if given is None and isinstance(message, Mapping):
        role = _ROLES.get(str(message.get("role") or message.get("type")), sc.ROLE_USER)
        return {"role": role, "parts": _content_parts(message.get("content"))}
    kind: str = "human" if given is None else given if type(given) is str else str(given)
    role = _ROLES.get(kind) or (
        kind if kind in ("user", "assistant", "system", "tool") else sc.ROLE_USER
    )
    if kind == "chat":
        role = str(getattr(message, "role", sc.ROLE_USER))
    content = getattr(message, "content", None)
    if role == sc.ROLE_TOOL:
        part: dict[str, Any] = {"type": "tool_call_response", "response": content}
        call_id = getattr(message, "tool_call_id", None)
        if call_id:
            part["id"] = call_id
        return {"role": role, "parts": [part]}
    parts = _content_parts(content)
    if role != sc.ROLE_ASSISTANT:
        # Only AI messages carry tool calls; asking a pydantic message for an attribute it
        # lacks goes through its __getattr__ and a raised AttributeError.
        return {"role": role, "parts": parts}
    for call in getattr(message, "tool_calls", None) or []:
        parts.append(
            {
                "type": "tool_call",
                "id": call.get("id"),
                "name": call.get("name"),
                "arguments": call.get("args"),
            }
        )
    return {"role": role, "parts": parts}


def finish_reason(generation: Any) -> str | None:
    """A generation's finish reason, wherever the provider put it."""
    for source in (
        getattr(generation, "generation_info", None),
        getattr(getattr(generation, "message", None), "response_metadata", None),
    ):
        if _is_mapping(source):
            for key in ("finish_reason", "stop_reason", "done_reason"):
                value = source.get(key)
                if isinstance(value, str) and value:
                    return value
    message = getattr(generation, "message", None)
    if getattr(message, "tool_calls", None):
        return "tool_calls"
    return None


def output_messages(generations: Sequence[Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """(output messages with finish reasons, the finish reasons) of one prompt's generations."""
    messages: list[dict[str, Any]] = []
    reasons: list[str] = []
    for generation in generations:
        reason = finish_reason(generation) or sc.FINISH_REASON_STOP
        reasons.append(reason)
        message = getattr(generation, "message", None)
        if message is not None:
            converted = message_parts(message)
            converted["role"] = sc.ROLE_ASSISTANT
        else:
            converted = {
                "role": sc.ROLE_ASSISTANT,
                "parts": _content_parts(getattr(generation, "text", "")),
            }
        converted["finish_reason"] = reason
        messages.append(converted)
    return messages, reasons


# --- conversation ----------------------------------------------------------------------
# Where a run's conversation id is, in order: LangGraph copies a checkpointer's thread_id
# into every run's metadata; session_id / conversation_id are what applications set (the
# same keys, in the same order, as opentelemetry-instrumentation-genai-langchain 1.3b0).
CONVERSATION_ID_KEYS = ("thread_id", "session_id", "conversation_id")


def conversation_id(metadata: Mapping[str, Any] | None) -> str | None:
    """The conversation a run belongs to, from its metadata (inherited by child runs)."""
    if not metadata:
        return None
    for key in CONVERSATION_ID_KEYS:
        value = metadata.get(key)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and value != "":
            return str(value)[:256]
    return None


# --- usage --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Usage:
    """Token counts one LLM call reported; None means "not reported", never 0."""

    input_tokens: int | None = None
    """All input tokens, cached ones included (LangChain's ``input_tokens``)."""
    output_tokens: int | None = None
    """All output tokens, reasoning included."""
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None

    @property
    def known(self) -> bool:
        return self.input_tokens is not None or self.output_tokens is not None


def _int(value: Any) -> int | None:
    if type(value) is int:  # the common cases, without the two isinstance checks
        return value if value >= 0 else None
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value


def usage_of(response: Any) -> Usage:
    """Token usage of an ``LLMResult``: the messages' ``usage_metadata`` (summed over the
    generations; for a stream this is the aggregate of the chunks, so the final chunk's
    usage), else the provider's ``llm_output`` ``token_usage``.

    ``usage_metadata`` breaks the input down in ``input_token_details`` (``cache_read``,
    ``cache_creation``: what langchain-anthropic and langchain-openai report) and the
    output in ``output_token_details`` (``reasoning``)."""
    totals: dict[str, int] = {}
    found = False
    for generations in getattr(response, "generations", None) or []:
        for generation in generations:
            usage = getattr(getattr(generation, "message", None), "usage_metadata", None)
            if not _is_mapping(usage):
                continue
            found = True
            details_in = usage.get("input_token_details") or {}
            details_out = usage.get("output_token_details") or {}
            for key, value in (
                ("input", usage.get("input_tokens")),
                ("output", usage.get("output_tokens")),
                ("cache_read", details_in.get("cache_read")),
                ("cache_write", details_in.get("cache_creation")),
                ("reasoning", details_out.get("reasoning")),
            ):
                number = _int(value)
                if number is not None:
                    totals[key] = totals.get(key, 0) + number
    if found:
        return Usage(
            totals.get("input"), totals.get("output"), totals.get("cache_read"),
            totals.get("cache_write"), totals.get("reasoning"),
        )
    output = getattr(response, "llm_output", None)
    if _is_mapping(output):
        raw = output.get("token_usage") or output.get("usage")
        if isinstance(raw, Mapping):
            # OpenAI's shape: the breakdowns under prompt_/completion_tokens_details.
            prompt_details = raw.get("prompt_tokens_details")
            completion_details = raw.get("completion_tokens_details")
            return Usage(
                _int(raw.get("prompt_tokens", raw.get("input_tokens"))),
                _int(raw.get("completion_tokens", raw.get("output_tokens"))),
                cache_read_tokens=_int(prompt_details.get("cached_tokens"))
                if isinstance(prompt_details, Mapping) else None,
                reasoning_tokens=_int(completion_details.get("reasoning_tokens"))
                if isinstance(completion_details, Mapping) else None,
            )
    return Usage()


def response_model(response: Any) -> str | None:
    """The model that answered, as the provider reported it."""
    for generations in getattr(response, "generations", None) or []:
        for generation in generations:
            metadata = getattr(getattr(generation, "message", None), "response_metadata", None)
            if _is_mapping(metadata):
                for key in ("model_name", "model"):
                    if isinstance(metadata.get(key), str) and metadata[key]:
                        return str(metadata[key])
    output = getattr(response, "llm_output", None)
    if _is_mapping(output):
        for key in ("model_name", "model"):
            if isinstance(output.get(key), str) and output[key]:
                return str(output[key])
    return None


def response_id(response: Any) -> str | None:
    """The provider's response id (``response_metadata["id"]``), when it gave one."""
    for generations in getattr(response, "generations", None) or []:
        for generation in generations:
            metadata = getattr(getattr(generation, "message", None), "response_metadata", None)
            if _is_mapping(metadata) and isinstance(metadata.get("id"), str):
                return str(metadata["id"])
    return None


# --- tools, documents, agent state --------------------------------------------------------
def tool_output(output: Any) -> Any:
    """What a tool returned: a ``ToolMessage``'s content (and artifact), else the value."""
    if getattr(output, "type", None) == "tool" and hasattr(output, "content"):
        artifact = getattr(output, "artifact", None)
        if artifact is not None:
            return {"result": output.content, "artifact": artifact}
        return output.content
    return output


def documents(docs: Any) -> list[dict[str, Any]]:
    """Retrieved documents as ``[{"id", "score"?, "content", "metadata"}]``."""
    out: list[dict[str, Any]] = []
    for doc in docs or []:
        metadata = dict(getattr(doc, "metadata", None) or {})
        item: dict[str, Any] = {}
        doc_id = getattr(doc, "id", None) or metadata.get("id")
        if doc_id is not None:
            item["id"] = str(doc_id)
        score = metadata.pop("score", None)
        if isinstance(score, (int, float)) and not isinstance(score, bool):
            item["score"] = float(score)
        item["content"] = getattr(doc, "page_content", str(doc))
        if metadata:
            item["metadata"] = metadata
        out.append(item)
    return out


def agent_input(inputs: Any) -> list[dict[str, Any]] | None:
    """An agent run's input as messages: its ``messages`` state, or an ``input`` string."""
    if _is_mapping(inputs):
        messages = inputs.get("messages")
        if isinstance(messages, Sequence) and not isinstance(messages, str):
            return [message_parts(m) for m in messages]
        text = inputs.get("input")
        if isinstance(text, str):
            return text_messages(sc.ROLE_USER, text)
    if isinstance(inputs, str):
        return text_messages(sc.ROLE_USER, inputs)
    return None


def agent_output(outputs: Any) -> list[dict[str, Any]] | None:
    """An agent run's answer: the last AI message of its state, or its ``output`` string."""
    if _is_mapping(outputs):
        messages = outputs.get("messages")
        if isinstance(messages, Sequence) and messages:
            last = message_parts(messages[-1])
            if last["role"] == sc.ROLE_ASSISTANT:
                last["finish_reason"] = sc.FINISH_REASON_STOP
                return [last]
        text = outputs.get("output")
        if isinstance(text, str):
            return text_messages(sc.ROLE_ASSISTANT, text, sc.FINISH_REASON_STOP)
    return None
