"""A session's trace id and root span id, computed from the recipe docs/concepts.md gives.

Written apart from ``sentrial_otel._internal.spans.ids`` on purpose: a test that compares what it sees with
these fails when the derivation changes, where one that asks ``ids`` itself could not.
(tests/test_ids.py pins the recipe to literal values.)
"""

from __future__ import annotations

import hashlib
import uuid


def trace_id(session_id: str) -> int:
    """sha256("sentrial-trace:" + id), first 16 bytes; a UUID in its canonical form."""
    try:
        text = str(uuid.UUID(session_id))
    except ValueError:
        text = session_id
    return int.from_bytes(hashlib.sha256(f"sentrial-trace:{text}".encode()).digest()[:16], "big")


def root_span_id(session_id: str) -> int:
    """sha256("sentrial-root:" + the trace id's 16 bytes), first 8 bytes."""
    digest = hashlib.sha256(b"sentrial-root:" + trace_id(session_id).to_bytes(16, "big"))
    return int.from_bytes(digest.digest()[:8], "big")
