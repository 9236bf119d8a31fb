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
"""

from __future__ import annotations

import threading
from typing import Any

from sentrial_otel.config import Settings, resolve_settings
from sentrial_otel.redaction import PiiBuiltinPatterns, PiiConfig, PiiCustomPattern
from sentrial_otel.calls import LlmCall, ToolCall
from sentrial_otel.executors import instrument as instrument_executors
from sentrial_otel.executors import uninstrument as uninstrument_executors
from sentrial_otel.sessions import RemoteSession, Session, current_session
from sentrial_otel.telemetry import Telemetry
from sentrial_otel.version import __version__

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

_default: Telemetry | None = None
_default_lock = threading.Lock()


def configure(
    *,
    tracer_provider: Any = None,
    meter_provider: Any = None,
    logger_provider: Any = None,
    pii: Any = None,
    **settings: Any,
) -> Telemetry:
    """Build the default engine from arguments, environment and defaults (see ``resolve_settings``)."""
    global _default
    engine = Telemetry(
        resolve_settings(**settings),
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        logger_provider=logger_provider,
        pii=pii,
    )
    with _default_lock:
        _default = engine
    return engine


def get_telemetry() -> Telemetry:
    """The default engine, configured from the environment on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Telemetry(resolve_settings())
        return _default
