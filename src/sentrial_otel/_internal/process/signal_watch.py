"""Making sure the main thread runs our SIGTERM handler once SIGTERM has arrived.

Python runs signal handlers in the main thread only. Its C-level handler, run in whatever
thread the kernel picked, merely sets a flag, which the main thread reads when it next runs
bytecode or when a wait of its is interrupted. That can fail to happen: glibc's
``sem_wait`` goes back to sleep after a wake-up it lost to another waiter without reporting
a signal that arrived meanwhile. A ``multiprocessing`` pool worker waiting on its queue's
lock at ``Pool.terminate()`` then never runs the handler, never dies, and the parent waits
for it forever (about one ``with Pool()`` exit in thirty on a loaded machine).

Python also writes the number of every signal it catches to the wakeup fd. When nobody else
uses that fd, a thread of ours reads it, and when SIGTERM came and our handler has not
started a moment later, it sends SIGTERM to the main thread itself: that interrupts the
wait, and the handler runs. A fork child gets a pipe of its own before SIGTERM can reach it
(the parent's watcher must never hear the child's signals).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable

_KICK_AFTER_S = 0.2  # the usual case: the handler starts within microseconds
_MAX_KICKS = 25

_lock = threading.Lock()
_entered = False
_kicks = 0
_pipe: tuple[int, int] | None = None


def _never() -> bool:
    return False


_ours: Callable[[], bool] = _never  # whether our SIGTERM handler is still the one in place
_fork_hooks_registered = False
_mask_before_fork: set[int | signal.Signals] | None = None


def start(ours_installed: Callable[[], bool]) -> None:
    """Watch for SIGTERM (main thread, once our handler is installed); no-op if the wakeup
    fd is someone else's (an asyncio loop with signal handlers, say)."""
    global _pipe, _ours, _fork_hooks_registered
    if _pipe is not None or not hasattr(signal, "pthread_kill"):
        return
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    try:
        previous = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    except (ValueError, OSError):
        previous = None
    if previous != -1:
        if previous is not None:
            signal.set_wakeup_fd(previous)  # theirs: left in place
        os.close(read_fd)
        os.close(write_fd)
        return
    _pipe = (read_fd, write_fd)
    _ours = ours_installed
    threading.Thread(target=_watch, args=(read_fd,), name="sentrial-otel-sigterm-watch", daemon=True).start()
    if not _fork_hooks_registered and hasattr(os, "register_at_fork"):
        _fork_hooks_registered = True
        os.register_at_fork(before=_block_sigterm, after_in_parent=_unblock_sigterm, after_in_child=_renew_in_child)


def handler_entered() -> None:
    """Called first thing by our handler: no more kicks."""
    global _entered
    with _lock:
        _entered = True


def _watch(read_fd: int) -> None:
    global _kicks
    while True:
        try:
            caught = os.read(read_fd, 512)
        except OSError:
            return  # closed: a fork child renewed its pipe
        if not caught:
            return
        if signal.SIGTERM not in caught or _entered:
            continue
        time.sleep(_KICK_AFTER_S)
        # Under the lock, so that the handler cannot start between the check and the kick
        # (the kick would then find the default disposition and kill mid-delivery).
        with _lock:
            if _entered or _kicks >= _MAX_KICKS or not _ours():
                continue
            _kicks += 1
            main = threading.main_thread().ident
            if main is not None:
                signal.pthread_kill(main, signal.SIGTERM)


# --- fork: the child must not write its signals into the parent's pipe ------------------
def _block_sigterm() -> None:
    global _mask_before_fork
    _mask_before_fork = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})


def _unblock_sigterm() -> None:
    global _mask_before_fork
    if _mask_before_fork is not None:
        signal.pthread_sigmask(signal.SIG_SETMASK, _mask_before_fork)
        _mask_before_fork = None


def _renew_in_child() -> None:
    global _pipe, _lock, _entered, _kicks
    _lock = threading.Lock()
    _entered, _kicks = False, 0
    inherited, _pipe = _pipe, None
    if inherited is not None:
        try:
            signal.set_wakeup_fd(-1)
        except (ValueError, OSError):
            pass
        for fd in inherited:
            os.close(fd)
        if _ours():
            start(_ours)
    _unblock_sigterm()  # a SIGTERM that came meanwhile is delivered now, to the new pipe
