"""pytest fixtures over the receiver and the rotel collector.

Register them in ``tests/conftest.py`` with::

    from tests.support.fixtures import otlp_receiver, otlp_grpc_receiver, rotel_collector  # noqa: F401

Every server binds 127.0.0.1 on a free port and is stopped when the test ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.otlp_receiver import OtlpReceiver
from tests.support.rotel import RotelCollector


@pytest.fixture
def otlp_receiver() -> Iterator[OtlpReceiver]:
    """An OTLP/HTTP receiver; ``.endpoint`` is the OTEL_EXPORTER_OTLP_ENDPOINT value."""
    with OtlpReceiver(protocol="http/protobuf") as rx:
        yield rx


@pytest.fixture
def otlp_grpc_receiver() -> Iterator[OtlpReceiver]:
    """An OTLP/gRPC receiver; use ``.endpoint`` with ``insecure=True``."""
    with OtlpReceiver(protocol="grpc") as rx:
        yield rx


@pytest.fixture
def rotel_collector(otlp_receiver: OtlpReceiver, tmp_path: Path) -> Iterator[RotelCollector]:
    """rotel receiving OTLP (HTTP + gRPC) and forwarding to ``otlp_receiver`` over HTTP."""
    with RotelCollector(otlp_receiver.endpoint, workdir=tmp_path / "rotel") as collector:
        yield collector
