"""Reporting misuse (a bad argument) without breaking the agent.

Default (``fail_silently=True``): a bad argument is repaired or dropped and logged once per
kind of problem. Strict (``fail_silently=False``): misuse raises a clear
``TypeError``/``ValueError`` naming the argument at the call site. Internal errors are
``errors.handle_internal_errors``' business.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

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
