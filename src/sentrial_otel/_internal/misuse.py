"""Reporting misuse and internal errors without breaking the agent.

Default (``fail_silently=True``): a bad argument is repaired or dropped and logged once per
kind of problem; an internal error is logged and swallowed. Strict (``fail_silently=False``):
misuse raises a clear ``TypeError``/``ValueError`` naming the argument at the call site.
User exceptions are never swallowed by either: decorators and context managers re-raise them.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import Any, TypeVar

# No NullHandler on purpose: with no logging configured, Python's last-resort handler shows
# our warnings (a dead collector, spans not delivered) on stderr, as the OpenTelemetry SDK's.
logger = logging.getLogger("sentrial")

F = TypeVar("F", bound=Callable[..., Any])

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


def guarded(fallback: Any = None) -> Callable[[F], F]:
    """Run a public method so that no error of ours reaches the caller unless strict.

    The instance's ``strict`` attribute decides; TypeError/ValueError raised on purpose by
    a strict MisuseReporter propagate, anything else is logged and ``fallback`` returned.
    """

    def decorate(method: F) -> F:
        @functools.wraps(method)
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except Exception:
                if getattr(self, "strict", False):
                    raise
                logger.warning(
                    "sentrial: internal error in %s; your agent keeps running",
                    method.__qualname__,
                    exc_info=True,
                )
                return fallback() if callable(fallback) else fallback

        return wrapper  # type: ignore[return-value]

    return decorate
