"""Make a run's span current while LangChain runs the run's body.

Callbacks never attach an OpenTelemetry context (one missed detach would parent every later
span in that thread). But spans that user code or other instrumentations (an HTTP client, a
database driver) create inside a tool or a LangGraph node must nest under that tool/node
span, so *something* must make it current while the body runs.

The safe place: LangChain runs every child body (tools, LCEL steps, LangGraph nodes) through
``set_config_context(child_config)``, a context manager that copies the caller's
``contextvars.Context`` into a fresh ``ctx``, sets the child config in it and yields it; the
body then runs with ``ctx.run(...)`` (or as a task created in ``ctx``). We wrap that
context manager: inside ``ctx`` we attach the span of the run that owns the body (the
child config's callback manager's ``parent_run_id``, looked up in the shared run registry)
and detach it in ``finally``, inside the same ``ctx``. The caller's own context is never
touched, so its current span is the same before and after a run.

``set_config_context`` is imported by name into several modules, so the name is wrapped in
each of them; LangGraph has its own copy. Modules that are missing are skipped. The hooks
are reference-counted: the instrumentor and every live ``SentrialCallbackHandler`` hold one,
and the last to let go restores the originals.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from contextvars import Context
from typing import Any

from opentelemetry import context as otel_context
from wrapt import wrap_function_wrapper

from sentrial_otel.instrumentation.langchain._runs import RUNS, RunRegistry
from sentrial_otel.misuse import logger

# Every module that calls set_config_context by a name of its own.
TARGETS: tuple[str, ...] = (
    "langchain_core.runnables.config",
    "langchain_core.runnables.base",
    "langchain_core.runnables.fallbacks",
    "langchain_core.tools.base",
    "langgraph._internal._runnable",
)
_NAME = "set_config_context"


def _owner_context(config: Any, registry: RunRegistry) -> otel_context.Context | None:
    """The context the body of the run owning ``config`` should run in, if it is ours."""
    callbacks = config.get("callbacks") if isinstance(config, dict) else None
    run_id = getattr(callbacks, "parent_run_id", None)
    record = registry.get(run_id)
    return record.child_context if record is not None else None


class _WithRunSpan:
    """``with set_config_context(config) as ctx``, with the owning run's span attached in
    ``ctx`` (and detached in ``finally``). A class, not ``@contextmanager``: it runs for
    every node and tool, and a generator-based manager costs several times more."""

    __slots__ = ("_config", "_ctx", "_entered", "_registry", "_token")

    def __init__(self, entered: Any, config: Any, registry: RunRegistry) -> None:
        self._entered = entered
        self._config = config
        self._registry = registry
        self._ctx: Any = None
        self._token: Any = None

    def __enter__(self) -> Any:
        ctx = self._entered.__enter__()
        self._ctx = ctx
        try:
            parent = _owner_context(self._config, self._registry)
            if parent is not None and isinstance(ctx, Context):
                self._token = ctx.run(otel_context.attach, parent)
        except Exception:  # noqa: BLE001 - never break the run for our sake
            logger.debug("sentrial: could not make the run's span current", exc_info=True)
        return ctx

    def __exit__(self, *exc_info: object) -> Any:
        token, self._token = self._token, None
        if token is not None:
            try:
                self._ctx.run(otel_context.detach, token)
            except Exception:  # noqa: BLE001
                logger.debug("sentrial: could not restore the run context", exc_info=True)
        return self._entered.__exit__(*exc_info)


def _wrapper(registry: RunRegistry) -> Callable[..., Any]:
    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        entered = wrapped(*args, **kwargs)
        config = args[0] if args else kwargs.get("config")
        return _WithRunSpan(entered, config, registry)

    return wrapper


_users = 0
_patches: list[tuple[Any, Any]] = []
_lock = threading.Lock()


def acquire() -> None:
    """Install the hooks for one more user (the instrumentor, a live manual handler)."""
    global _users, _patches
    with _lock:
        _users += 1
        if _users == 1:
            _patches = install()


def release() -> None:
    """One user less; the last one out puts the originals back."""
    global _users, _patches
    with _lock:
        if _users == 0:
            return
        _users -= 1
        if _users == 0:
            uninstall(_patches)
            _patches = []


def install(registry: RunRegistry = RUNS) -> list[tuple[Any, Any]]:
    """Wrap ``set_config_context`` wherever it is imported; returns (module, original) pairs."""
    patched: list[tuple[Any, Any]] = []
    for name in TARGETS:
        try:
            module = importlib.import_module(name)
            original = getattr(module, _NAME)
        except (ImportError, AttributeError):
            continue
        wrap_function_wrapper(module, _NAME, _wrapper(registry))
        patched.append((module, original))
    return patched


def uninstall(patched: list[tuple[Any, Any]]) -> None:
    """Put back the originals that :func:`install` replaced."""
    for module, original in patched:
        setattr(module, _NAME, original)
