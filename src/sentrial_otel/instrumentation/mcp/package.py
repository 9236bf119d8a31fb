"""The MCP SDK versions this instrumentation supports, declared once.

``MCPInstrumentor.instrumentation_dependencies()`` returns this tuple, so
``opentelemetry-instrument`` skips us (with a message) when the installed ``mcp`` is outside
the range. The ``mcp`` extra in pyproject.toml mirrors it. 1.24 is the oldest line whose
``ClientSession.call_tool`` takes ``meta=``.
"""

from __future__ import annotations

_instruments = ("mcp >= 1.24",)

_supports_metrics = False
