"""Session and event ids: random version-4 UUIDs that cost the export thread nothing."""

from __future__ import annotations

import os
import uuid

import pytest

from sentrial_otel._internal.spans import ids
from tests.support import documented_ids


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


# --- the trace of a session, by value --------------------------------------------------------
# The derivation docs/concepts.md gives, pinned by value: a process of another version, or
# code in another language, finds a session's trace and root span from its id alone.
PINNED = [
    # a v4 UUID, and other spellings of it: one session, one trace
    ("8b0f2c1e-5d3a-4c6e-9f10-2a4b6c8d0e1f", "bbc197477468ced74531303578d04b56", "d53c0b31c18f7b9a"),
    ("8B0F2C1E5D3A4C6E9F102A4B6C8D0E1F", "bbc197477468ced74531303578d04b56", "d53c0b31c18f7b9a"),
    ("{8b0f2c1e-5d3a-4c6e-9f10-2a4b6c8d0e1f}", "bbc197477468ced74531303578d04b56", "d53c0b31c18f7b9a"),
    # a v7 and a v1 UUID
    ("018f4e2a-7b3c-7d4e-8f50-6a7b8c9d0e1f", "165c79f340fdaf8624896fe7bbacca6d", "cc33b52e857f915f"),
    ("c232ab00-9414-11ec-b3c8-9f6bdeced846", "560d095bff80bfd45387215410e4d35e", "0542628694605f74"),
    # a caller's own id that is no UUID
    ("ticket-42", "cf669b5a341967419e0cd76e46372bb7", "473071a7bef9599b"),
]


@pytest.mark.parametrize(("session_id", "trace_hex", "root_hex"), PINNED)
def test_a_session_id_gives_its_trace_and_root_span_by_value(session_id, trace_hex, root_hex):
    assert f"{ids.trace_id_for(session_id):032x}" == trace_hex
    assert f"{ids.root_span_id_for(session_id):016x}" == root_hex
    context = ids.root_span_context(session_id)
    assert (f"{context.trace_id:032x}", f"{context.span_id:016x}") == (trace_hex, root_hex)
    assert context.is_remote and context.trace_flags.sampled
    assert context.trace_flags.random_trace_id  # W3C: its low 56 bits are uniform


def test_the_documented_recipe_gives_the_ids_of_any_session() -> None:
    """tests/support/documented_ids follows docs/concepts.md's sentence; every spelling of a
    UUID is one session."""
    for _ in range(200):
        session_id = str(uuid.uuid4())
        for spelling in (session_id, session_id.upper(), session_id.replace("-", "")):
            assert ids.trace_id_for(spelling) == documented_ids.trace_id(session_id)
            assert ids.root_span_id_for(spelling) == documented_ids.root_span_id(session_id)
        own = f"order-{session_id[:8]}"
        assert ids.trace_id_for(own) == documented_ids.trace_id(own)


def test_a_root_known_by_id_is_sampled_as_the_sampler_decides_for_that_session() -> None:
    """The pinned v4 session's trace id has its low 64 bits at 0.2703 of their range: a ratio
    of 0.25 drops its root, 0.3 keeps it. A span current in the caller (sampled) is not the
    root's parent, so it does not sway a parent-based sampler."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    session_id = PINNED[0][0]
    assert (ids.trace_id_for(session_id) & (2**64 - 1)) / 2**64 == pytest.approx(0.2703, abs=1e-4)
    dropping = TracerProvider(sampler=ParentBased(TraceIdRatioBased(0.25))).get_tracer("t")
    keeping = TracerProvider(sampler=ParentBased(TraceIdRatioBased(0.3))).get_tracer("t")

    with TracerProvider().get_tracer("app").start_as_current_span("request"):
        assert trace.get_current_span().get_span_context().trace_flags.sampled
        assert not ids.root_span_context(session_id, dropping).trace_flags.sampled
        assert ids.root_span_context(session_id, keeping).trace_flags.sampled

    # An event nested by explicit ids in that dropped session's trace is dropped with it.
    root = ids.root_span_context(session_id, dropping)
    parent = ids.remote_parent(PINNED[0][1], "00000000000000aa", root)
    assert parent is not None and not parent.get_span_context().trace_flags.sampled
    other_trace = ids.remote_parent("1" * 32, "00000000000000aa", root)
    assert other_trace is not None and other_trace.get_span_context().trace_flags.sampled
