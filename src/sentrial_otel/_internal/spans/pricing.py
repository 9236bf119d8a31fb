"""USD cost of LLM calls from a per-model price table.

Prices are list prices in USD per million tokens (input, output), as published by each
provider. A dated or suffixed model name (``gpt-4o-2024-08-06``) takes the price of its
longest known prefix. Unknown models cost 0.0 (and say so once in the log), never an error.
"""

from __future__ import annotations

import functools
import math
from typing import Final

from sentrial_otel._internal.logs import logger

PROVIDER_OPENAI: Final = "openai"
PROVIDER_ANTHROPIC: Final = "anthropic"
PROVIDER_GOOGLE: Final = "gcp.gemini"

# (input, output) USD per 1M tokens.
PRICES: Final[dict[str, dict[str, tuple[float, float]]]] = {
    PROVIDER_OPENAI: {
        "gpt-5": (1.25, 10.0),
        "gpt-5-mini": (0.25, 2.0),
        "gpt-5-nano": (0.05, 0.40),
        "gpt-4.1": (2.0, 8.0),
        "gpt-4.1-mini": (0.40, 1.60),
        "gpt-4.1-nano": (0.10, 0.40),
        "gpt-4o": (2.50, 10.0),
        "gpt-4o-mini": (0.15, 0.60),
        "gpt-4-turbo": (10.0, 30.0),
        "gpt-4": (30.0, 60.0),
        "gpt-3.5-turbo": (0.50, 1.50),
        "o1": (15.0, 60.0),
        "o1-mini": (1.10, 4.40),
        "o3": (2.0, 8.0),
        "o3-mini": (1.10, 4.40),
        "o4-mini": (1.10, 4.40),
        "text-embedding-3-small": (0.02, 0.0),
        "text-embedding-3-large": (0.13, 0.0),
    },
    PROVIDER_ANTHROPIC: {
        "claude-opus-4": (15.0, 75.0),
        "claude-opus-4-1": (15.0, 75.0),
        "claude-opus-4-5": (5.0, 25.0),
        "claude-sonnet-4": (3.0, 15.0),
        "claude-sonnet-4-5": (3.0, 15.0),
        "claude-haiku-4-5": (1.0, 5.0),
        "claude-3-7-sonnet": (3.0, 15.0),
        "claude-3-5-sonnet": (3.0, 15.0),
        "claude-3-5-haiku": (0.80, 4.0),
        "claude-3-opus": (15.0, 75.0),
        "claude-3-sonnet": (3.0, 15.0),
        "claude-3-haiku": (0.25, 1.25),
    },
    PROVIDER_GOOGLE: {
        "gemini-2.5-pro": (1.25, 10.0),
        "gemini-2.5-flash": (0.30, 2.50),
        "gemini-2.5-flash-lite": (0.10, 0.40),
        "gemini-2.0-flash": (0.10, 0.40),
        "gemini-2.0-flash-lite": (0.075, 0.30),
        "gemini-1.5-pro": (1.25, 5.0),
        "gemini-1.5-flash": (0.075, 0.30),
    },
}

_warned_unknown: set[str] = set()


def infer_provider(model: str) -> str | None:
    """The provider a model name belongs to, from its well-known prefixes."""
    name = model.lower().rsplit("/", 1)[-1]
    if name.startswith(("gpt-", "o1", "o3", "o4", "text-embedding", "chatgpt")):
        return PROVIDER_OPENAI
    if name.startswith("claude"):
        return PROVIDER_ANTHROPIC
    if name.startswith("gemini"):
        return PROVIDER_GOOGLE
    return None


def _normalise_provider(provider: str | None) -> str | None:
    if provider is None:
        return None
    lowered = provider.lower()
    if lowered in ("google", "gemini", "vertex_ai", "gcp.vertex_ai", "google_genai", "gcp.gen_ai"):
        return PROVIDER_GOOGLE
    if lowered in ("azure", "azure.ai.openai", "azure_openai"):
        return PROVIDER_OPENAI
    return lowered


def price_of(model: str, provider: str | None = None) -> tuple[float, float] | None:
    """(input, output) USD per million tokens, or None for an unknown model."""
    if not isinstance(model, str) or not model or not isinstance(provider, (str, type(None))):
        return None
    return _price_of(model, provider)


@functools.lru_cache(maxsize=1024)
def _price_of(model: str, provider: str | None) -> tuple[float, float] | None:
    name = model.lower().rsplit("/", 1)[-1]
    table = PRICES.get(_normalise_provider(provider) or infer_provider(name) or "", {})
    best: str | None = None
    for known in table:
        if (name == known or name.startswith(known + "-") or name.startswith(known + "@")) and (
            best is None or len(known) > len(best)
        ):
            best = known
    return table[best] if best is not None else None


def cost_usd(
    model: str, input_tokens: float | None, output_tokens: float | None, provider: str | None = None
) -> float:
    """USD cost of one call; 0.0 for unknown models or unusable token counts."""
    price = price_of(model, provider)
    if price is None:
        key = f"{provider}:{model}"
        if key not in _warned_unknown and len(_warned_unknown) < 1000:
            _warned_unknown.add(key)
            logger.info("sentrial: no price known for model %r; cost recorded as 0", model)
        return 0.0
    tokens_in = _tokens(input_tokens)
    tokens_out = _tokens(output_tokens)
    return (tokens_in * price[0] + tokens_out * price[1]) / 1_000_000


def _tokens(value: float | None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0.0
    return float(value) if math.isfinite(value) and value > 0 else 0.0
