"""A chat model's prompt, each message of a run tree's history encoded once.

An agent loop sends the conversation so far with every chat call: its third call repeats
the first two calls' messages. A run tree keeps the JSON of each message it has encoded
(``History``, on its top-level run's record); a later prompt joins the pieces instead of
encoding the messages again (``Encoder.joined_array``).

Safe whatever the application does with its messages: the entry of a message (by
``id()``) is used only while the message still converts to the same parts, compared by
value, so a message changed in place, or a new one at a reused address, is encoded
afresh. A message whose JSON would not go out as is (something to cut or redact) keeps no
piece, and the prompt is encoded whole, as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sentrial_otel import semconv as sc
from sentrial_otel._internal.content.encoding import Encoded, Encoder
from sentrial_otel.instrumentation.langchain._messages import message_parts

MAX_ENTRIES = 1024
"""Messages one run tree remembers; later ones are encoded each time (memory stays
bounded for a run that never ends)."""


class History:
    """The encoded messages of one run tree: ``id(message)`` -> (its parts, its piece)."""

    __slots__ = ("_entries",)

    def __init__(self) -> None:
        self._entries: dict[int, tuple[dict[str, Any], str | None]] = {}

    def piece(self, message: Any, converted: dict[str, Any], encode: Any) -> str | None:
        """The JSON piece of ``converted`` (what ``message`` converts to), from an earlier
        prompt of the tree when the message still converts to the same."""
        key = id(message)
        entry = self._entries.get(key)
        if entry is not None:
            try:
                if entry[0] == converted:
                    return entry[1]
            except Exception:  # noqa: BLE001 - content whose __eq__ raises: encode afresh
                pass
        piece = encode(converted)
        if len(self._entries) < MAX_ENTRIES:
            self._entries[key] = (converted, piece)
        return piece


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
    """A chat prompt (one list of messages), encoded from ``history``'s pieces when it has
    a run tree's (a chat model run with no parent has none: it is encoded whole)."""
    system: list[dict[str, Any]] = []
    others: list[dict[str, Any]] = []
    system_pieces: list[str] = []
    input_pieces: list[str] = []
    encodable = history is not None
    for message in messages:
        converted = message_parts(message)
        is_system = converted["role"] == sc.ROLE_SYSTEM
        if is_system:
            system.extend(converted["parts"])
        else:
            others.append(converted)
        if not encodable:
            continue
        if is_system:
            piece = history.piece(message, converted, _parts_of(encoder))  # type: ignore[union-attr]
            pieces = system_pieces
        else:
            piece = history.piece(message, converted, encoder.as_is_json)  # type: ignore[union-attr]
            pieces = input_pieces
        if piece is None:
            encodable = False
        else:
            pieces.append(piece)
    prompt = Prompt(system or None, others)
    if encodable:
        system_json = encoder.joined_array(system_pieces) if system else None
        input_json = encoder.joined_array(input_pieces)
        if input_json is not None and (system_json is not None or not system):
            prompt.system_json, prompt.input_json = system_json, input_json
    return prompt


def _parts_of(encoder: Encoder) -> Any:
    """A system message's piece: the JSON of its parts, as items of the instructions' list."""

    def encode(converted: dict[str, Any]) -> str | None:
        text = encoder.as_is_json(converted["parts"])
        return text[1:-1] if text is not None else None  # "[a,b]" -> "a,b"

    return encode
