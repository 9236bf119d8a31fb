"""What a session hears when one of its steps ends: a small, read-only :class:`Step`.

Every tool call, LLM call and decision (whichever door it came through: the ``sentrial``
facade, the native API, the LangChain handler), and at last the session's own root, hands
its session one record. The session adds it to its totals, keeps it (bounded) and passes it
to its step listeners: the place where detectors (SEMCONV.md "Detected issues": tool loops,
error streaks, low confidence, empty or truncated output, over budget, slow steps) and
roll-ups hang. A record is a tuple, built in well under a microsecond, and holds nothing
of the user's objects (a hash of the tool arguments, not the arguments).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

TOOL = "tool"
LLM = "llm"
DECISION = "decision"
AGENT = "agent"


class Step(NamedTuple):
    """One finished step of a session."""

    kind: str
    """``tool``, ``llm``, ``decision`` or ``agent`` (the session's root, last)."""
    name: str
    """The tool's name, the LLM's request model, the agent's name."""
    span_id: int
    """The step's span (0 when none was written, e.g. ``track_llm_calls=False``)."""
    start_ns: int
    end_ns: int
    error_type: str | None
    """``error.type`` when the step failed (a raised exception or a reported tool error)."""
    arguments_hash: int | None
    """Tool calls: a hash of the arguments as encoded (equal arguments, equal hash, in this
    process)."""
    confidence: float | None
    """Decisions: the confidence given, if valid."""
    empty_output: bool | None
    """LLM calls: whether the output held no text and no tool call (None: not known)."""
    finish_reasons: tuple[str, ...]
    cost: float
    input_tokens: int | None
    output_tokens: int | None
    total_tokens: int | None
    """Tool calls and decisions: the ``token_count`` given."""
    token_details: Mapping[str, int] | None = None
    """LLM calls: further token counts by kind, keyed by what follows ``gen_ai.usage.`` in
    the GenAI key (``cache_read.input_tokens``, ``cache_write.input_tokens``,
    ``reasoning.output_tokens``; semconv.USAGE_*), each already part of the input or
    output count. Open to any kind: the session sums whatever keys arrive."""

    @property
    def duration_s(self) -> float:
        return max(self.end_ns - self.start_ns, 0) / 1e9


def arguments_hash(encoded_arguments: str | None) -> int | None:
    """A hash of encoded tool arguments: equal arguments, equal hash, in this process.

    Steps never leave the process (detectors run in it), so Python's own string hash
    serves: a tenth of what a CRC of the encoded text costs (about 0.3 µs here).
    """
    return hash(encoded_arguments) if encoded_arguments is not None else None
