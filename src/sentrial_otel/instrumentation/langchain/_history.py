"""A chat model's prompt, each message of a run tree's history converted and checked once.

An agent loop sends the conversation so far with every chat call: its third call repeats
the first two calls' messages. A run tree (``History``, on its top-level run's record)
keeps what it learnt of its messages, and a later prompt joins its messages' JSON texts
(``Encoder.joined_array``) instead of converting, encoding and checking the whole prompt
again (the check, the secret pre-test over the whole text, cost the most).

Exact whatever the application does with its messages:

* the check (nothing to cut or redact) is remembered by the JSON text itself and the
  encoder that made it, so it holds for any message that encodes to that text;
* a message's conversion and text are reused only when nothing the conversion read can
  have changed: the same message object (kept alive by the entry, so its ``id()`` is not
  another's), still of the same type, its content the same ``str`` object (a string
  cannot change in place), the same ``tool_call_id`` or ``role``, and no tool calls (a
  list, which can). Anything else (content blocks, tool calls) is converted and encoded
  again for every prompt, only its check remembered.

A message with anything to cut or redact, or a prompt too long for one value, sends the
prompt through the whole-value path, as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sentrial_otel import semconv as sc
from sentrial_otel._internal.content.encoding import Encoded, Encoder
from sentrial_otel.instrumentation.langchain._messages import message_parts

MAX_ENTRIES = 1024
"""Texts one run tree remembers; later ones are checked each time (memory stays bounded
for a run that never ends)."""


class History:
    """What one run tree learnt of its messages: which JSON texts go out as is, and the
    conversion and text of the messages that cannot change in place."""

    __slots__ = ("_checked", "_messages")

    def __init__(self) -> None:
        self._checked: dict[tuple[Encoder, str], bool] = {}
        self._messages: dict[int, _Known] = {}

    def goes_out_as_is(self, encoder: Encoder, text: str) -> bool:
        """``encoder.goes_out_as_is(text)``, asked once per text and encoder."""
        key = (encoder, text)
        known = self._checked.get(key)
        if known is None:
            known = encoder.goes_out_as_is(text)
            if len(self._checked) < MAX_ENTRIES:
                self._checked[key] = known
        return known

    def message(self, message: Any, encoder: Encoder) -> tuple[dict[str, Any], str | None]:
        """``message`` converted to the GenAI shape, and its JSON text when that goes out
        as is (None otherwise). Callers only read the conversion: it may be shared."""
        known = self._messages.get(id(message))
        if known is not None and known.still(message, encoder):
            return known.converted, known.text
        converted = message_parts(message)
        is_system = converted["role"] == sc.ROLE_SYSTEM
        # A system message's parts are items of the instructions' list: "[a,b]" -> "a,b".
        text = encoder.plain_json(converted["parts"] if is_system else converted)
        if text is not None and not self.goes_out_as_is(encoder, text):
            text = None
        if text is not None and is_system:
            text = text[1:-1]
        fingerprint = _fingerprint(message)
        if fingerprint is not None and len(self._messages) < MAX_ENTRIES:
            self._messages[id(message)] = _Known(message, fingerprint, encoder, converted, text)
        return converted, text


class _Known:
    """A message whose conversion cannot change while its fingerprint stays the same."""

    __slots__ = ("converted", "encoder", "fingerprint", "message", "text")

    def __init__(
        self, message: Any, fingerprint: tuple[Any, ...], encoder: Encoder,
        converted: dict[str, Any], text: str | None,
    ) -> None:
        self.message = message  # kept alive: its id() stays its own
        self.fingerprint = fingerprint
        self.encoder = encoder
        self.converted = converted
        self.text = text

    def still(self, message: Any, encoder: Encoder) -> bool:
        if message is not self.message or encoder is not self.encoder:
            return False
        fingerprint = _fingerprint(message)
        if fingerprint is None or len(fingerprint) != len(self.fingerprint):
            return False
        # By identity: the same str objects (the type is compared by value).
        mine = self.fingerprint
        return fingerprint[0] == mine[0] and all(
            a is b for a, b in zip(fingerprint[1:], mine[1:])
        )


def _fingerprint(message: Any) -> tuple[Any, ...] | None:
    """Everything ``message_parts`` reads of a LangChain message, when all of it is
    immutable (str content, no tool calls); None for anything that can change in place."""
    if type(message) is dict:
        return None
    kind = getattr(message, "type", None)
    if type(kind) is not str:
        return None
    content = getattr(message, "content", None)
    if type(content) is not str:
        return None
    if kind in ("tool", "function"):  # a tool result: its call id too
        call_id = getattr(message, "tool_call_id", None)
        return (kind, content, call_id) if call_id is None or type(call_id) is str else None
    if kind == "chat":
        role = getattr(message, "role", None)
        return (kind, content, role) if type(role) is str else None
    if kind in ("ai", "assistant", "AIMessageChunk") and getattr(message, "tool_calls", None):
        return None  # a list of dicts: they can change in place
    return (kind, content)


class Prompt:
    """One prompt in the GenAI shapes: the system instruction parts and the other
    messages, and both already encoded when every message's JSON goes out as is."""

    __slots__ = ("input", "input_json", "system", "system_json")

    def __init__(
        self,
        system: list[dict[str, Any]] | None,
        input: list[dict[str, Any]],  # noqa: A002 - the GenAI name
        system_json: Encoded | None = None,
        input_json: Encoded | None = None,
    ) -> None:
        self.system = system
        self.input = input
        self.system_json = system_json
        self.input_json = input_json


def prompt_of(messages: Sequence[Any], history: History | None, encoder: Encoder) -> Prompt:
    """A chat prompt (one list of messages), encoded from its messages' texts when the run
    tree has a ``history`` (a chat model run with no parent has none: it is encoded whole,
    later)."""
    system: list[dict[str, Any]] = []
    others: list[dict[str, Any]] = []
    system_pieces: list[str] = []
    input_pieces: list[str] = []
    encodable = history is not None
    for message in messages:
        if encodable:
            converted, text = history.message(message, encoder)  # type: ignore[union-attr]
        else:
            converted, text = message_parts(message), None
        if converted["role"] == sc.ROLE_SYSTEM:
            system.extend(converted["parts"])
            pieces = system_pieces
        else:
            others.append(converted)
            pieces = input_pieces
        if text is None:
            encodable = False
        elif encodable:
            pieces.append(text)
    prompt = Prompt(system or None, others)
    if encodable:
        system_json = encoder.joined_array(system_pieces) if system else None
        input_json = encoder.joined_array(input_pieces)
        if input_json is not None and (system_json is not None or not system):
            prompt.system_json, prompt.input_json = system_json, input_json
    return prompt
