"""Session and event ids: random version-4 UUIDs that cost the export thread nothing."""

from __future__ import annotations

import os
import uuid

import pytest

from sentrial_otel._internal.spans import ids


def test_ids_are_distinct_version_4_uuids() -> None:
    made = [ids.new_session_id() for _ in range(50_000)]

    assert len(set(made)) == len(made)
    parsed = uuid.UUID(made[0])
    assert str(parsed) == made[0]
    assert parsed.version == 4 and parsed.variant == uuid.RFC_4122


def test_ids_do_not_read_os_urandom(monkeypatch: pytest.MonkeyPatch) -> None:
    """os.urandom releases the GIL for a system call; once per session in a busy loop that
    starved the export thread until the queue overflowed (docs/benchmarks.md, section 4)."""

    def refuse(size: int) -> bytes:
        raise AssertionError("os.urandom was called")

    monkeypatch.setattr(os, "urandom", refuse)
    import sentrial

    assert ids.new_session_id()
    assert sentrial.interaction.new_event_id()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_children_draw_other_ids() -> None:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.close(read)
        os.write(write, ids.new_session_id().encode())
        os._exit(0)
    os.close(write)
    parent_id = ids.new_session_id()
    with os.fdopen(read) as pipe:
        child_id = pipe.read()
    os.waitpid(pid, 0)
    assert child_id and child_id != parent_id


def test_an_application_seeding_random_does_not_repeat_session_ids() -> None:
    """Evaluation scripts call random.seed(0) for reproducible runs; their sessions (and so
    their traces) must still differ from run to run."""
    import random

    random.seed(0)
    first = ids.new_session_id()
    random.seed(0)
    second = ids.new_session_id()

    assert first != second
