"""Dialects: the extra keys an LLM-observability UI needs to show our spans fully.

Our spans speak the OpenTelemetry GenAI conventions. Arize Phoenix (and Langfuse, which reads
OpenInference's span kind first) converts most of them itself, but reads a span's input and
output only from OpenInference's ``input.value`` / ``output.value``, and has no kind for a
span without ``gen_ai.operation.name`` (our decisions show as UNKNOWN). The
``openinference`` dialect (``SENTRIAL_DIALECTS=openinference``, or ``dialects=`` in code)
(names and parsing: ``config.resolve_dialects``) adds, on every span an invocation writes:

* ``openinference.span.kind``: AGENT, TOOL, LLM, EMBEDDING, RETRIEVER, or CHAIN for
  decisions, workflows and the plain LangChain spans;
* ``input.value`` / ``output.value`` with ``input.mime_type`` / ``output.mime_type``, taken
  from the content attributes already on the span, so content capture, redaction and
  truncation apply to them as they did there (capture off: no input or output keys). An
  agent's (a session's) messages become their text, which is what Phoenix's sessions list
  shows as first input and last output; an LLM call's and a tool's stay JSON.

Never token counts: Phoenix reads ``gen_ai.usage.*`` itself, and a second key for the same
tokens is how totals get counted twice (SEMCONV's rule on roll-ups).
"""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from typing import Any, Final

from sentrial_otel import semconv as sc

_KIND_OF_OPERATION: Final = {
    sc.OP_INVOKE_AGENT: sc.OI_KIND_AGENT,
    sc.OP_EXECUTE_TOOL: sc.OI_KIND_TOOL,
    sc.OP_CHAT: sc.OI_KIND_LLM,
    sc.OP_TEXT_COMPLETION: sc.OI_KIND_LLM,
    sc.OP_EMBEDDINGS: sc.OI_KIND_EMBEDDING,
    sc.OP_RETRIEVAL: sc.OI_KIND_RETRIEVER,
    sc.OP_INVOKE_WORKFLOW: sc.OI_KIND_CHAIN,
}
_ENCODER: Final = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_JSON: Final = sc.OI_MIME_JSON
_TEXT: Final = sc.OI_MIME_TEXT


def openinference_keys(values: MutableMapping[str, Any], *, starting: bool, agent: bool) -> None:
    """Add the OpenInference keys for ``values``: the attributes a span starts with
    (``starting``: its kind too) or those it gets when it ends. ``agent``: the span is an
    agent's (its messages become text)."""
    if starting:
        operation = str(values.get(sc.GEN_AI_OPERATION_NAME, ""))
        values[sc.OI_SPAN_KIND] = _KIND_OF_OPERATION.get(operation, sc.OI_KIND_CHAIN)
    # Inputs.
    if (arguments := values.get(sc.GEN_AI_TOOL_CALL_ARGUMENTS)) is not None:
        _put(values, sc.OI_INPUT_VALUE, sc.OI_INPUT_MIME_TYPE, arguments, _JSON)
    elif (messages := values.get(sc.GEN_AI_INPUT_MESSAGES)) is not None:
        _put_messages(values, sc.OI_INPUT_VALUE, sc.OI_INPUT_MIME_TYPE, messages, agent)
    elif (query := values.get(sc.GEN_AI_RETRIEVAL_QUERY_TEXT)) is not None:
        _put(values, sc.OI_INPUT_VALUE, sc.OI_INPUT_MIME_TYPE, query, _TEXT)
    elif (alternatives := values.get(sc.SENTRIAL_DECISION_ALTERNATIVES)) is not None:
        _put(values, sc.OI_INPUT_VALUE, sc.OI_INPUT_MIME_TYPE, _ENCODER.encode(list(alternatives)), _JSON)
    # Outputs.
    if (result := values.get(sc.GEN_AI_TOOL_CALL_RESULT)) is not None:
        _put(values, sc.OI_OUTPUT_VALUE, sc.OI_OUTPUT_MIME_TYPE, result, _JSON)
    elif (messages := values.get(sc.GEN_AI_OUTPUT_MESSAGES)) is not None:
        _put_messages(values, sc.OI_OUTPUT_VALUE, sc.OI_OUTPUT_MIME_TYPE, messages, agent)
    elif (documents := values.get(sc.GEN_AI_RETRIEVAL_DOCUMENTS)) is not None:
        _put(values, sc.OI_OUTPUT_VALUE, sc.OI_OUTPUT_MIME_TYPE, documents, _JSON)
    elif (reasoning := values.get(sc.SENTRIAL_DECISION_REASONING)) is not None:
        _put(values, sc.OI_OUTPUT_VALUE, sc.OI_OUTPUT_MIME_TYPE, reasoning, _TEXT)
    elif (chosen := values.get(sc.SENTRIAL_DECISION_CHOSEN)) is not None:
        _put(values, sc.OI_OUTPUT_VALUE, sc.OI_OUTPUT_MIME_TYPE, chosen, _TEXT)


def _put(values: MutableMapping[str, Any], key: str, mime_key: str, value: Any, mime: str) -> None:
    values[key] = value
    values[mime_key] = mime


def _put_messages(
    values: MutableMapping[str, Any], key: str, mime_key: str, messages: str, as_text: bool
) -> None:
    """Messages as they are (JSON), or for an agent the text they hold when they hold one."""
    text = _text_of(messages) if as_text else None
    if text is not None:
        _put(values, key, mime_key, text, _TEXT)
    else:
        _put(values, key, mime_key, messages, _JSON)


def _text_of(messages: str) -> str | None:
    """The text of the last message in the parts schema, when all its parts are text."""
    try:
        decoded = json.loads(messages)
        parts = decoded[-1]["parts"]
        texts = [part["content"] for part in parts if part.get("type") == "text"]
    except (ValueError, LookupError, TypeError, AttributeError):
        return None
    if not texts or len(texts) != len(parts) or not all(isinstance(t, str) for t in texts):
        return None
    return "\n".join(texts)
