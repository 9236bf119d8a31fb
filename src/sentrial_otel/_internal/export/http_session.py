"""HTTP sessions whose pooled connections stay with the process that opened them.

The SDK's OTLP/HTTP exporters send through a ``requests.Session``, which keeps the
collector's keep-alive connection in a pool. A fork child (multiprocessing ``fork``, gunicorn
``--preload``, Celery's prefork pool) inherits that pool: parent and child then write
requests on one TCP connection and read each other's answers, and the collector sees
garbled requests (docs/reliability.md, "Processes and pools", has the figures).

Every OTLP/HTTP exporter we build gets a :class:`ForkSafeSession` (the SDK's public
``session`` argument). In a fork child it mounts fresh adapters, so the child's first export
opens a connection of its own, and closes the child's copies of the inherited sockets.
Closing a copy only releases this process's descriptor: the kernel sends the FIN when the
last descriptor goes, and the parent still holds its own, so the parent's connection is
untouched (``Session.close()`` would do the same to the socket, but it takes urllib3's pool
locks, which a parent thread may have held at the moment of the fork).

A session from an OTLP credential provider (``OTEL_PYTHON_EXPORTER_OTLP_HTTP_*CREDENTIAL_PROVIDER``)
is the application's: the SDK loads it as usual and we leave it alone.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from sentrial_otel._internal.errors import handle_internal_errors
from sentrial_otel._internal.forksafe import in_fork_children

_CREDENTIAL_PROVIDER = "OTEL_PYTHON_EXPORTER_OTLP_HTTP_CREDENTIAL_PROVIDER"
# A fork must go on whatever happens here; what fails is worth a debug line.
_FORK_GOES_ON = handle_internal_errors("renewing HTTP connections after fork", level=logging.DEBUG)


class ForkSafeSession(requests.Session):
    """A ``requests.Session`` that a fork child does not share with its parent."""

    def __init__(self) -> None:
        super().__init__()
        # The parent's pools, kept (their sockets closed) rather than freed: freeing one runs
        # urllib3's finalizer, which takes the lock of the pool's queue.
        self._from_parent: list[Any] = []
        in_fork_children(self, ForkSafeSession._after_fork)

    def _after_fork(self) -> None:
        with _FORK_GOES_ON:
            inherited = list(self.adapters.values())
            self._from_parent.extend(inherited)  # (a grandchild keeps its grandparent's too)
            # What Session.__init__ mounts; the session's headers, verify and cert stay.
            self.mount("https://", HTTPAdapter())
            self.mount("http://", HTTPAdapter())
            for adapter in inherited:
                _close_copies(adapter)


def _close_copies(adapter: Any) -> None:
    """Close this process's copies of the idle sockets pooled in ``adapter``, taking none of
    the pools' locks (the child has no other thread; a lock may be held by a parent thread
    that was not copied). A connection a parent thread was using at the fork is not in a
    pool: its copy stays open, unused, until the child exits."""
    managers = [getattr(adapter, "poolmanager", None), *getattr(adapter, "proxy_manager", {}).values()]
    for manager in managers:
        pools = getattr(getattr(manager, "pools", None), "_container", {})  # urllib3's RecentlyUsedContainer
        for pool in list(pools.values()):
            idle = getattr(getattr(pool, "pool", None), "queue", ())  # its LifoQueue's list
            for connection in list(idle):
                sock = getattr(connection, "sock", None)
                if sock is not None:
                    sock.close()


def session_for(signal: str) -> requests.Session | None:
    """The session an OTLP/HTTP exporter for ``signal`` (``TRACES``, ``METRICS``, ``LOGS``)
    is built with: ours, or None when a credential provider is configured (the SDK then
    loads the application's)."""
    per_signal = f"OTEL_PYTHON_EXPORTER_OTLP_HTTP_{signal}_CREDENTIAL_PROVIDER"
    if os.environ.get(_CREDENTIAL_PROVIDER) or os.environ.get(per_signal):
        return None
    return ForkSafeSession()
