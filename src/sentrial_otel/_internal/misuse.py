"""Reporting misuse (a bad argument) without breaking the agent.

Default (``fail_silently=True``): a bad argument is repaired or dropped and logged once per
kind of problem. Strict (``fail_silently=False``): misuse raises a clear
``TypeError``/``ValueError`` naming the argument at the call site. Internal errors are
``errors.handle_internal_errors``' business.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sentrial_otel._internal.content.encoding import (
    Encoded,
    clean_surrogates,
    placeholder,
    repr_or_none,
)
from sentrial_otel._internal.logs import logger

Report = Callable[[type[Exception], str], None]
"""``report(ErrorType, message)``: how attribute builders report a bad value."""

_MAX_DISTINCT_WARNINGS = 1000


class MisuseReporter:
    """Raises in strict mode; otherwise warns once per distinct problem."""

    def __init__(self, strict: bool) -> None:
        self.strict = strict
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, error_type: type[Exception], message: str) -> None:
        if self.strict:
            raise error_type(message)
        self.warn(message)

    def warn(self, message: str) -> None:
        with self._lock:
            if message in self._seen or len(self._seen) >= _MAX_DISTINCT_WARNINGS:
                return
            self._seen.add(message)
        logger.warning("sentrial: %s", message)


class Deferred:
    """A report that, in strict mode, keeps the first misuse and raises it only when
    :meth:`raise_first` is called, after work that must finish anyway (a session's root
    still ends when ``complete_session`` is given a bad argument)."""

    def __init__(self, report: Report) -> None:
        self.report = report
        self.error: Exception | None = None

    def __call__(self, error_type: type[Exception], message: str) -> None:
        if getattr(self.report, "strict", False):
            if self.error is None:
                self.error = error_type(message)
            return
        self.report(error_type, message)

    def raise_first(self) -> None:
        if self.error is not None:
            raise self.error


# --- checks shared by the public calls ----------------------------------------------------
# Each repairs one argument and reports what was wrong once, naming the argument: a
# ``TypeError`` for a value of the wrong type or one that cannot be read (its ``__str__`` /
# ``__repr__`` raise), a ``ValueError`` for a value of the right type that is out of range
# or too long. The repaired value is what gets recorded; the session always goes on.

MAX_NAME_LENGTH = 256


def name_argument(
    value: Any,
    argument: str,
    report: Report,
    default: str = "",
    *,
    required: bool = False,
    ints: bool = False,
) -> str:
    """A name or id (agent, tool, model, user, conversation) as a short clean string.

    ``required``: None or blank is reported; ``ints``: ints are taken as their text without
    a report (the Sentrial SDK accepts a numeric user id)."""
    if type(value) is str and value.isascii() and len(value) <= MAX_NAME_LENGTH:
        text = value.strip()  # the usual case: a short ASCII name
        if not text and required:
            report(ValueError, f"{argument} is required (got {value!r})")
        return text or default
    if value is None:
        if required:
            report(ValueError, f"{argument} is required (got None)")
        return default
    if isinstance(value, str):
        text = str.__str__(value)
    elif ints and isinstance(value, int) and not isinstance(value, bool):
        text = int.__repr__(value)
    else:
        shown = repr_or_none(value)
        if shown is None:
            text = placeholder(value)
            report(TypeError, f"{argument} must be a str, not {type(value).__name__} (one that "
                   f"cannot be represented: its __repr__ raised); recorded as {text!r}")
        else:
            text = shown
            report(TypeError, f"{argument} must be a str, not {type(value).__name__}")
    text = clean_surrogates(text).strip()
    if len(text) > MAX_NAME_LENGTH:
        report(ValueError, f"{argument} is longer than {MAX_NAME_LENGTH} characters; cut")
        text = text[:MAX_NAME_LENGTH]
    return text or default


def flag_argument(value: Any, argument: str, report: Report, default: bool) -> bool:
    """A bool argument; anything else is reported and read as its truth value (or
    ``default`` when even that raises)."""
    if value is True or value is False:
        return value
    if value is None:
        return default
    report(TypeError, f"{argument} must be a bool, not {type(value).__name__}")
    try:
        return bool(value)
    except Exception:  # noqa: BLE001 - a __bool__ that raises
        return default


def check_content(encoded: Encoded, argument: str, report: Report) -> Encoded:
    """Report a content value that held something unreadable (now a placeholder)."""
    if encoded.unrepresentable:
        report(TypeError, f"{argument} holds a value that cannot be represented (its __repr__ "
               "or iteration raised); recorded with a placeholder")
    return encoded
