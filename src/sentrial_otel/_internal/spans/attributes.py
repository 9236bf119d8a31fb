"""Span attributes for each kind of step, exactly as SEMCONV.md lays them out.

Pure functions from arguments to an :class:`Attributes` bag; the invocations
(``invocations.py``) start and end the spans. Content keys are written only when the policy
captures content, always through the policy (truncation, secret and PII redaction). Bad
values are repaired here and reported through ``report``.
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from sentrial_otel import semconv as sc
from sentrial_otel._internal.content.encoding import (
    Encoded,
    describe,
    finite_float,
    placeholder,
    key_text,
    non_negative_int,
    primitive_or_json,
    safe_str,
)
from sentrial_otel._internal.content.policy import ContentPolicy
from sentrial_otel._internal.misuse import Report, check_content, name_argument

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
    room = user_room(policy.limits.attribute_count, core, held.placed)
    encoder = policy.encoder("metadata")
    out: dict[str, Any] = {}
    truncated = False
    unreadable: list[str] = []
    huge: list[str] = []
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
        encoded = encoder.text(value) if isinstance(value, str) else encoder.json(value)
        out[key] = encoded.value
        if encoded.unrepresentable:
            unreadable.append(key)
        if encoded.truncated:
            truncated = True
            if isinstance(value, str) and len(value) > policy.max_string_length:
                huge.append(key)  # past max_content_length, not just the span's length limit
    out.update(values)
    if held.overflow:
        encoded = encoder.json(held.overflow)
        out[sc.SENTRIAL_ATTRIBUTES_OVERFLOW] = encoded.value
        out[sc.SENTRIAL_ATTRIBUTES_TRUNCATED] = True
        if encoded.unrepresentable:
            unreadable.append(sc.SENTRIAL_ATTRIBUTES_OVERFLOW)
        truncated = truncated or encoded.truncated
    if unreadable:
        report(TypeError, f"{_arguments_of(unreadable)} hold(s) values that cannot be represented "
               f"(a __repr__ or iteration raised), recorded with a placeholder: "
               f"{', '.join(unreadable[:3])}")
    if huge:
        report(ValueError, f"{_arguments_of(huge)} hold(s) strings longer than "
               f"{policy.max_string_length} characters (max_content_length), cut "
               f"({sc.SENTRIAL_CONTENT_TRUNCATED}=true): {', '.join(huge[:3])}")
    if truncated:
        out[sc.SENTRIAL_CONTENT_TRUNCATED] = True
    return out


def _arguments_of(keys: list[str]) -> str:
    """Which arguments the user keys came from, for messages."""
    named = [
        argument for prefix, argument in (
            (sc.SENTRIAL_METADATA_PREFIX, "metadata"), (sc.SENTRIAL_METRIC_PREFIX, "custom_metrics")
        ) if any(key.startswith(prefix) for key in keys)
    ]
    return " and ".join(named) or "metadata"


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
        if argument != "metadata":
            report(TypeError, f"{argument} must be a dict, not {type(value).__name__}")
            return []
        report(TypeError, f"metadata must be a dict, not {type(value).__name__}; recorded "
               f"(shortened) as {sc.SENTRIAL_METADATA_PREFIX}value")
        return [("value", describe(value))]
    try:
        items = list(value.items())
    except Exception as error:  # noqa: BLE001 - a mapping whose items() raises
        report(TypeError, f"{argument} could not be read ({type(error).__name__} from items())")
        return []
    if len(items) > MAX_USER_KEYS:
        report(ValueError, f"{argument} has {len(items)} keys; the first {MAX_USER_KEYS} are kept")
        items = items[:MAX_USER_KEYS]
    out = []
    not_str: list[str] = []
    unreadable: list[str] = []
    long: list[str] = []
    for index, (key, item) in enumerate(items):
        if type(key) is not str:
            if isinstance(key, str):
                key = str.__str__(key)  # a str subclass: its plain text
            else:
                text = key_text(key)
                if text is None:
                    text = f"<unrepresentable key {index}>"
                    unreadable.append(text)
                else:
                    not_str.append(f"{type(key).__name__} {text!r}")
                key = text
        if len(key) > MAX_KEY_LENGTH:
            long.append(describe(key[:40]))
            key = key[:MAX_KEY_LENGTH]
        out.append((key, item))
    # One report per kind of problem, however many keys have it.
    if unreadable:
        report(TypeError, f"{argument} has {len(unreadable)} key(s) that cannot be represented "
               f"(their __repr__ raised); recorded as {', '.join(unreadable[:3])}")
    if not_str:
        report(TypeError, f"{argument} keys must be str; recorded {len(not_str)} other key(s) "
               f"as their text: {', '.join(not_str[:3])}")
    if long:
        report(ValueError, f"{argument} has {len(long)} key(s) longer than {MAX_KEY_LENGTH} "
               f"characters, cut: {', '.join(long[:3])}")
    return out


# --- shared pieces ------------------------------------------------------------------------
def add_metadata(attrs: Attributes, policy: ContentPolicy, metadata: Any, report: Report) -> None:
    """``sentrial.metadata.<key>``: primitives as they are, anything else as JSON (placed
    on the span within its budget, :func:`place_user_keys`)."""
    if type(metadata) is dict and len(metadata) <= MAX_USER_KEYS:
        # The usual case, a plain dict of short str keys, without the repairs below.
        if attrs.user is None:
            attrs.user = {}
        user = attrs.user
        for key, value in metadata.items():
            if type(key) is not str or len(key) > MAX_KEY_LENGTH:
                break  # a key to repair: the careful path, from the start
            if value is not None:
                user[sc.SENTRIAL_METADATA_PREFIX + key] = value
        else:
            return
    for key, value in user_items(metadata, "metadata", report):
        if value is not None:
            attrs.put_user(sc.SENTRIAL_METADATA_PREFIX + key, value)


def add_cost_and_tokens(
    attrs: Attributes, cost: Any, token_count: Any, report: Report
) -> tuple[float, int | None]:
    """``sentrial.cost.usd`` / ``sentrial.usage.total_tokens``; returns the usable values."""
    usable_cost = checked_number(cost, "estimated_cost", report)
    if usable_cost:
        attrs.values[sc.SENTRIAL_COST_USD] = usable_cost
    tokens = checked_tokens(token_count, "token_count", report)
    if tokens is not None:
        attrs.values[sc.SENTRIAL_USAGE_TOTAL_TOKENS] = tokens
    return usable_cost or 0.0, tokens


def checked_number(value: Any, name: str, report: Report) -> float | None:
    if value is None:
        return None
    if type(value) is float and 0.0 <= value <= sys.float_info.max:
        return value  # the usual cost: finite (NaN fails the comparison) and not negative
    cost = finite_float(value)
    if cost is None or cost < 0:
        report(number_error(value), f"{name} must be a finite, non-negative number, got {describe(value)}")
        return None
    return cost


def number_error(value: Any) -> type[Exception]:
    """``TypeError`` for what is not a number at all, ``ValueError`` for a number out of range."""
    is_number = isinstance(value, numbers.Number) and not isinstance(value, bool)
    return ValueError if is_number else TypeError


def checked_tokens(value: Any, name: str, report: Report) -> int | None:
    if value is None:
        return None
    if type(value) is int and value >= 0:
        return value
    tokens = non_negative_int(value)
    if tokens is None:
        report(number_error(value), f"{name} must be a non-negative integer, got {describe(value)}")
    return tokens


def custom_metrics(attrs: Attributes, metrics: Any, report: Report) -> None:
    """``sentrial.metric.<key>``: finite numbers only (ints stay ints when they fit)."""
    for key, value in user_items(metrics, "custom_metrics", report):
        number = finite_float(value)
        if number is None:
            report(number_error(value), f"custom_metrics[{key!r}] must be a finite number, got {describe(value)}")
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
        try:
            return [
                _normalise_message(item, default_role) if isinstance(item, Mapping) else item
                for item in value
            ]
        except Exception:  # noqa: BLE001 - an iterable whose iteration raises
            pass  # recorded as one message, its text a placeholder (reported by the caller)
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
    except Exception:  # noqa: BLE001 - not iterable (or broken): some value, so not empty
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
        values[sc.GEN_AI_TOOL_CALL_ID] = name_argument(call_id, "tool_call_id", report, ints=True)
    if description is not None:
        values[sc.GEN_AI_TOOL_DESCRIPTION] = check_content(
            policy.text("metadata", description), "description", report
        ).value
    encoded_arguments = None
    if arguments is not None:
        encoded = check_content(
            policy.encoder("tool_input").json_object(arguments, "input"), "tool_input", report
        )
        encoded_arguments = encoded.value
        if policy.capture:
            attrs.put_encoded(sc.GEN_AI_TOOL_CALL_ARGUMENTS, encoded)
    if reasoning is not None and policy.capture:
        attrs.put_encoded(
            sc.SENTRIAL_TOOL_REASONING,
            check_content(policy.text("reasoning", reasoning), "reasoning", report),
        )
    if metadata is not None:
        add_metadata(attrs, policy, metadata, report)
    return attrs, encoded_arguments


def tool_result(policy: ContentPolicy, result: Any, report: Report) -> Encoded:
    """``gen_ai.tool.call.result``: a JSON object (non-dict results wrapped as ``{"result": v}``)."""
    return check_content(
        policy.encoder("tool_output").json_object(result, "result"), "tool_output", report
    )


def tool_error_details(tool_error: Any) -> tuple[str, str]:
    """(error.type, message) of a ``tool_error`` dict, string or exception."""
    if isinstance(tool_error, BaseException):
        return type(tool_error).__qualname__, safe_str(tool_error)
    if isinstance(tool_error, Mapping):
        try:
            kind = tool_error.get("type") or tool_error.get("error_type")
            message = tool_error.get("message") or tool_error.get("error") or ""
        except Exception:  # noqa: BLE001 - a mapping whose lookups raise
            return sc.ERROR_TYPE_TOOL_ERROR, placeholder(tool_error)
        return (safe_str(kind)[:128] if kind else sc.ERROR_TYPE_TOOL_ERROR), safe_str(message)
    return sc.ERROR_TYPE_TOOL_ERROR, safe_str(tool_error)


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
            attrs.put_encoded(
                sc.SENTRIAL_DECISION_REASONING,
                check_content(policy.text("reasoning", reasoning), "reasoning", report),
            )
        if alternatives is not None:
            values, cut, unreadable = policy.encoder("reasoning").strings(alternatives)
            if values:
                attrs.values[sc.SENTRIAL_DECISION_ALTERNATIVES] = values
            if cut:
                attrs.truncated = True
            if unreadable:
                report(TypeError, "alternatives could not be read whole (its iteration or an "
                       "item's __repr__ raised); recorded what could be read")
        if chosen is not None:
            attrs.put_encoded(
                sc.SENTRIAL_DECISION_CHOSEN,
                check_content(policy.text("reasoning", chosen), "chosen", report),
            )
    usable = None
    if confidence is not None:
        usable = finite_float(confidence)
        if usable is None or not 0.0 <= usable <= 1.0:
            report(number_error(confidence), f"confidence must be a number in [0, 1], got {describe(confidence)}")
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
    if params:
        _request_params(values, params)
    return attrs


def _request_params(values: dict[str, Any], params: Mapping[str, Any]) -> None:
    """``gen_ai.request.*`` from OpenAI-style names; what is not a finite number (or, for
    ``stop``, strings) is left out."""
    try:
        items = list(params.items())
    except Exception:  # noqa: BLE001 - a mapping whose items() raises: no parameters
        return
    for name, value in items:
        key = _REQUEST_PARAMS.get(name) if type(name) is str else None
        if key is None or value is None or isinstance(value, bool):
            if name == "stop" and value is not None:
                stops = [value] if isinstance(value, str) else _texts(value)
                if stops:
                    values[sc.GEN_AI_REQUEST_STOP_SEQUENCES] = stops
            continue
        if isinstance(value, (int, float)) and math.isfinite(value):
            values[key] = value


def _texts(values: Any) -> list[str]:
    try:
        return [safe_str(value)[:256] for value in values]
    except Exception:  # noqa: BLE001 - not iterable after all
        return []


def llm_input(
    attrs: Attributes,
    policy: ContentPolicy,
    report: Report,
    *,
    input_messages: Any,
    system_instructions: Any,
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
        attrs.put_encoded(
            sc.GEN_AI_SYSTEM_INSTRUCTIONS,
            check_content(policy.json("llm_input", parts), "system_instructions", report),
        )
    if input_messages is not None:
        attrs.put_encoded(
            sc.GEN_AI_INPUT_MESSAGES,
            check_content(
                policy.json("llm_input", as_messages(input_messages, sc.ROLE_USER)), "input", report
            ),
        )


MAX_REASON_LENGTH = 64


def finish_reasons_of(value: Any, report: Report) -> tuple[str, ...]:
    """``finish_reason`` given as a string or a list, as a tuple of short strings."""
    if value is None:
        return ()
    if type(value) is str and value.isascii() and len(value) <= MAX_REASON_LENGTH:
        return (value.strip(),)  # the usual "stop": what name_argument would make of it
    items = [value] if isinstance(value, str) else value
    try:
        items = [item for item in items if item is not None]
    except Exception:  # noqa: BLE001 - not iterable (or broken): one reason
        items = [value]
    return tuple(
        name_argument(item, "finish_reason", report)[:MAX_REASON_LENGTH] for item in items
    )


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
    report: Report,
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
        values[sc.GEN_AI_RESPONSE_MODEL] = name_argument(response_model, "response_model", report)
    if response_id is not None:
        values[sc.GEN_AI_RESPONSE_ID] = name_argument(response_id, "response_id", report, ints=True)
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
        attrs.put_encoded(
            sc.GEN_AI_OUTPUT_MESSAGES,
            check_content(policy.json("llm_output", messages), "output", report),
        )


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
        attrs.put_encoded(
            sc.GEN_AI_INPUT_MESSAGES,
            check_content(policy.json("user_input", input_messages), "input", report),
        )
    if metadata is not None:
        add_metadata(attrs, policy, metadata, report)
    return attrs
