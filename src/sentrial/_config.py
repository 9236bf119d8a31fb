"""Batching settings as the Sentrial SDK names them (mapped onto the batch span processor)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class BatcherConfig:
    """``flush_interval`` (s) -> schedule delay, ``flush_threshold`` -> batch size,
    ``max_queue_size`` -> queue size of the batch span processor."""

    enabled: bool = True
    flush_interval: float = 1.0
    flush_threshold: int = 10
    max_queue_size: int = 1000
