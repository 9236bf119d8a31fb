"""The module-level default client behind ``sentrial.configure``, ``sentrial.begin`` and
``sentrial.score``."""

from __future__ import annotations

import threading
from typing import Any

from sentrial.client import SentrialClient

_client: SentrialClient | None = None
_lock = threading.Lock()


def configure(
    api_key: str | None = None,
    api_url: str | None = None,
    fail_silently: bool | None = None,
    pii: Any = None,
    batching: Any = None,
    **options: Any,
) -> SentrialClient:
    """(Re)build the default client used by ``begin``, the decorators and SessionContext."""
    global _client
    client = SentrialClient(
        api_url=api_url,
        api_key=api_key,
        fail_silently=fail_silently,
        pii=pii,
        batching=batching,
        **options,
    )
    with _lock:
        _client = client
    return client


def default_client() -> SentrialClient:
    """The default client, configured from the environment on first use."""
    global _client
    with _lock:
        if _client is None:
            _client = SentrialClient()
        return _client


def begin(
    user_id: Any,
    event: Any,
    input: Any = None,  # noqa: A002
    event_id: Any = None,
    convo_id: Any = None,
    metadata: Any = None,
) -> Any:
    """Start a session on the default client; returns an ``Interaction``."""
    return default_client().begin(
        user_id=user_id,
        event=event,
        input=input,
        event_id=event_id,
        convo_id=convo_id,
        metadata=metadata,
    )


def score(
    session_id: Any,
    name: Any,
    value: Any = None,
    label: Any = None,
    explanation: Any = None,
) -> Any:
    """Score a session on the default client (see ``SentrialClient.score``)."""
    return default_client().score(
        session_id, name, value=value, label=label, explanation=explanation
    )
