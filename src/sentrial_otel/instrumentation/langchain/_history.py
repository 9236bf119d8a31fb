"""A chat model's prompt, each message of a run tree's history checked once.

An agent loop sends the conversation so far with every chat call: its third call repeats
the first two calls' messages. Encoding a message to JSON is one C call; what costs is
checking that the JSON can go out as it is (the secret pre-test reads all of it, for
every prompt that repeats it). A run tree (``History``, on its top-level run's record)
remembers the JSON texts of its messages it has checked, and a later prompt joins the
texts instead of checking the whole prompt again (``Encoder.joined_array``).

Exact whatever the application does with its messages: the texts are the messages' JSON
of now (each message is converted and encoded again for every prompt), only the check is
remembered, by the text itself and the encoder that checked it. A message with anything to
cut or redact sends the prompt through the whole-value path, as before.
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
    """The JSON texts of one run tree's messages, and whether each goes out as is."""

    __slots__ = ("_checked",)

    def __init__(self) -> None:
        self._checked: dict[tuple[Encoder, str], bool] = {}

    def goes_out_as_is(self, encoder: Encoder, text: str) -> bool:
        """``encoder.goes_out_as_is(text)``, asked once per text and encoder."""
        key = (encoder, text)
        known = self._checked.get(key)
        if known is None:
            known = encoder.goes_out_as_is(text)
            if len(self._checked) < MAX_ENTRIES:
                self._checked[key] = known
        return known


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
        converted = message_parts(message)
        is_system = converted["role"] == sc.ROLE_SYSTEM
        if is_system:
            system.extend(converted["parts"])
        else:
            others.append(converted)
        if not encodable:
            continue
        # A system message's parts are items of the instructions' list: "[a,b]" -> "a,b".
        text = encoder.plain_json(converted["parts"] if is_system else converted)
        if text is None or not history.goes_out_as_is(encoder, text):  # type: ignore[union-attr]
            encodable = False
        elif is_system:
            system_pieces.append(text[1:-1])
        else:
            input_pieces.append(text)
    prompt = Prompt(system or None, others)
    if encodable:
        system_json = encoder.joined_array(system_pieces) if system else None
        input_json = encoder.joined_array(input_pieces)
        if input_json is not None and (system_json is not None or not system):
            prompt.system_json, prompt.input_json = system_json, input_json
    return prompt
