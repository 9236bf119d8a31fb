"""One export request in flight, on its own thread, while the next batch is encoded.

An OTLP/HTTP export is two halves: encoding (Python, holds the GIL) and the request
(waits on the network, releases it). Done one after the other on one thread, the
encoder sits idle while the collector reads and answers. ``SendThread`` takes the
request half of a batch the delivery worker has already encoded, so that the worker can
encode the next one meanwhile. It holds one send at a time: handing it a second waits
until the first has finished, so there is never more than one request in flight, as
before (docs/reliability.md).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from sentrial_otel._internal.logs import logger


class SendThread:
    """Runs handed sends one at a time, in order, on a daemon thread."""

    def __init__(self, name: str) -> None:
        self._changed = threading.Condition()
        self._pending: Callable[[], None] | None = None
        self._closed = False
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def hand(self, send: Callable[[], None]) -> None:
        """Have ``send`` run once the send before it has finished (waits until then)."""
        with self._changed:
            while self._pending is not None:
                self._changed.wait()
            self._pending = send
            self._changed.notify_all()

    def wait_idle(self, timeout_s: float | None = None) -> bool:
        """Wait until the send handed last has finished; False if it had not by the timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self._pending is None, timeout_s)

    def close(self) -> None:
        """End the thread once the send it holds (if any) has finished."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._pending is not None or self._closed)
                send = self._pending
                if send is None:
                    return  # closed, nothing left
            try:
                send()
            except Exception:  # noqa: BLE001 - sends count their own failures; never die
                logger.debug("sentrial: a send raised", exc_info=True)
            finally:
                with self._changed:
                    self._pending = None
                    self._changed.notify_all()
