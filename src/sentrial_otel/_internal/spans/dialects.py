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
_MESSAGES: Final = "messages"  # GenAI parts-schema messages (JSON)
_LIST: Final = "list"  # a str[] attribute, sent as a JSON list

# (target, its mime-type key, the sources in order: the first one present on the span wins,
# in the form it has there).
_RULES: Final = (
    (sc.OI_INPUT_VALUE, sc.OI_INPUT_MIME_TYPE, (
        (sc.GEN_AI_TOOL_CALL_ARGUMENTS, _JSON),
        (sc.GEN_AI_INPUT_MESSAGES, _MESSAGES),
        (sc.GEN_AI_RETRIEVAL_QUERY_TEXT, _TEXT),
        (sc.SENTRIAL_DECISION_ALTERNATIVES, _LIST),
    )),
    (sc.OI_OUTPUT_VALUE, sc.OI_OUTPUT_MIME_TYPE, (
        (sc.GEN_AI_TOOL_CALL_RESULT, _JSON),
        (sc.GEN_AI_OUTPUT_MESSAGES, _MESSAGES),
        (sc.GEN_AI_RETRIEVAL_DOCUMENTS, _JSON),
        (sc.SENTRIAL_DECISION_REASONING, _TEXT),
        (sc.SENTRIAL_DECISION_CHOSEN, _TEXT),
    )),
)


def openinference_keys(values: MutableMapping[str, Any], *, starting: bool, agent: bool) -> None:
    """Add the OpenInference keys for ``values``: the attributes a span starts with
    (``starting``: its kind too) or those it gets when it ends. ``agent``: the span is an
    agent's (its messages become text)."""
    if starting:
        operation = str(values.get(sc.GEN_AI_OPERATION_NAME, ""))
        values[sc.OI_SPAN_KIND] = _KIND_OF_OPERATION.get(operation, sc.OI_KIND_CHAIN)
    for target, mime_target, sources in _RULES:
        for source, form in sources:
            value = values.get(source)
            if value is not None:
                _put(values, target, mime_target, value, form, agent)
                break


def _put(
    values: MutableMapping[str, Any], key: str, mime_key: str, value: Any, form: str, agent: bool
) -> None:
    if form == _MESSAGES:
        # An agent's messages as the text they hold (what Phoenix lists as a session's first
        # input and last output); anyone else's, and any that are not plain text, as JSON.
        text = _text_of(value) if agent else None
        value, form = (value, _JSON) if text is None else (text, _TEXT)
    elif form == _LIST:
        value, form = _ENCODER.encode(list(value)), _JSON
    values[key] = value
    values[mime_key] = form


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
