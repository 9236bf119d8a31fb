"""Drop-in replacement for the Sentrial SDK that records OpenTelemetry spans.

Code written for the Sentrial SDK runs unchanged::

    import sentrial

    sentrial.configure(api_key="...")
    interaction = sentrial.begin(user_id="user_123", event="chat_message", input="Hi")
    interaction.finish(output="Hello!", success=True)

Sessions become root spans, events child spans; they go to an OpenTelemetry Collector over
OTLP, or to the local store (``sentrial-otel sessions list``) when no endpoint is set.
"""

from __future__ import annotations

from sentrial._config import BatcherConfig
from sentrial._default import begin, configure, score
from sentrial.client import SentrialClient
from sentrial.context import (
    SessionContext,
    get_current_interaction,
    get_current_session_id,
)
from sentrial.decorators import session, tool
from sentrial.interaction import Interaction
from sentrial_otel import PiiBuiltinPatterns, PiiConfig, PiiCustomPattern
from sentrial_otel.version import __version__

__all__ = [
    "BatcherConfig",
    "Interaction",
    "PiiBuiltinPatterns",
    "PiiConfig",
    "PiiCustomPattern",
    "SentrialClient",
    "SessionContext",
    "__version__",
    "begin",
    "configure",
    "get_current_interaction",
    "get_current_session_id",
    "score",
    "session",
    "tool",
]
