"""``handle_internal_errors``: an error of ours never reaches the user's code.

One guard, as a decorator or a context manager (Logfire's ``handle_internal_errors``)::

    @handle_internal_errors(fallback=dict, strict=by_instance)
    def track_tool_call(self, ...): ...

    with handle_internal_errors("ending the tool span"):
        call.stop()

On an ``Exception`` it logs ``sentrial: internal error in <what>; your code keeps running``
(with the traceback) on the ``sentrial`` logger and carries on: the decorated function
returns ``fallback`` (called, if callable), the ``with`` block is left. ``BaseException``s
that are not ``Exception``s (``KeyboardInterrupt``, a task's ``CancelledError``) always
propagate. In strict mode (``fail_silently=False``) the error is re-raised instead, so a
misuse reported by a strict ``MisuseReporter`` reaches the call site. Errors of the user's
own code are never caught here: decorators and context managers of ours re-raise them.
"""

from __future__ import annotations

import functools
import logging
import operator
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from sentrial_otel._internal.logs import logger

F = TypeVar("F", bound=Callable[..., Any])

by_instance: Callable[[Any], bool] = operator.attrgetter("strict")
"""``strict=by_instance``: a method is strict when its object's ``strict`` attribute is."""


class handle_internal_errors:  # noqa: N801 - used like a function, as Logfire's
    """Log an internal error and carry on (see the module docstring).

    Args:
        what: named in the log line (default: the decorated function's qualified name).
        fallback: what a decorated function returns after an error (called if callable).
        strict: re-raise instead; for a decorator also a function of the first argument
            (``by_instance``), decided at each call.
        level: the log level (``logging.DEBUG`` for best-effort steps such as shutdown).
    """

    __slots__ = ("fallback", "level", "strict", "what")

    def __init__(
        self,
        what: str | None = None,
        *,
        fallback: Any = None,
        strict: bool | Callable[[Any], bool] = False,
        level: int = logging.WARNING,
    ) -> None:
        self.what = what
        self.fallback = fallback
        self.strict = strict
        self.level = level

    # --- as a context manager ---------------------------------------------------------
    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if error is None or not isinstance(error, Exception) or self.strict is True:
            return False
        self._log(self.what or "sentrial")
        return True

    # --- as a decorator ---------------------------------------------------------------
    def __call__(self, function: F) -> F:
        what = self.what or function.__qualname__
        fallback, strict = self.fallback, self.strict

        @functools.wraps(function)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                return function(*args, **kwargs)
            except Exception:
                if strict is True or (callable(strict) and args and strict(args[0])):
                    raise
                self._log(what)
                return fallback() if callable(fallback) else fallback

        return guarded  # type: ignore[return-value]

    def _log(self, what: str) -> None:
        logger.log(
            self.level, "sentrial: internal error in %s; your code keeps running", what,
            exc_info=True,
        )
