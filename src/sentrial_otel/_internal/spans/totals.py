"""What a session's steps add up to, and how the root's totals are settled at the end.

The session keeps its steps (the detectors read them at its end), so its totals are their
sum: adding a step is one list append, atomic without a lock, and the sums are taken once,
at the end. Past ``MAX_KEPT_STEPS`` a step is no longer kept, only added to running sums
under the lock.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from sentrial_otel._internal.forksafe import module_lock
from sentrial_otel._internal.spans.steps import LLM, Step

MAX_KEPT_STEPS = 10_000
"""Steps a session keeps for the detectors that run at its end; later ones still count."""


class Sums(NamedTuple):
    """What the steps added up to."""

    cost: float
    input_tokens: int
    output_tokens: int
    other_tokens: int
    """Token counts given to tool calls and decisions (``token_count``)."""
    llm_calls: int
    token_details: Mapping[str, int]
    """The LLM calls' ``Step.token_details``, summed per kind."""


# One lock for every session's overflow sums (a lock each would cost every open session
# 88 bytes): taken only past MAX_KEPT_STEPS and once at the end.
_OVERFLOW_LOCK = module_lock(globals(), "_OVERFLOW_LOCK")


class Totals:
    """A session's steps, oldest first, and their sums; safe to add to from any thread."""

    __slots__ = ("_overflow", "steps")

    def __init__(self) -> None:
        self.steps: list[Step] = []
        self._overflow = _NOTHING  # the sums of the steps not kept

    def add(self, step: Step) -> None:
        steps = self.steps
        if len(steps) < MAX_KEPT_STEPS:
            steps.append(step)  # atomic: no lock on the path every step takes
            return
        with _OVERFLOW_LOCK:
            self._overflow = _sum([step], self._overflow)

    @property
    def complete(self) -> bool:
        """Whether every step is kept (none came past ``MAX_KEPT_STEPS``)."""
        return self._overflow is _NOTHING

    def sums(self) -> Sums:
        steps = list(self.steps)
        with _OVERFLOW_LOCK:
            overflow = self._overflow
        return _sum(steps, overflow)


_NOTHING = Sums(0.0, 0, 0, 0, 0, {})


def _sum(steps: list[Step], start: Sums) -> Sums:
    cost, input_tokens, output_tokens, other_tokens, llm_calls, start_details = start
    details = dict(start_details)
    for step in steps:
        cost += step.cost
        if step.kind == LLM:
            input_tokens += step.input_tokens or 0
            output_tokens += step.output_tokens or 0
            llm_calls += 1
            if step.token_details:
                for kind, count in step.token_details.items():
                    details[kind] = details.get(kind, 0) + count
        else:
            other_tokens += step.total_tokens or 0
    return Sums(cost, input_tokens, output_tokens, other_tokens, llm_calls, details)


class SessionUsage(NamedTuple):
    """The totals a session's root carries."""

    cost: float
    input_tokens: int
    output_tokens: int
    total_tokens: int
    token_details: Mapping[str, int]
    """Cache and reasoning tokens (and any other kind the steps reported), per kind."""
    on_root: bool
    """Whether the root should say ``gen_ai.usage.*`` itself: tokens were given at the end
    and no LLM span of the session will be counted by the backend."""


def settle(
    sums: Sums,
    *,
    cost: float | None,
    input_tokens: int | None,
    output_tokens: int | None,
    total_tokens: int | None,
) -> SessionUsage:
    """The root's totals: what the caller gave at the end wins, else the sums of the steps."""
    tokens_in = sums.input_tokens if input_tokens is None else input_tokens
    tokens_out = sums.output_tokens if output_tokens is None else output_tokens
    given_split = input_tokens is not None or output_tokens is not None
    if total_tokens is not None:
        total = total_tokens
    elif given_split:
        total = tokens_in + tokens_out
    else:
        total = sums.input_tokens + sums.output_tokens + sums.other_tokens
    return SessionUsage(
        cost=sums.cost if cost is None else cost,
        input_tokens=tokens_in,
        output_tokens=tokens_out,
        total_tokens=total,
        token_details=sums.token_details,
        on_root=sums.llm_calls == 0 and given_split,
    )
