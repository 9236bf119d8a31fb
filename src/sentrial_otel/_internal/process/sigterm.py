"""SIGTERM (``docker stop``, Kubernetes): deliver first, then die by the signal as before.

Installed only when SIGTERM still has its default disposition, from the main thread (the
only one Python lets set a handler), and never over an application's handler: an
application that sets its own later simply replaces ours. ``SENTRIAL_HANDLE_SIGTERM=false``
(or ``handle_sigterm=False``) keeps it out.

On SIGTERM the handler puts the default disposition back at once (a second SIGTERM kills
as it always did), runs the exit work (exit.py: open sessions ended as abandoned,
everything delivered within the budget), then sends itself the signal again, so the process
dies by it: exit status -15 / 143, no atexit handlers, exactly as before.

Re-entrancy: the handler runs in the main thread between two bytecodes, so it may have
interrupted our own code holding a lock the exit work needs (the session table, the export
queue). The work therefore runs in a helper thread, and the handler only waits for it. While
the work needs no network it makes steady progress; if it stalls there, the interrupted code
must hold that lock, and the handler returns to let it go on and release it. Either way a
reaper thread kills the process when the work is done, or when the budget is spent.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from typing import Protocol

from sentrial_otel._internal.export.delivery import WORKER_THREAD_PREFIX
from sentrial_otel._internal.process import signal_watch

# No progress for this long while ending sessions: the interrupted frame holds a lock.
STALL_S = 0.25
# Past the budget: what the reaper grants the work before killing regardless.
_GRACE_S = 0.5


class ExitWork(Protocol):
    """What the handler drives (exit.py provides it)."""

    def run(self) -> None: ...  # the whole exit work; dies by the signal at its end
    def budget(self) -> float: ...
    def started(self) -> bool: ...
    def die_when_done(self, signum: int) -> None: ...
    def progress(self) -> tuple[int, bool, bool]: ...  # (steps, delivering?, done?)


_installed: Callable[..., None] | None = None


def install(work: ExitWork) -> bool:
    """Install our handler if SIGTERM has its default disposition; True if ours is in place."""
    global _installed
    if not hasattr(signal, "SIGKILL"):  # Windows: SIGTERM cannot be caught the same way
        return False
    if threading.current_thread() is not threading.main_thread():
        return False
    try:
        current = signal.getsignal(signal.SIGTERM)
        if _installed is not None and current is _installed:
            return True
        if current is not signal.SIG_DFL:
            return False  # the application's, or one set outside Python: never replaced

        def on_sigterm(signum: int, frame: object) -> None:
            _on_signal(signum, work)

        signal.signal(signal.SIGTERM, on_sigterm)
    except (ValueError, OSError):  # not the main interpreter, or no signals here
        return False
    _installed = on_sigterm
    signal_watch.start(installed)  # the handler runs even if the main thread misses it
    return True


def uninstall() -> None:
    """Put the default disposition back, if ours is still the handler."""
    global _installed
    if _installed is not None and signal.getsignal(signal.SIGTERM) is _installed:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _installed = None


def installed() -> bool:
    return _installed is not None and signal.getsignal(signal.SIGTERM) is _installed


def die(signum: int) -> None:
    """Die by ``signum`` with its default action (from any thread; no locks, no logging)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
    # Still here: we are PID 1 of a container, whose default-action signals the kernel
    # ignores (or something put a handler back). Leave with the status a shell reports for
    # death by this signal (143 for SIGTERM).
    time.sleep(0.1)
    os._exit(128 + signum)


def _on_signal(signum: int, work: ExitWork) -> None:
    signal_watch.handler_entered()
    signal.signal(signum, signal.SIG_DFL)  # a second SIGTERM kills at once, as before
    work.die_when_done(signum)
    if work.started():
        if work.progress()[2]:
            die(signum)  # already over (interpreter teardown): nothing left to wait for
        return  # under way in the frame we interrupted (atexit): it dies when done
    allowed = work.budget() + _GRACE_S

    def reap() -> None:
        worker = threading.Thread(target=work.run, name=f"{WORKER_THREAD_PREFIX}exit", daemon=True)
        worker.start()
        worker.join(allowed)
        die(signum)

    try:
        threading.Thread(target=reap, name=f"{WORKER_THREAD_PREFIX}reaper", daemon=True).start()
    except RuntimeError:  # no new threads (the interpreter is finalizing)
        die(signum)
    steps, _, _ = work.progress()
    last_change = time.monotonic()
    deadline = last_change + allowed + _GRACE_S
    while time.monotonic() < deadline:
        time.sleep(0.02)
        now_steps, delivering, done = work.progress()
        if done:
            break
        if now_steps != steps:
            steps, last_change = now_steps, time.monotonic()
        elif not delivering and time.monotonic() - last_change > STALL_S:
            # The code this handler interrupted holds a lock the work waits for: let it
            # run on and release it; the work (or the reaper) ends the process.
            return
    die(signum)
