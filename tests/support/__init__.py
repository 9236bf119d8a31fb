"""Test support: a real OTLP receiver and a real collector process (rotel) for end-to-end tests.

- :mod:`tests.support.otlp_receiver`: :class:`OtlpReceiver`, an in-process OTLP/HTTP and
  OTLP/gRPC server that decodes with ``opentelemetry-proto`` and can be told to misbehave.
- :mod:`tests.support.rotel`: :class:`RotelCollector`, the ``rotel`` collector binary started
  on 127.0.0.1 with its own pid and log files.
- :mod:`tests.support.server_process`: :class:`ServerProcess`, the one lifecycle of every
  server a test starts as a child (rotel, otelcol, Jaeger, the MCP servers, Phoenix).
- :mod:`tests.support.fixtures`: pytest fixtures built on both (import them in conftest.py).
"""

from tests.support.otlp_receiver import (
    Attempt,
    EventRecord,
    LinkRecord,
    LogRecordEntry,
    OtlpReceiver,
    ReceivedRequest,
    SpanRecord,
)
from tests.support.rotel import RotelCollector, read_env_file, rotel_binary
from tests.support.server_process import free_port

__all__ = [
    "Attempt",
    "EventRecord",
    "LinkRecord",
    "LogRecordEntry",
    "OtlpReceiver",
    "ReceivedRequest",
    "RotelCollector",
    "SpanRecord",
    "free_port",
    "read_env_file",
    "rotel_binary",
]
