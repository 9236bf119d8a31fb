"""The LangChain versions this instrumentation supports, declared once.

``LangChainInstrumentor.instrumentation_dependencies()`` returns this tuple, so
``opentelemetry-instrument`` skips us (with a message) when the installed ``langchain-core``
is outside the range. The ``instruments`` extra in pyproject.toml mirrors it.
"""

from __future__ import annotations

_instruments = ("langchain-core >= 0.3.0, < 2",)

_supports_metrics = True
"""LLM and tool duration and token usage metrics are recorded (docs/langchain.md)."""
