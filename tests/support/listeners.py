"""A session step listener for tests: what a session's listeners (its detectors) hear."""

from __future__ import annotations

from typing import Any


class Heard:
    """Every step a session hands its listeners, its root's last (``session_ending``)."""

    def __init__(self) -> None:
        self.steps: list[Any] = []

    def step_ended(self, step: Any) -> None:
        self.steps.append(step)

    def session_ending(self, root: Any) -> None:
        self.steps.append(root)
