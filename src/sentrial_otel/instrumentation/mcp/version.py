"""Version of the MCP instrumentation: the distribution's version."""

from __future__ import annotations

from sentrial_otel.version import __version__

__all__ = ["__version__"]
