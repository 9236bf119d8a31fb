"""Span attributes for each kind of step, exactly as SEMCONV.md lays them out.

Pure functions from arguments to an :class:`Attributes` bag; the invocations
(``invocations.py``) start and end the spans. Content keys are written only when the policy
captures content, always through the policy (truncation, secret and PII redaction). Bad
values are repaired here and reported through ``report``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from sentrial_otel import semconv as sc
from sentrial_otel._internal.content.encoding import (
    Encoded,
    describe,
    finite_float,
    key_text,
    non_negative_int,
    primitive_or_json,
)
from sentrial_otel._internal.content.policy import ContentPolicy
from sentrial_otel._internal.misuse import Report

MAX_KEY_LENGTH = 128
MAX_USER_KEYS = 1000
"""Keys read from one ``metadata`` or ``custom_metrics`` dict (and placed on a span with no
count limit); the rest is dropped with a warning."""
CORE_RESERVE = 32
"""Attribute slots of a span kept for its own attributes (SEMCONV.md's keys, ours and the
GenAI conventions'): metadata and custom metrics share the rest of the count limit."""
USER_KEY_PREFIXES = (sc.SENTRIAL_METADATA_PREFIX, sc.SENTRIAL_METRIC_PREFIX)
"""The keys a user names. Every other key a span of ours carries is one of its own, core
by definition: no list of core keys to keep up to date."""
_OVERFLOW_KEYS = 2  # sentrial.attributes.overflow and sentrial.attributes.truncated


class Attributes:
    """Attribute values on their way to a span, plus whether any content was cut.

    ``user`` holds the keys a user named (``sentrial.metadata.*``, ``sentrial.metric.*``)
    with their raw values: they go on the span only as far as the span's count limit leaves
    room (:func:`place_user_keys`), the rest into one JSON attribute.
    """

    __slots__ = ("truncated", "user", "values")

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.user: dict[str, Any] | None = None
        self.truncated = False

    def put(self, key: str, value: Any) -> None:
        if value is not None:
            self.values[key] = value

    def put_encoded(self, key: str, encoded: Encoded) -> None:
        """A content value and, if it was cut, the truncation flag with it."""
        self.values[key] = encoded.value
        if encoded.truncated:
            self.truncated = True

    def put_user(self, key: str, value: Any) -> None:
        """A key the user named (metadata, a custom metric), placed when the span gets it."""
        if self.user is None:
            self.user = {}
        self.user[key] = value

    def absorb(self, other: Attributes) -> None:
        """Take ``other``'s values and user keys too (start and end set together)."""
        self.values.update(other.values)
        if other.user:
            for key, value in other.user.items():
                self.put_user(key, value)
        if other.truncated:
            self.truncated = True

    def finish(self) -> dict[str, Any]:
        if self.truncated:
            self.values[sc.SENTRIAL_CONTENT_TRUNCATED] = True
        return self.values


class UserKeys:
    """What one span holds of the keys a user named: how many went on it as attributes, and
    the ones that did not fit (the raw values, for the overflow attribute)."""

    __slots__ = ("overflow", "placed")

    def __init__(self) -> None:
        self.placed = 0
        self.overflow: dict[str, Any] | None = None


def user_room(count_limit: int | None, core: int, placed: int) -> int:
    """How many more user-named keys a span may take as attributes: the count limit less
    ``CORE_RESERVE`` (or less the span's own ``core`` attributes and the overflow pair, when
    those are more), less the ``placed`` ones."""
    if count_limit is None:
        return max(0, MAX_USER_KEYS - placed)
    return max(0, count_limit - max(CORE_RESERVE, core + _OVERFLOW_KEYS) - placed)


def place_user_keys(
    values: dict[str, Any],
    user: Mapping[str, Any],
    policy: ContentPolicy,
    report: Report,
    held: UserKeys,
    core: int,
) -> dict[str, Any]:
    """The attributes to set: the user keys that fit first (so that, should the SDK ever
    have to evict, it evicts those and not the span's own keys), then ``values``, then the
    overflow JSON and its flag when some did not fit. ``core``: the span's own attributes
    once these are set."""
    room = user_room(policy.limits.count, core, held.placed)
    encoder = policy.encoder("metadata")
    out: dict[str, Any] = {}
    truncated = False
    for key, value in user.items():
        if room <= 0:
            if held.overflow is None:
                held.overflow = {}
            held.overflow[key] = value
            continue
        room -= 1
        held.placed += 1
        if isinstance(value, (bool, int, float)):
            out[key], _ = primitive_or_json(value, encoder)
            continue
        encoded = _user_value(value, encoder)
        out[key] = encoded.value
        truncated = _checked(encoded, key, report) or truncated
    out.update(values)
    if held.overflow:
        encoded = encoder.json(held.overflow)
        out[sc.SENTRIAL_ATTRIBUTES_OVERFLOW] = encoded.value
        out[sc.SENTRIAL_ATTRIBUTES_TRUNCATED] = True
        truncated = _checked(encoded, sc.SENTRIAL_ATTRIBUTES_OVERFLOW, report) or truncated
    if truncated:
        out[sc.SENTRIAL_CONTENT_TRUNCATED] = True
    return out


def _user_value(value: Any, encoder: Any) -> Encoded:
    if isinstance(value, str):
        return encoder.text(value)
    return encoder.json(value)


def _checked(encoded: Encoded, key: str, report: Report) -> bool:
    """Report what went wrong with one user value; True when it was cut."""
    argument = _argument_of(key)
    if encoded.unrepresentable:
        report(
            TypeError,
            f"{argument} could not be represented (a __repr__ or iteration raised); "
            "recorded with a placeholder",
        )
    if encoded.truncated:
        report(
            ValueError,
            f"{argument} is too long for a span attribute; cut inside its JSON "
            f"({sc.SENTRIAL_CONTENT_TRUNCATED}=true)",
        )
    return encoded.truncated


def _argument_of(key: str) -> str:
    """``metadata['k']`` / ``custom_metrics['k']`` for a user key, for messages."""
    for prefix, argument in (
        (sc.SENTRIAL_METADATA_PREFIX, "metadata"), (sc.SENTRIAL_METRIC_PREFIX, "custom_metrics")
    ):
        if key.startswith(prefix):
            return f"{argument}[{key[len(prefix):]!r}]"
    return "metadata"


def fit_lengths(values: dict[str, Any], limit: int) -> None:
    """Cut the plain strings (names, ids, each string of an array) longer than the span's
    value length limit; content is already cut inside its JSON by the encoder."""
    for key, value in values.items():
        if type(value) is str:
            if len(value) > limit:
                values[key] = value[:limit]
        elif type(value) is list and any(type(v) is str and len(v) > limit for v in value):
            values[key] = [v[:limit] if type(v) is str else v for v in value]


def user_items(value: Any, argument: str, report: Report) -> list[tuple[str, Any]]:
    """The (key, value) pairs of a ``metadata`` / ``custom_metrics`` dict, keys repaired:
    non-str keys as their text, keys that cannot be read as ``<unrepresentable key N>``,
    long keys cut; each repair reported once. Never raises but in strict mode."""
    if value is None:
        return []
    if not isinstance(value, Mapping):
        report(TypeError, f"{argument} must be a dict, not {type(value).__name__}")
        return [("value", value)] if argument == "metadata" else []
    try:
        items = list(value.items())
    except Exception as error:  # noqa: BLE001 - a mapping whose items() raises
        report(TypeError, f"{argument} could not be read ({type(error).__name__} from items())")
        return []
    if len(items) > MAX_USER_KEYS:
        report(ValueError, f"{argument} has {len(items)} keys; the first {MAX_USER_KEYS} are kept")
        items = items[:MAX_USER_KEYS]
    out = []
    for index, (key, item) in enumerate(items):
        if isinstance(key, str):
            key = str.__str__(key)  # a str subclass: its plain text
        else:
            text = key_text(key)
            if text is None:
                text = f"<unrepresentable key {index}>"
                report(TypeError, f"{argument} key #{index} ({type(key).__name__}) could not be "
                       f"represented (its __repr__ raised); recorded as {text!r}")
            else:
                report(TypeError, f"{argument} keys must be str, not {type(key).__name__} "
                       f"({describe(key)}); recorded as {text!r}")
            key = text
        if len(key) > MAX_KEY_LENGTH:
            report(ValueError, f"{argument} key {describe(key)} is longer than "
                   f"{MAX_KEY_LENGTH} characters; cut")
            key = key[:MAX_KEY_LENGTH]
        out.append((key, item))
    return out


# --- shared pieces ------------------------------------------------------------------------
def add_metadata(attrs: Attributes, policy: ContentPolicy, metadata: Any, report: Report) -> None:
    """``sentrial.metadata.<key>``: primitives as they are, anything else as JSON (placed
    on the span within its budget, :func:`place_user_keys`)."""
    for key, value in user_items(metadata, "metadata", report):
        if value is not None:
            attrs.put_user(sc.SENTRIAL_METADATA_PREFIX + key, value)


def add_cost_and_tokens(
    attrs: Attributes, cost: Any, token_count: Any, report: Report
) -> tuple[float, int | None]:
    """``sentrial.cost.usd`` / ``sentrial.usage.total_tokens``; returns the usable values."""
    usable_cost = checked_cost(cost, "estimated_cost", report)
    if usable_cost:
        attrs.values[sc.SENTRIAL_COST_USD] = usable_cost
    tokens = checked_tokens(token_count, "token_count", report)
    if tokens is not None:
        attrs.values[sc.SENTRIAL_USAGE_TOTAL_TOKENS] = tokens
    return usable_cost or 0.0, tokens


def checked_cost(value: Any, name: str, report: Report) -> float | None:
    if value is None:
        return None
    cost = finite_float(value)
    if cost is None or cost < 0:
        report(ValueError, f"{name} must be a finite, non-negative number, got {describe(value)}")
        return None
    return cost


def checked_tokens(value: Any, name: str, report: Report) -> int | None:
    if value is None:
        return None
    tokens = non_negative_int(value)
    if tokens is None:
        report(ValueError, f"{name} must be a non-negative integer, got {describe(value)}")
    return tokens


def custom_metrics(attrs: Attributes, metrics: Any, report: Report) -> None:
    """``sentrial.metric.<key>``: finite numbers only (ints stay ints when they fit)."""
    for key, value in user_items(metrics, "custom_metrics", report):
        number = finite_float(value)
        if number is None:
            report(ValueError, f"custom_metrics[{key!r}] must be a finite number, got {describe(value)}")
            continue
        fits_int = isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63
        attrs.put_user(sc.SENTRIAL_METRIC_PREFIX + key, int(value) if fits_int else number)


# --- messages in the GenAI parts schema ----------------------------------------------------
def text_part(content: Any) -> dict[str, Any]:
    """One text part: ``{"type": "text", "content": ...}``."""
    return {"type": "text", "content": content}


def text_message(role: str, content: Any, finish_reason: str | None = None) -> dict[str, Any]:
    """One message holding a single text part (and its finish reason, for output)."""
    message: dict[str, Any] = {"role": role, "parts": [text_part(content)]}
    if finish_reason is not None:
        message["finish_reason"] = finish_reason
    return message


def text_messages(role: str, content: Any, finish_reason: str | None = None) -> list[dict[str, Any]]:
    """A message list of one :func:`text_message`."""
    return [text_message(role, content, finish_reason)]


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
    out["parts"] = [text_part(content)] if content is not None else []
    return out


def is_empty_output(output: Any) -> bool | None:
    """Whether an LLM's output holds nothing (no text but whitespace, no tool call);
    None when no output was given at all."""
    if output is None:
        return None
    if isinstance(output, str):
        return not output.strip()
    messages = [output] if isinstance(output, Mapping) else output
    try:
        return all(_is_empty_message(message) for message in messages)
    except TypeError:  # not iterable: some value, so not empty
        return False


def _is_empty_message(message: Any) -> bool:
    if type(message) is not dict and not isinstance(message, Mapping):
        return False
    if message.get("tool_calls"):
        return False
    parts = message.get("parts")
    if parts is None:
        return _is_empty_text(message.get("content"))
    for part in parts:
        if type(part) is not dict and not isinstance(part, Mapping):
            return False
        if part.get("type") != "text" or not _is_empty_text(part.get("content")):
            return False
    return True


def _is_empty_text(content: Any) -> bool:
    return content is None or (isinstance(content, str) and not content.strip())


# --- tool calls -----------------------------------------------------------------------------
def tool_start(
    policy: ContentPolicy,
    report: Report,
    *,
    name: str,
    agent_name: str | None,
    arguments: Any = None,
    call_id: Any = None,
    tool_type: str | None = None,
    description: Any = None,
    reasoning: Any = None,
    metadata: Any = None,
) -> tuple[Attributes, str | None]:
    """A tool span's start attributes, and the encoded arguments (for the step's hash)."""
    attrs = Attributes()
    values = attrs.values
    values[sc.GEN_AI_OPERATION_NAME] = sc.OP_EXECUTE_TOOL
    values[sc.GEN_AI_TOOL_NAME] = name
    values[sc.GEN_AI_TOOL_TYPE] = tool_type or sc.TOOL_TYPE_FUNCTION
    attrs.put(sc.GEN_AI_AGENT_NAME, agent_name)
    if call_id is not None:
        values[sc.GEN_AI_TOOL_CALL_ID] = str(call_id)[:256]
    if description is not None:
        values[sc.GEN_AI_TOOL_DESCRIPTION] = policy.text("metadata", description).value
    encoded_arguments = None
    if arguments is not None:
        encoded = policy.encoder("tool_input").json_object(arguments, "input")
        encoded_arguments = encoded.value
        if policy.capture:
            attrs.put_encoded(sc.GEN_AI_TOOL_CALL_ARGUMENTS, encoded)
    if reasoning is not None and policy.capture:
        attrs.put_encoded(sc.SENTRIAL_TOOL_REASONING, policy.text("reasoning", reasoning))
    if metadata is not None:
        add_metadata(attrs, policy, metadata, report)
    return attrs, encoded_arguments


def tool_result(policy: ContentPolicy, result: Any) -> Encoded:
    """``gen_ai.tool.call.result``: a JSON object (non-dict results wrapped as ``{"result": v}``)."""
    return policy.encoder("tool_output").json_object(result, "result")


def tool_error_details(tool_error: Any) -> tuple[str, str]:
    """(error.type, message) of a ``tool_error`` dict, string or exception."""
    if isinstance(tool_error, BaseException):
        return type(tool_error).__qualname__, str(tool_error)
    if isinstance(tool_error, Mapping):
        kind = tool_error.get("type") or tool_error.get("error_type")
        message = tool_error.get("message") or tool_error.get("error") or ""
        return (str(kind)[:128] if kind else sc.ERROR_TYPE_TOOL_ERROR), str(message)
    return sc.ERROR_TYPE_TOOL_ERROR, str(tool_error)


# --- decisions ------------------------------------------------------------------------------
def decision(
    policy: ContentPolicy,
    report: Report,
    *,
    agent_name: str | None,
    reasoning: Any,
    alternatives: Any = None,
    confidence: Any = None,
    chosen: Any = None,
    metadata: Any = None,
) -> tuple[Attributes, float | None]:
    """A decision span's attributes, and the confidence if it is a number in [0, 1]."""
    attrs = Attributes()
    attrs.values[sc.SENTRIAL_SPAN_KIND] = sc.SPAN_KIND_DECISION
    attrs.put(sc.GEN_AI_AGENT_NAME, agent_name)
    if policy.capture:
        if reasoning is not None:
            attrs.put_encoded(sc.SENTRIAL_DECISION_REASONING, policy.text("reasoning", reasoning))
        if alternatives is not None:
            values, cut = policy.encoder("reasoning").strings(alternatives)
            if values:
                attrs.values[sc.SENTRIAL_DECISION_ALTERNATIVES] = values
            if cut:
                attrs.truncated = True
        if chosen is not None:
            attrs.put_encoded(sc.SENTRIAL_DECISION_CHOSEN, policy.text("reasoning", chosen))
    usable = None
    if confidence is not None:
        usable = finite_float(confidence)
        if usable is None or not 0.0 <= usable <= 1.0:
            report(ValueError, f"confidence must be a number in [0, 1], got {describe(confidence)}")
            usable = None
        else:
            attrs.values[sc.SENTRIAL_DECISION_CONFIDENCE] = usable
    if metadata is not None:
        add_metadata(attrs, policy, metadata, report)
    return attrs, usable


# --- LLM calls ------------------------------------------------------------------------------
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
    values = attrs.values
    values[sc.GEN_AI_OPERATION_NAME] = operation
    values[sc.GEN_AI_PROVIDER_NAME] = provider
    values[sc.GEN_AI_REQUEST_MODEL] = request_model
    attrs.put(sc.GEN_AI_AGENT_NAME, agent_name)
    if stream:
        values[sc.GEN_AI_REQUEST_STREAM] = True
    for name, value in (params or {}).items():
        key = _REQUEST_PARAMS.get(name)
        if key is None or value is None or isinstance(value, bool):
            if name == "stop" and value:
                stops = [value] if isinstance(value, str) else [str(v) for v in value]
                values[sc.GEN_AI_REQUEST_STOP_SEQUENCES] = stops
            continue
        if isinstance(value, (int, float)) and math.isfinite(value):
            values[key] = value
    return attrs


def llm_input(
    attrs: Attributes, policy: ContentPolicy, *, input_messages: Any, system_instructions: Any
) -> None:
    """The prompt: system instructions and input messages (content: only when captured)."""
    if not policy.capture:
        return
    if system_instructions is not None:
        parts = (
            [text_part(system_instructions)]
            if isinstance(system_instructions, str)
            else system_instructions
        )
        attrs.put_encoded(sc.GEN_AI_SYSTEM_INSTRUCTIONS, policy.json("llm_input", parts))
    if input_messages is not None:
        attrs.put_encoded(
            sc.GEN_AI_INPUT_MESSAGES,
            policy.json("llm_input", as_messages(input_messages, sc.ROLE_USER)),
        )


def finish_reasons_of(value: Any) -> tuple[str, ...]:
    """``finish_reason`` given as a string or a list, as a tuple of short strings."""
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    try:
        return tuple(str(item)[:64] for item in items if item is not None)
    except TypeError:
        return (str(value)[:64],)


def token_details(
    report: Report, *, cache_read: Any, cache_write: Any, reasoning: Any
) -> dict[str, int] | None:
    """The cache and reasoning counts given, checked, by GenAI usage key suffix
    (``Step.token_details``). Zero is left out, as opentelemetry-util-genai does (a
    provider that reports ``cached_tokens: 0`` on every call says nothing); None when
    nothing is left."""
    details = {}
    for kind, value, argument in (
        (sc.USAGE_CACHE_READ, cache_read, "cache_read_tokens"),
        (sc.USAGE_CACHE_WRITE, cache_write, "cache_write_tokens"),
        (sc.USAGE_REASONING, reasoning, "reasoning_tokens"),
    ):
        count = checked_tokens(value, argument, report)
        if count:
            details[kind] = count
    return details or None


def llm_end(
    attrs: Attributes,
    policy: ContentPolicy,
    *,
    response_model: Any = None,
    response_id: Any = None,
    output: Any = None,
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    token_details: Mapping[str, int] | None = None,
    finish_reasons: tuple[str, ...] = (),
    cost: float | None = None,
    time_to_first_chunk: float | None = None,
) -> None:
    """The outcome of an LLM call (token counts and time to first chunk already checked)."""
    values = attrs.values
    if response_model is not None:
        values[sc.GEN_AI_RESPONSE_MODEL] = str(response_model)[:256]
    if response_id is not None:
        values[sc.GEN_AI_RESPONSE_ID] = str(response_id)[:256]
    attrs.put(sc.GEN_AI_USAGE_INPUT_TOKENS, input_tokens)
    attrs.put(sc.GEN_AI_USAGE_OUTPUT_TOKENS, output_tokens)
    if token_details:
        for kind, count in token_details.items():
            values[sc.GEN_AI_USAGE_PREFIX + kind] = count
    if finish_reasons:
        values[sc.GEN_AI_RESPONSE_FINISH_REASONS] = list(finish_reasons)
    if cost:
        values[sc.SENTRIAL_COST_USD] = cost
    if time_to_first_chunk is not None:
        values[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = time_to_first_chunk
    if output is not None and policy.capture:
        default_reason = finish_reasons[0] if finish_reasons else sc.FINISH_REASON_STOP
        if isinstance(output, str):  # the common case: one text message
            messages = text_messages(sc.ROLE_ASSISTANT, output, default_reason)
        else:
            messages = with_finish_reason(as_messages(output, sc.ROLE_ASSISTANT), default_reason)
        attrs.put_encoded(sc.GEN_AI_OUTPUT_MESSAGES, policy.json("llm_output", messages))


# --- agents ---------------------------------------------------------------------------------
def agent_start(
    policy: ContentPolicy,
    report: Report,
    *,
    agent_name: str,
    input_messages: Any = None,
    metadata: Any = None,
) -> Attributes:
    """An ``invoke_agent`` span's start attributes (a session root, a LangChain agent)."""
    attrs = Attributes()
    attrs.values[sc.GEN_AI_OPERATION_NAME] = sc.OP_INVOKE_AGENT
    attrs.values[sc.GEN_AI_AGENT_NAME] = agent_name
    if input_messages is not None and policy.capture:
        attrs.put_encoded(sc.GEN_AI_INPUT_MESSAGES, policy.json("user_input", input_messages))
    if metadata is not None:
        add_metadata(attrs, policy, metadata, report)
    return attrs
