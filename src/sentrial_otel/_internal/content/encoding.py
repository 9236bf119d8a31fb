"""Turning arbitrary Python values into span attribute values that backends can read.

SEMCONV.md's encoding rules: structured values become compact JSON strings (never OTLP
maps, which Phoenix and Langfuse mishandle); bytes become base64; anything else that JSON
cannot hold becomes its ``repr``. Truncation happens *inside* the structure, one string at
a time, so the result is always valid JSON (a blind cut by the SDK's length limit would
break it). Redaction of PII and secrets happens here too, leaf by leaf, before truncation,
so it reaches strings nested inside JSON content.
"""

from __future__ import annotations

import base64
import json
import math
import reprlib
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from sentrial_otel.config import DEFAULT_MAX_CONTENT_LENGTH

# A whole encoded value is bounded too: enough for this many full-length strings.
STRINGS_PER_VALUE = 16
MAX_ITEMS_PER_CONTAINER = 1000
MAX_DEPTH = 32
TRUNCATION_MARKER = "…[truncated]"
CYCLE_MARKER = "<cycle>"

# json's C encoder and decoder recurse in C, guarded only by the interpreter's recursion
# limit: an application that raises it far (to 10**6, say) lets deep or cyclic input
# overflow the C stack and kill the process. Above this limit the C paths are skipped:
# values go through the walk (depth-capped at MAX_DEPTH) and JSON text is not parsed.
SAFE_C_RECURSION_LIMIT = 10_000


def _reject(value: Any) -> Any:
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


_slow_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode
_make_c_encoder = getattr(json.encoder, "c_make_encoder", None)


class _ThreadEncoder(threading.local):
    """One C encoder per thread, reused: ``JSONEncoder.encode`` builds a new one on every
    call, which costs as much as encoding a small dict. Its cycle markers are its own (a
    shared dict would see another thread's containers as cycles)."""

    def __init__(self) -> None:
        self.markers: dict[int, Any] = {}
        self.chunks: Any = None
        try:
            self.chunks = _make_c_encoder(  # type: ignore[misc]
                self.markers, _reject, json.encoder.encode_basestring, None, ":", ",",
                False, False, False,
            )
        except Exception:  # noqa: BLE001 - no C accelerator (PyPy), or another signature
            self.chunks = None


_THREAD_ENCODER = _ThreadEncoder()


def _c_dumps_works() -> bool:
    sample = {"a": [1, "é", None, 2.5]}
    try:
        return "".join(_THREAD_ENCODER.chunks(sample, 0)) == _slow_dumps(sample)
    except Exception:  # noqa: BLE001 - an interpreter whose C encoder differs
        return False


def _fast_dumps(value: Any) -> str:
    encoder = _THREAD_ENCODER
    try:
        return "".join(encoder.chunks(value, 0))
    except BaseException:
        encoder.markers.clear()  # a failed encode leaves its path's markers behind
        raise


# Compact JSON (no NaN, UTF-8 kept) of plain JSON data; TypeError/ValueError otherwise.
_dumps: Callable[[Any], str] = (
    _fast_dumps if _THREAD_ENCODER.chunks is not None and _c_dumps_works() else _slow_dumps
)

StringFilter = Callable[[str], str]
KeyFilter = Callable[[str], bool]


class Encoded(NamedTuple):
    """An attribute value ready for ``span.set_attribute`` and whether content was cut."""

    value: str
    truncated: bool
    unrepresentable: bool = False
    """Some part of the value could not be read (its ``__repr__`` raised, its items could not
    be iterated): a placeholder stands in for it."""


_new_encoded = tuple.__new__


def _as_encoded(text: str) -> Encoded:
    """``Encoded(text, False)``, for the fast paths: NamedTuple's own constructor, a Python
    function with a default, costs twice as much and runs for every payload."""
    return _new_encoded(Encoded, (text, False, False))


class _Walker:
    """One pass over a value: copies it into JSON-safe types, cutting and redacting."""

    def __init__(
        self,
        max_string_length: int,
        max_total_length: int,
        redact: StringFilter | None,
        is_secret_key: KeyFilter | None,
    ) -> None:
        self.max_string_length = max_string_length
        self.budget = max_total_length
        self.redact = redact
        self.is_secret_key = is_secret_key
        self.truncated = False
        self.unrepresentable = False
        self._active: set[int] = set()

    def text(self, value: str) -> str:
        value = clean_surrogates(value)
        if self.redact is not None:
            value = self.redact(value)
        limit = min(self.max_string_length, max(self.budget, 0))
        if len(value) > limit:
            self.truncated = True
            value = value[:limit] + TRUNCATION_MARKER
        self.budget -= len(value)
        return value

    def walk(self, value: Any, depth: int = 0) -> Any:
        # Fast paths for the exact built-in types that make up most payloads (an exact type
        # check is much cheaper than isinstance against the collections ABCs).
        kind = type(value)
        if kind is str:
            return self.text(value)
        if kind is int or kind is bool or value is None:
            return value
        if depth < MAX_DEPTH and id(value) not in self._active:
            if kind is dict:
                return self._container(value, depth, self._walk_mapping)
            if kind is list:
                return self._container(value, depth, self._walk_sequence)
        # bool before int: bool is a subclass of int.
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            return value if math.isfinite(value) else repr(value)
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, (bytes, bytearray, memoryview)):
            return self.text(base64.b64encode(bytes(value)).decode("ascii"))
        if depth >= MAX_DEPTH:
            self.truncated = True
            return self.text(_shallow_repr(value))
        if id(value) in self._active:
            return CYCLE_MARKER
        if isinstance(value, Mapping):
            return self._container(value, depth, self._walk_mapping)
        if isinstance(value, (list, tuple)):
            return self._container(value, depth, self._walk_sequence)
        if isinstance(value, (set, frozenset)):
            ordered = sorted(value, key=_safe_repr)
            return self._container(ordered, depth, self._walk_sequence)
        plain = _plain_form(value)
        if plain is not None:
            return self._container(plain, depth, self._walk_mapping)
        text = repr_or_none(value)
        if text is None:
            self.unrepresentable = True
            text = placeholder(value)
        return self.text(text)

    def _container(self, value: Any, depth: int, walk_items: Callable[[Any, int], Any]) -> Any:
        self._active.add(id(value))
        try:
            return walk_items(value, depth + 1)
        except Exception:  # noqa: BLE001 - a container whose items() or iteration raises
            self.unrepresentable = True
            return self.text(placeholder(value))
        finally:
            self._active.discard(id(value))

    def _walk_mapping(self, value: Mapping[Any, Any], depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for index, (key, item) in enumerate(value.items()):
            if index >= MAX_ITEMS_PER_CONTAINER or self.budget <= 0:
                self.truncated = True
                out[TRUNCATION_MARKER] = len(value) - index
                break
            name = clean_surrogates(key if type(key) is str else _key_text(key))
            if name.startswith(_UNREPRESENTABLE):
                self.unrepresentable = True
            self.budget -= len(name) + 1  # keys and items count toward the size too
            if self.is_secret_key is not None and self.is_secret_key(name):
                out[name] = "[REDACTED]"
            else:
                out[name] = self.walk(item, depth)
        return out

    def _walk_sequence(self, value: Any, depth: int) -> list[Any]:
        out: list[Any] = []
        for index, item in enumerate(value):
            if index >= MAX_ITEMS_PER_CONTAINER or self.budget <= 0:
                self.truncated = True
                out.append(f"{TRUNCATION_MARKER} {len(value) - index} more items")
                break
            self.budget -= 1
            out.append(self.walk(item, depth))
        return out


def _key_text(key: Any) -> str:
    """A mapping key as JSON writes it (``true``, ``null``, ``1.5``), anything else as repr."""
    if isinstance(key, str):
        return str.__str__(key)
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int):
        return int.__repr__(key)
    if isinstance(key, float) and math.isfinite(key):
        return float.__repr__(key)
    return _safe_repr(key)


def key_text(key: Any) -> str | None:
    """A non-str mapping key as text (as JSON writes it, else its repr); None when it cannot
    be represented at all."""
    text = _key_text(key)
    return None if text.startswith(_UNREPRESENTABLE) else clean_surrogates(text)


def _plain_form(value: Any) -> Mapping[str, Any] | None:
    """A mapping view of dataclasses, pydantic models and plain objects, when there is one."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            result = dump()
            if isinstance(result, Mapping):
                return result
        except Exception:  # noqa: BLE001 - a broken model_dump falls back to repr
            return None
    fields = getattr(value, "__dataclass_fields__", None)
    if isinstance(fields, Mapping) and not isinstance(value, type):
        return {name: getattr(value, name, None) for name in fields}
    return None


_UNREPRESENTABLE = "<unrepresentable "


def placeholder(value: Any) -> str:
    """What stands in for a value that cannot be read: ``<unrepresentable TypeName>``."""
    return f"{_UNREPRESENTABLE}{type(value).__name__}>"


def repr_or_none(value: Any) -> str | None:
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - repr of user objects may raise anything
        return None
    return text if isinstance(text, str) else None


def _safe_repr(value: Any) -> str:
    text = repr_or_none(value)
    return text if text is not None else placeholder(value)


def safe_str(value: Any) -> str:
    """``str(value)``, or ``<unrepresentable TypeName>`` when that raises."""
    if type(value) is str:
        return value
    try:
        text = str(value)
    except Exception:  # noqa: BLE001 - __str__ of user objects may raise anything
        return placeholder(value)
    return text if isinstance(text, str) else placeholder(value)


def describe(value: Any) -> str:
    """A short, safe ``repr`` for messages about a bad argument (never raises, never long)."""
    return _shallow_repr(value)


# What is left below MAX_DEPTH, a few levels of it: the built-in repr of a container recurses
# in C to the bottom, however deep it goes (see SAFE_C_RECURSION_LIMIT).
_SHALLOW = reprlib.Repr()
_SHALLOW.maxlevel = 3
_SHALLOW.maxstring = _SHALLOW.maxother = 256


def _shallow_repr(value: Any) -> str:
    try:
        text = _SHALLOW.repr(value)
    except Exception:  # noqa: BLE001 - repr of user objects may raise anything
        return placeholder(value)
    return text if isinstance(text, str) else placeholder(value)


def clean_surrogates(text: str) -> str:
    """Replace lone surrogates, which no UTF-8 encoder (and so no exporter) accepts."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")


class Encoder:
    """Encodes values under one size and redaction policy."""

    def __init__(
        self,
        max_string_length: int = DEFAULT_MAX_CONTENT_LENGTH,
        redact: StringFilter | None = None,
        is_secret_key: KeyFilter | None = None,
        needs_walk: Callable[[str], bool] | None = None,
        max_value_length: int | None = None,
    ) -> None:
        """``needs_walk(text)`` says whether already-valid text might still need the filters
        (secrets in it); when given, text it clears skips the walk. Without it, every value
        is walked. ``max_value_length``: the span's attribute value length limit; every
        value (a whole JSON document, each string of an array) is made to fit it, cut
        inside the structure, so the SDK never cuts one blindly."""
        self.max_value_length = max_value_length
        if max_value_length is not None:
            # A plain string keeps room for the marker (when the limit leaves any).
            room = max_value_length - len(TRUNCATION_MARKER)
            max_string_length = min(max_string_length, room if room > 0 else max_value_length)
        self.max_string_length = max_string_length
        self.max_total_length = max_string_length * STRINGS_PER_VALUE
        self.redact = redact
        self.is_secret_key = is_secret_key
        self.needs_walk = needs_walk

    def _as_is(self, text: str) -> bool:
        """Whether ``text`` can go out unchanged: short, UTF-8 clean, nothing to redact."""
        if self.needs_walk is None or len(text) > self.max_string_length:
            return False
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                return False
        return not self.needs_walk(text)

    def _walker(self, budget: int | None = None) -> _Walker:
        return _Walker(
            self.max_string_length if budget is None else min(self.max_string_length, budget),
            self.max_total_length if budget is None else budget,
            self.redact,
            self.is_secret_key,
        )

    def json(self, value: Any) -> Encoded:
        """Compact JSON of any value, valid whatever the input, bounded in size."""
        # The common case, plain JSON-able data with nothing to cut or redact, is one
        # C-accelerated dumps; anything else (bytes, sets, NaN, cycles, long or secret-
        # looking strings) takes the walk below.
        text = self.plain_json(value)
        if text is not None and self.goes_out_as_is(text):
            return _as_encoded(text)
        encoded = self._walked(None, value)
        limit = self.max_value_length
        if limit is not None and len(encoded.value) > limit:
            return self._json_within(value, limit, encoded)
        return encoded

    def plain_json(self, value: Any) -> str | None:
        """The compact JSON of ``value`` when it is plain JSON data that :meth:`json` may
        encode in one C pass, else None (a value :meth:`json` must walk)."""
        if self.needs_walk is None or sys.getrecursionlimit() > SAFE_C_RECURSION_LIMIT:
            return None
        try:
            return _dumps(value)
        except (TypeError, ValueError, RecursionError):
            return None

    def goes_out_as_is(self, text: str) -> bool:
        """Whether :meth:`json` returns ``text``, the :meth:`plain_json` of a value,
        untouched (nothing to cut or redact). Such texts join into a list for free
        (:meth:`joined_array`): a chat history's messages are checked once, not again in
        every later prompt that repeats them."""
        limit = self.max_value_length
        return self._as_is(text) and (limit is None or len(text) <= limit)

    def joined_array(self, pieces: Sequence[str]) -> Encoded | None:
        """What :meth:`json` gives for a list, from the :meth:`plain_json` texts of its
        items, each of which :meth:`goes_out_as_is` (a piece may hold several consecutive
        items, comma-separated; empty pieces are skipped); None when the list is too long
        to go out as is (encode the list itself then). No piece needs anything cut or
        redacted, so neither does the list while it fits the per-string limit: the walk
        :meth:`json` may still take over it (its secret pre-test reads the whole text)
        changes nothing."""
        pieces = [piece for piece in pieces if piece]
        length = 2 + sum(map(len, pieces)) + max(len(pieces) - 1, 0)
        limit = self.max_value_length
        if length > self.max_string_length or (limit is not None and length > limit):
            return None
        return Encoded("[" + ",".join(pieces) + "]", False)

    def _walked(self, budget: int | None, value: Any) -> Encoded:
        walker = self._walker(budget)
        try:
            text = _dumps(walker.walk(value))
        except Exception:  # noqa: BLE001 - a value that broke even the walk
            return Encoded(_dumps(placeholder(value)), False, True)
        return Encoded(text, walker.truncated, walker.unrepresentable)

    def _json_within(self, value: Any, limit: int, encoded: Encoded) -> Encoded:
        """The JSON cut inside until the whole document fits ``limit`` characters: a smaller
        string budget each pass (escapes and keys make the text longer than its strings),
        and at worst the empty container, which is still valid JSON of the same kind."""
        budget = min(self.max_total_length, limit)
        for _ in range(6):
            budget = max(0, int(budget * limit / len(encoded.value) * 0.9) - 1)
            encoded = self._walked(budget, value)
            if len(encoded.value) <= limit:
                return Encoded(encoded.value, True, encoded.unrepresentable)
            if budget == 0:
                break
        empty = {"{": "{}", "[": "[]"}.get(encoded.value[:1], '""')
        return Encoded(empty if len(empty) <= limit else "", True, encoded.unrepresentable)

    def json_object(self, value: Any, wrap_key: str) -> Encoded:
        """A JSON *object*: dicts as they are, JSON strings parsed, the rest ``{wrap_key: v}``."""
        if type(value) is dict:  # the common case, without the ABC checks below
            return self.json(value)
        try:
            if isinstance(value, str) and sys.getrecursionlimit() <= SAFE_C_RECURSION_LIMIT:
                stripped = value.strip()
                if stripped.startswith("{"):
                    try:
                        parsed = json.loads(stripped)
                    except ValueError:
                        parsed = None
                    if isinstance(parsed, dict):
                        value = parsed
            if not isinstance(value, Mapping) and _plain_form(value) is None:
                value = {wrap_key: value}
        except Exception:  # noqa: BLE001 - a value whose type checks raise
            value = {wrap_key: value}
        return self.json(value)

    def text(self, value: Any) -> Encoded:
        """A plain string attribute: strings as they are, other values as JSON."""
        if not isinstance(value, str):
            return self.json(value)
        if self._as_is(value):
            return _as_encoded(value)
        walker = self._walker()
        text = walker.text(value)
        limit = self.max_value_length
        if limit is not None and len(text) > limit:  # a limit too short for the marker
            text = text[:limit]
        return Encoded(text, walker.truncated)

    def strings(self, values: Any) -> tuple[list[str], bool, bool]:
        """A homogeneous ``str[]`` attribute from any iterable (or a single value), whether
        it was cut, and whether something in it could not be read."""
        if values is None:
            return [], False, False
        walker = self._walker()
        out: list[str] = []
        try:
            if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
                values = [values]
            for index, item in enumerate(values):
                if index >= MAX_ITEMS_PER_CONTAINER:
                    walker.truncated = True
                    break
                if type(item) is str and len(item) <= walker.budget and self._as_is(item):
                    walker.budget -= len(item)  # what walker.text would give: the item itself
                    out.append(item)
                elif isinstance(item, str):
                    out.append(walker.text(item))
                else:
                    inner = walker.walk(item)
                    text = inner if isinstance(inner, str) else _dumps(inner)
                    if self.max_value_length is not None and len(text) > self.max_value_length:
                        encoded = self.json(item)
                        text, walker.truncated = encoded.value, True
                    out.append(text)
        except Exception:  # noqa: BLE001 - a broken iterator keeps what it gave
            walker.truncated = walker.unrepresentable = True
        return out, walker.truncated, walker.unrepresentable


def finite_float(value: Any) -> float | None:
    """A finite float from a number (bools and NaN/inf excluded), or None."""
    if value is None:  # the usual "not given": skip the failed float() below
        return None
    if isinstance(value, (str, bool)):
        return None
    try:
        result = float(value)  # ints, Decimal, numpy scalars
    except Exception:  # noqa: BLE001 - not a number, or one whose __float__ raises
        return None
    return result if math.isfinite(result) else None


def non_negative_int(value: Any) -> int | None:
    """A non-negative int from an int-like value (bools excluded), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer() and value >= 0:
        return int(value)
    return None


def primitive_or_json(value: Any, encoder: Encoder) -> tuple[Any, bool]:
    """A metadata value: str/bool/int/float kept as is (NaN as a string), others as JSON."""
    if isinstance(value, bool):
        return value, False
    if isinstance(value, int):
        # OTLP ints are 64-bit; larger ones would fail the whole export.
        if -(2**63) <= value < 2**63:
            return value, False
        return str(value), False
    if isinstance(value, float):
        return (value, False) if math.isfinite(value) else (repr(value), False)
    if isinstance(value, str):
        encoded = encoder.text(value)
        return encoded.value, encoded.truncated
    encoded = encoder.json(value)
    return encoded.value, encoded.truncated
