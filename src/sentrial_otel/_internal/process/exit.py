"""The end of a process: open sessions ended as abandoned, everything delivered, in one budget.

A process ends through one of these doors, and each one leads to :func:`run_exit`:

- **interpreter exit**: ``atexit``. A ``spawn`` multiprocessing child also leaves this way
  (``spawn_main`` ends with ``sys.exit``).
- **a ``fork`` or ``forkserver`` multiprocessing child**: it ends with ``os._exit`` right
  after ``BaseProcess._bootstrap``, so atexit never runs; ``_bootstrap`` calls
  ``multiprocessing.util._exit_function()`` first, which runs the
  ``multiprocessing.util.Finalize`` finalizers registered in the child. Ours is registered
  when an engine is built in the child's ``run()``; an engine that exists before
  ``_bootstrap`` (inherited through ``fork``, or built while a spawn or forkserver child
  imports its parent's main module) is armed by a ``multiprocessing.util.register_after_fork``
  callback instead: ``_bootstrap`` clears the finalizer registry (``_after_fork``) *before*
  it runs those callbacks, so a finalizer registered any earlier would be lost.
- **SIGTERM** with the default disposition: sigterm.py.

A bare ``os._exit`` runs none of them: call ``flush()`` before it.

The work runs once per process, whichever door comes first, and all of it (ending the
sessions, draining every delivery processor, stopping metrics) ends by one deadline: the
largest shutdown budget of the engines, counted from the moment the exit began.
"""

from __future__ import annotations

import atexit
import gc
import logging
import os
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any

from sentrial_otel._internal.export.delivery import DeliveryProcessor
from sentrial_otel._internal.export.pipeline import Pipeline, owned_pipelines, release
from sentrial_otel._internal.errors import handle_internal_errors
from sentrial_otel._internal.logs import logger
from sentrial_otel._internal.process import sigterm
from sentrial_otel._internal.process.watched import WatchedEngine
from sentrial_otel._internal.spans.stamping import SESSION_INDEX
from sentrial_otel.config import DEFAULT_SHUTDOWN_TIMEOUT

_ENGINES: weakref.WeakSet[WatchedEngine] = weakref.WeakSet()
# Ending sessions stops this long before the deadline, so what they produced can still be
# sent (the delivery worker exports while sessions are being ended, too).
_DELIVERY_RESERVE = 0.25
# Exit must go on: what fails there is worth a debug line.
_EXIT_GOES_ON = handle_internal_errors("the exit work", level=logging.DEBUG)


class _ExitState:
    """One process's exit: claimed once, by whichever door comes first."""

    def __init__(self) -> None:
        # Acquired once and never released: a claim that cannot block or be taken twice.
        self.claim = threading.Lock()
        self.done = threading.Event()
        self.deadline = 0.0
        # Bumped at every step of the work that needs no network (sigterm.py watches it to
        # tell a stalled exit from a slow collector).
        self.steps = 0
        self.delivering = False
        self.die_by: int | None = None


_STATE = _ExitState()
_HOOKS_REGISTERED = False  # atexit and fork hooks, once per interpreter (children inherit them)
_ARMED_IN: int | None = None  # pid whose multiprocessing exit runs run_exit
_IN_AFTER_FORK_REGISTRY = False  # _arm_after_fork is in multiprocessing's after-fork registry


class _Anchor:
    """What multiprocessing's after-fork registry is keyed on (it holds its values weakly)."""


_ANCHOR = _Anchor()


def register(engine: WatchedEngine) -> None:
    """Watch a new engine: its sessions end and its spans leave when the process does."""
    global _HOOKS_REGISTERED
    _ENGINES.add(engine)
    if not _HOOKS_REGISTERED:
        _HOOKS_REGISTERED = True
        atexit.register(run_exit)
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=_in_forked_child)
    _arm_multiprocessing_exit()
    _watch_multiprocessing_start()
    if engine.settings.handle_sigterm:
        sigterm.install(_SIGNAL_DOOR)


def engines() -> list[WatchedEngine]:
    return list(_ENGINES)


def exit_budget() -> float:
    return max((e.settings.shutdown_timeout_s for e in engines()), default=DEFAULT_SHUTDOWN_TIMEOUT)


# --- the doors ------------------------------------------------------------------------------
def _in_forked_child() -> None:
    """A forked child starts with no exit of its own, and the parent's sessions are the
    parent's to end."""
    global _STATE, _ARMED_IN
    _STATE = _ExitState()
    _ARMED_IN = None
    for engine in engines():
        engine.forget_parent_sessions()
    SESSION_INDEX.reset_after_fork()
    _watch_multiprocessing_start()


def _watch_multiprocessing_start() -> None:
    """Arm the exit from ``_bootstrap`` of a multiprocessing child this process becomes or
    forks: an engine built before it (inherited through fork, or built while a spawn or
    forkserver child imports its parent's main module) would otherwise see its finalizer
    cleared there. multiprocessing runs these callbacks after clearing the registry."""
    global _IN_AFTER_FORK_REGISTRY
    util = sys.modules.get("multiprocessing.util")
    if util is None or _IN_AFTER_FORK_REGISTRY:
        return  # (the flag is copied by fork together with the registry it describes)
    util.register_after_fork(_ANCHOR, _arm_after_fork)
    _IN_AFTER_FORK_REGISTRY = True


def _arm_after_fork(_anchor: object) -> None:
    _arm_multiprocessing_exit()


def _arm_multiprocessing_exit() -> None:
    """In a multiprocessing child, run the exit work from multiprocessing's own exit."""
    global _ARMED_IN
    process = sys.modules.get("multiprocessing.process")
    if _ARMED_IN == os.getpid() or process is None or process.parent_process() is None:
        return
    import multiprocessing.util

    _ARMED_IN = os.getpid()
    # Priority 0: after finalizers the application gave a positive priority, before the
    # ones multiprocessing runs once the child's own children are joined.
    multiprocessing.util.Finalize(None, run_exit, kwargs={"flush_borrowed": True}, exitpriority=0)


class _SignalDoor:
    """The exit as sigterm.py drives it."""

    def run(self) -> None:
        run_exit(flush_borrowed=True)

    def budget(self) -> float:
        return exit_budget()

    def started(self) -> bool:
        return _STATE.claim.locked()

    def die_when_done(self, signum: int) -> None:
        _STATE.die_by = signum

    def progress(self) -> tuple[int, bool, bool]:
        return _STATE.steps, _STATE.delivering, _STATE.done.is_set()


_SIGNAL_DOOR = _SignalDoor()


def run_exit(flush_borrowed: bool = False) -> None:
    """End every open session as abandoned and deliver within the exit budget, once.

    ``flush_borrowed``: also flush providers that belong to the application (at interpreter
    exit they flush themselves; a multiprocessing child or a signal skips their atexit).
    A second caller waits for the first, within the budget.
    """
    state = _STATE
    if not state.claim.acquire(blocking=False):
        state.done.wait(exit_budget() + 0.5)
    else:
        state.deadline = time.monotonic() + exit_budget()
        try:
            with _EXIT_GOES_ON:
                _exit_work(state, flush_borrowed)
        finally:
            state.done.set()
    if state.die_by is not None:
        sigterm.die(state.die_by)


# --- the work --------------------------------------------------------------------------------
def _exit_work(state: _ExitState, flush_borrowed: bool) -> None:
    # The process is ending: a full garbage collection over tens of thousands of open
    # sessions costs up to a second here and frees nothing that exit would not. Frozen, the
    # objects alive now are also skipped by the interpreter's last collection.
    gc.disable()
    gc.freeze()
    watched = engines()
    deliveries = _deliveries(watched)
    for wait in _hot_locks(watched, deliveries):
        # A lock held by code a signal interrupted shows up here as a stall (sigterm.py).
        wait()
        state.steps += 1
    open_sessions = [(engine, engine.open_sessions_unlocked()) for engine in watched]
    total = sum(len(sessions) for _, sessions in open_sessions)
    for delivery in deliveries:
        delivery.make_room(total)
    stop_at = state.deadline - min(_DELIVERY_RESERVE, exit_budget() / 4)
    not_ended = 0
    for engine, sessions in open_sessions:
        ended = _end_sessions(sessions, stop_at, state)
        if ended < len(sessions):
            not_ended += len(sessions) - ended
            if engine.pipeline.delivery is not None:
                engine.pipeline.delivery.stats.not_ended_at_exit += len(sessions) - ended
    if not_ended:
        logger.warning(
            "sentrial: the exit budget ran out after ending %d of %d open sessions; the root "
            "spans of the other %d are not delivered.",
            total - not_ended,
            total,
            not_ended,
        )
    state.delivering = True
    for delivery in deliveries:
        delivery.finish_by(state.deadline)
    for pipeline in _pipelines(watched):
        release(pipeline, max(state.deadline - time.monotonic(), 0))
    if flush_borrowed:
        for engine in watched:
            if not engine.pipeline.owned and engine.pipeline.delivery is None:
                engine.flush(max(state.deadline - time.monotonic(), 0))
    # Left for the operating system to reclaim: deallocating 30,000 ended sessions one by
    # one takes about 0.3 s, past the budget. A list that holds itself outlives the clearing
    # of module globals at interpreter exit and, frozen, the last garbage collection too.
    kept: list[Any] = [open_sessions]
    kept.append(kept)
    gc.freeze()


def _end_sessions(sessions: list[Any], stop_at: float, state: _ExitState) -> int:
    """End sessions as abandoned until ``stop_at``; how many were ended."""
    for index, session in enumerate(sessions):
        if time.monotonic() >= stop_at:
            return index
        with _EXIT_GOES_ON:
            session.finish(success=False, abandoned=True)
        state.steps += 1
    return len(sessions)


def _deliveries(watched: Iterable[WatchedEngine]) -> list[DeliveryProcessor]:
    found: dict[int, DeliveryProcessor] = {}
    for pipeline in [*(e.pipeline for e in watched), *owned_pipelines()]:
        if pipeline.delivery is not None:
            found[id(pipeline.delivery)] = pipeline.delivery
    return list(found.values())


def _pipelines(watched: Iterable[WatchedEngine]) -> list[Pipeline]:
    """Every pipeline that is ours to stop: those we built, and our exporters added to an
    application's provider (whose provider flushes itself)."""
    found: dict[int, Pipeline] = {}
    for engine in watched:
        if not engine.pipeline.owned and engine.pipeline.delivery is not None:
            found[id(engine.pipeline.delivery)] = engine.pipeline
    for pipeline in owned_pipelines():
        found[id(pipeline)] = pipeline
    return list(found.values())


def _hot_locks(
    watched: Iterable[WatchedEngine], deliveries: Iterable[DeliveryProcessor]
) -> list[Callable[[], None]]:
    """Waits for the locks every recorded event takes: the engines' session tables, the
    queues."""
    return [
        *(engine.wait_for_session_table for engine in watched),
        *(delivery.wait_for_queue for delivery in deliveries),
    ]
