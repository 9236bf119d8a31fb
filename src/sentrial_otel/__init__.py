"""sentrial-otel: OpenTelemetry instrumentation for AI agents.

Sessions become root spans (``invoke_agent {agent}``); tool calls, decisions and LLM calls
inside them become child spans with OpenTelemetry GenAI attributes::

    import sentrial_otel

    telemetry = sentrial_otel.configure()
    with telemetry.session("support-agent", user_id="u1", input="hi") as session:
        with session.tool("search", {"q": "reset password"}) as call:
            call.result = search("reset password")
        session.track_llm_call(provider="openai", model="gpt-4o", prompt_tokens=10,
                               completion_tokens=5, output="Hello!")

The Sentrial-compatible API lives in the ``sentrial`` package.

This module only names the public API: each name is imported on first use, so importing
``sentrial_otel.semconv`` (or starting the ``sentrial-otel`` command) does not load the
engine. Everything under ``sentrial_otel._internal`` is private.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from sentrial_otel.version import __version__

if TYPE_CHECKING:
    from sentrial_otel._internal.content.pii import (
        PiiBuiltinPatterns,
        PiiConfig,
        PiiCustomPattern,
    )
    from sentrial_otel._internal.engine import Telemetry, configure, get_telemetry
    from sentrial_otel._internal.process.executors import instrument as instrument_executors
    from sentrial_otel._internal.process.executors import (
        uninstrument as uninstrument_executors,
    )
    from sentrial_otel._internal.spans.invocations import LlmCall, ToolCall
    from sentrial_otel._internal.spans.session import (
        RemoteSession,
        Session,
        current_session,
    )
    from sentrial_otel.config import Settings, resolve_settings

# public name -> the module that defines it ("module:name" when it is named otherwise there)
_LAZY = {
    "LlmCall": "sentrial_otel._internal.spans.invocations",
    "PiiBuiltinPatterns": "sentrial_otel._internal.content.pii",
    "PiiConfig": "sentrial_otel._internal.content.pii",
    "PiiCustomPattern": "sentrial_otel._internal.content.pii",
    "RemoteSession": "sentrial_otel._internal.spans.session",
    "Session": "sentrial_otel._internal.spans.session",
    "Settings": "sentrial_otel.config",
    "Telemetry": "sentrial_otel._internal.engine",
    "ToolCall": "sentrial_otel._internal.spans.invocations",
    "configure": "sentrial_otel._internal.engine",
    "current_session": "sentrial_otel._internal.spans.session",
    "get_telemetry": "sentrial_otel._internal.engine",
    "instrument_executors": "sentrial_otel._internal.process.executors:instrument",
    "resolve_settings": "sentrial_otel.config",
    "uninstrument_executors": "sentrial_otel._internal.process.executors:uninstrument",
}

__all__ = [
    "LlmCall",
    "PiiBuiltinPatterns",
    "PiiConfig",
    "PiiCustomPattern",
    "RemoteSession",
    "Session",
    "Settings",
    "Telemetry",
    "ToolCall",
    "__version__",
    "configure",
    "current_session",
    "get_telemetry",
    "instrument_executors",
    "resolve_settings",
    "uninstrument_executors",
]


def __getattr__(name: str) -> Any:
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module 'sentrial_otel' has no attribute {name!r}")
    module, _, attribute = where.partition(":")
    value = getattr(importlib.import_module(module), attribute or name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
