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

Models: LangChain calls a chat model's or LLM's own code (``_generate``, ``_stream``, the
provider's HTTP call) outside ``set_config_context``, so the LLM span needs hooks of its
own, in the frames of ``langchain_core`` that hold the run:

* ``BaseChatModel._generate_with_cache`` / ``_agenerate_with_cache`` and ``BaseLLM``'s
  ``_generate_helper`` / ``_agenerate_helper`` (``invoke``, ``ainvoke``, ``batch``, streaming
  inside ``invoke``) get the run manager: attach its run's span, call, detach in ``finally``.
* ``stream`` / ``astream`` start the run inside their own generator, between two of its
  yields, so nothing outside knows the run before the provider call. The wrapper steps the
  generator with the LLM span attached and detached around each step, never across a
  yield (that would leak it into the caller). For the first step it arms a one-shot slot;
  the handler's LLM-start callback, called inline in the same thread and task, fills it
  with the new run's span and attaches it; the wrapper detaches it when the step ends.

Ends LangChain does not report: a body left by anything but an ``Exception`` (a cancelled
task's ``CancelledError``, ``GeneratorExit``, ``KeyboardInterrupt``) may get no error
callback (``BaseChatModel.agenerate`` gathers its calls and never reports a cancelled one;
``BaseRetriever`` reports only ``Exception``; older ``BaseTool.arun`` too). The hooks above see
it leave, so they end the run that owns the body there, as the error callback would
(:meth:`~_handler.OpenTelemetryCallbackHandler.end_run`); when the callback does come, the
run is already gone and it does nothing. ``BaseRetriever.invoke`` / ``ainvoke`` start their
run on a run manager of their own, so their hook arms a slot that the handler's
retriever-start callback (inline, same thread and task) fills with the run.

Streams a consumer reads (LangGraph's ``Pregel.stream`` / ``astream``, ``astream_events``):
when the consumer stops reading (``break``, ``close()``), LangGraph cancels the node tasks
still running, so their runs end on a ``CancelledError`` that is no failure. The wrapper
sets a :class:`Consumer` in a context variable around each step (runs started inside the
step, and in tasks and threads it spawns, copy it into their record) and marks it stopped
when the consumer closes the stream, before the stream's own cleanup cancels anything.
"""

from __future__ import annotations

import asyncio
import importlib
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextvars import Context, ContextVar
from typing import Any

from opentelemetry import context as otel_context
from wrapt import wrap_function_wrapper

from sentrial_otel._internal.logs import logger
from sentrial_otel.instrumentation.langchain._runs import RUNS, RunRecord, RunRegistry

# Every module that calls set_config_context by a name of its own.
TARGETS: tuple[str, ...] = (
    "langchain_core.runnables.config",
    "langchain_core.runnables.base",
    "langchain_core.runnables.fallbacks",
    "langchain_core.tools.base",
    "langgraph._internal._runnable",
)
_NAME = "set_config_context"
# The hooks below guard with a plain try, not handle_internal_errors' with-block (two
# Python calls): they run around every tool, node and model call of every run.


def _owner(config: Any, registry: RunRegistry) -> RunRecord | None:
    """The run owning ``config`` (the body about to run is its body), if it is ours."""
    callbacks = config.get("callbacks") if isinstance(config, dict) else None
    return registry.get(getattr(callbacks, "parent_run_id", None))


def _end_unreported(record: RunRecord | None, error: BaseException | None) -> None:
    """``record``'s body was left by ``error``: if LangChain may report no end for it (not
    an ``Exception``), end the run now, as its error callback would."""
    if record is None or error is None or isinstance(error, Exception):
        return
    try:
        record.owner.end_run(record.run_id, error)
    except Exception:  # noqa: BLE001 - the body's own error is what propagates
        logger.debug("sentrial: could not end a LangChain run left unreported", exc_info=True)


class _WithRunSpan:
    """``with set_config_context(config) as ctx``, with the owning run's span attached in
    ``ctx`` (and detached in ``finally``). A class, not ``@contextmanager``: it runs for
    every node and tool, and a generator-based manager costs several times more."""

    __slots__ = ("_config", "_ctx", "_entered", "_record", "_registry", "_token")

    def __init__(self, entered: Any, config: Any, registry: RunRegistry) -> None:
        self._entered = entered
        self._config = config
        self._registry = registry
        self._ctx: Any = None
        self._token: Any = None
        self._record: RunRecord | None = None

    def __enter__(self) -> Any:
        ctx = self._entered.__enter__()
        self._ctx = ctx
        try:
            record = self._record = _owner(self._config, self._registry)
            if record is not None and isinstance(ctx, Context):
                self._token = ctx.run(otel_context.attach, record.child_context)
        except Exception:  # noqa: BLE001 - never break the run for our sake
            logger.debug("sentrial: could not make the run's span current", exc_info=True)
        return ctx

    def __exit__(self, *exc_info: Any) -> Any:
        token, self._token = self._token, None
        if token is not None:
            try:
                self._ctx.run(otel_context.detach, token)
            except Exception:  # noqa: BLE001
                logger.debug("sentrial: could not restore the run context", exc_info=True)
        if exc_info[1] is not None:
            _end_unreported(self._record, exc_info[1])
        return self._entered.__exit__(*exc_info)


def _wrapper(registry: RunRegistry) -> Callable[..., Any]:
    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        entered = wrapped(*args, **kwargs)
        config = args[0] if args else kwargs.get("config")
        return _WithRunSpan(entered, config, registry)

    return wrapper


# --- models ---------------------------------------------------------------------------------
def _attach(context: otel_context.Context | None) -> Any:
    if context is None:
        return None
    try:
        return otel_context.attach(context)
    except Exception:  # noqa: BLE001 - never break the run for our sake
        logger.debug("sentrial: could not make the LLM span current", exc_info=True)
        return None


def _detach(token: Any) -> None:
    if token is not None:
        try:
            otel_context.detach(token)
        except Exception:  # noqa: BLE001
            logger.debug("sentrial: could not restore the context after an LLM call", exc_info=True)


def _llm_run(run_managers: Any, registry: RunRegistry) -> RunRecord | None:
    """The LLM run of a run manager (or a one-element list of them)."""
    if isinstance(run_managers, list):
        # BaseLLM runs a batch of prompts in one provider call: no single span to pick.
        run_managers = run_managers[0] if len(run_managers) == 1 else None
    record = registry.get(getattr(run_managers, "run_id", None))
    if record is None or record.kind != "llm":
        return None
    # Its span, and its inference slot (for the provider's span, when another
    # instrumentation traces the call: rollup.InferenceSlot), even when it has no span.
    return record


def _call_wrapper(registry: RunRegistry, is_async: bool) -> Callable[..., Any]:
    """For ``_generate_with_cache(messages, stop, run_manager)`` and
    ``_generate_helper(prompts, stop, run_managers)`` (and their async twins)."""

    def run_managers(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if len(args) > 2:
            return args[2]
        return kwargs.get("run_manager", kwargs.get("run_managers"))

    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        record = _llm_run(run_managers(args, kwargs), registry)
        token = _attach(record.child_context) if record is not None else None
        try:
            return wrapped(*args, **kwargs)
        except BaseException as error:
            _end_unreported(record, error)
            raise
        finally:
            _detach(token)

    async def async_wrapper(
        wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        # Attach and detach inside the coroutine: both happen in the awaiting task's context.
        record = _llm_run(run_managers(args, kwargs), registry)
        token = _attach(record.child_context) if record is not None else None
        try:
            return await wrapped(*args, **kwargs)
        except BaseException as error:
            # agenerate() never reports a cancelled call: the span would stay open.
            _end_unreported(record, error)
            raise
        finally:
            _detach(token)

    return async_wrapper if is_async else wrapper


class _Pending:
    """The one-shot slot a stream's first step arms for the run the stream starts."""

    __slots__ = ("context", "task", "thread", "token")

    def __init__(self) -> None:
        self.context: otel_context.Context | None = None
        self.token: Any = None
        self.thread = threading.get_ident()
        self.task = _current_task()


def _current_task() -> Any:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no running loop
        return None


_PENDING: ContextVar[_Pending | None] = ContextVar("sentrial_langchain_pending_llm", default=None)


def llm_started(record: RunRecord) -> None:
    """Called by the handler when it starts an LLM run: inside the first step of a wrapped
    ``stream``/``astream``, make the run's context (its span, its inference slot) current
    until the step ends.

    Only the first LLM run of the step, and only in the thread and task that armed the
    slot (the one whose ``finally`` detaches); anything else is left alone.
    """
    pending = _PENDING.get()
    if pending is None or pending.context is not None:
        return
    if pending.thread != threading.get_ident() or pending.task is not _current_task():
        return
    pending.context = record.child_context
    pending.token = _attach(pending.context)


def _step_begin(pending: _Pending, first: bool) -> tuple[Any, Any]:
    if first:
        return _PENDING.set(pending), None
    return None, _attach(pending.context)


def _step_end(pending: _Pending, armed: Any, token: Any) -> None:
    if armed is not None:
        token, pending.token = pending.token, None
        _PENDING.reset(armed)
    _detach(token)


def _stream_steps(stream: Iterator[Any]) -> Iterator[Any]:
    pending = _Pending()
    first = True
    try:
        while True:
            armed, token = _step_begin(pending, first)
            try:
                chunk = next(stream)
            except StopIteration:
                return
            finally:
                _step_end(pending, armed, token)
                first = False
            yield chunk
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()


async def _astream_steps(stream: AsyncIterator[Any]) -> AsyncIterator[Any]:
    pending = _Pending()
    first = True
    try:
        while True:
            armed, token = _step_begin(pending, first)
            try:
                chunk = await stream.__anext__()
            except StopAsyncIteration:
                return
            finally:
                _step_end(pending, armed, token)
                first = False
            yield chunk
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()


class Consumer:
    """The reader of one stream; ``stopped`` once it closed the stream before its end. A
    stream read inside another one's step (``astream_events`` reads ``astream``) has the
    outer one's reader as ``outer``: stopping the outer stream stops the inner."""

    __slots__ = ("outer", "stopped")

    def __init__(self, outer: Consumer | None) -> None:
        self.outer = outer
        self.stopped = False

    def has_stopped(self) -> bool:
        consumer: Consumer | None = self
        while consumer is not None:
            if consumer.stopped:
                return True
            consumer = consumer.outer
        return False


CONSUMER: ContextVar[Consumer | None] = ContextVar("sentrial_langchain_consumer", default=None)
"""The consumer of the stream whose step is running, if any (read by the handler at each
run's start)."""


def _consumed_steps(stream: Iterator[Any]) -> Iterator[Any]:
    consumer = Consumer(CONSUMER.get())
    try:
        while True:
            token = CONSUMER.set(consumer)
            try:
                chunk = next(stream)
            except StopIteration:
                return
            finally:
                CONSUMER.reset(token)
            yield chunk
    except GeneratorExit:
        consumer.stopped = True  # before the stream's cleanup cancels its tasks
        raise
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()


async def _aconsumed_steps(stream: AsyncIterator[Any]) -> AsyncIterator[Any]:
    consumer = Consumer(CONSUMER.get())
    try:
        while True:
            token = CONSUMER.set(consumer)
            try:
                chunk = await stream.__anext__()
            except StopAsyncIteration:
                return
            finally:
                CONSUMER.reset(token)
            yield chunk
    except GeneratorExit:
        consumer.stopped = True
        raise
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()


def _consumer_wrapper(is_async: bool) -> Callable[..., Any]:
    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        stream = wrapped(*args, **kwargs)
        # astream_events(version="v3") returns an awaitable, not a stream: left alone.
        if is_async:
            return _aconsumed_steps(stream) if hasattr(stream, "__anext__") else stream
        return _consumed_steps(stream) if hasattr(stream, "__next__") else stream

    return wrapper


def _stream_wrapper(is_async: bool) -> Callable[..., Any]:
    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        stream = wrapped(*args, **kwargs)
        return _astream_steps(stream) if is_async else _stream_steps(stream)

    return wrapper


# --- retrievers -----------------------------------------------------------------------------
_RETRIEVAL: ContextVar[list[RunRecord | None] | None] = ContextVar(
    "sentrial_langchain_retrieval", default=None
)


def retriever_started(record: RunRecord | None) -> None:
    """Called by the handler when a retriever run starts (``None``: not ours): inside a
    hooked ``invoke``/``ainvoke``, the first one to start is that call's run."""
    slot = _RETRIEVAL.get()
    if slot is not None and not slot:
        slot.append(record)


def _retriever_wrapper(is_async: bool) -> Callable[..., Any]:
    """For ``BaseRetriever.invoke`` / ``ainvoke``: they report only an ``Exception``, so a
    cancelled call (``asyncio.wait_for`` around a lone retriever) would leave its span open."""

    def wrapper(wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        slot: list[RunRecord | None] = []
        token = _RETRIEVAL.set(slot)
        try:
            return wrapped(*args, **kwargs)
        except BaseException as error:
            _end_unreported(slot[0] if slot else None, error)
            raise
        finally:
            _RETRIEVAL.reset(token)

    async def async_wrapper(
        wrapped: Any, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        slot: list[RunRecord | None] = []
        token = _RETRIEVAL.set(slot)  # in the awaiting task's context, as is the reset
        try:
            return await wrapped(*args, **kwargs)
        except BaseException as error:
            _end_unreported(slot[0] if slot else None, error)
            raise
        finally:
            _RETRIEVAL.reset(token)

    return async_wrapper if is_async else wrapper


# (module, class, method, async?): the frames that hold an LLM run while the model works.
MODEL_TARGETS: tuple[tuple[str, str, str, bool], ...] = (
    ("langchain_core.language_models.chat_models", "BaseChatModel", "_generate_with_cache", False),
    ("langchain_core.language_models.chat_models", "BaseChatModel", "_agenerate_with_cache", True),
    ("langchain_core.language_models.llms", "BaseLLM", "_generate_helper", False),
    ("langchain_core.language_models.llms", "BaseLLM", "_agenerate_helper", True),
)
STREAM_TARGETS: tuple[tuple[str, str, str, bool], ...] = (
    ("langchain_core.language_models.chat_models", "BaseChatModel", "stream", False),
    ("langchain_core.language_models.chat_models", "BaseChatModel", "astream", True),
    ("langchain_core.language_models.llms", "BaseLLM", "stream", False),
    ("langchain_core.language_models.llms", "BaseLLM", "astream", True),
)
RETRIEVER_TARGETS: tuple[tuple[str, str, str, bool], ...] = (
    ("langchain_core.retrievers", "BaseRetriever", "invoke", False),
    ("langchain_core.retrievers", "BaseRetriever", "ainvoke", True),
)
# The streams whose consumer stopping cancels the runs inside (see Consumer).
CONSUMER_TARGETS: tuple[tuple[str, str, str, bool], ...] = (
    ("langgraph.pregel.main", "Pregel", "stream", False),
    ("langgraph.pregel.main", "Pregel", "astream", True),
    ("langchain_core.runnables.base", "Runnable", "astream_events", True),
)


_users = 0
_patches: list[tuple[Any, str, Any]] = []
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


def install(registry: RunRegistry = RUNS) -> list[tuple[Any, str, Any]]:
    """Wrap ``set_config_context`` wherever it is imported, and the methods above;
    returns (owner, name, original) triples for :func:`uninstall`."""
    patched: list[tuple[Any, str, Any]] = []
    for name in TARGETS:
        try:
            module = importlib.import_module(name)
            original = getattr(module, _NAME)
        except (ImportError, AttributeError):
            continue
        wrap_function_wrapper(module, _NAME, _wrapper(registry))
        patched.append((module, _NAME, original))
    hooks = [(t, _call_wrapper(registry, t[3])) for t in MODEL_TARGETS]
    hooks += [(t, _stream_wrapper(t[3])) for t in STREAM_TARGETS]
    hooks += [(t, _retriever_wrapper(t[3])) for t in RETRIEVER_TARGETS]
    hooks += [(t, _consumer_wrapper(t[3])) for t in CONSUMER_TARGETS]
    for (module_name, class_name, method, _), hook in hooks:
        try:
            owner = getattr(importlib.import_module(module_name), class_name)
            original = owner.__dict__[method]  # the plain function, not a bound lookup
        except (ImportError, AttributeError, KeyError):
            continue
        wrap_function_wrapper(owner, method, hook)
        patched.append((owner, method, original))
    return patched


def uninstall(patched: list[tuple[Any, str, Any]]) -> None:
    """Put back the originals that :func:`install` replaced."""
    for owner, name, original in patched:
        setattr(owner, name, original)
