"""USD cost of LLM calls from a per-model price table.

Prices are list prices in USD per million tokens, as published by each provider: input,
output, and where the provider prices them apart, cached input read and cache write. A
dated or suffixed model name (``gpt-4o-2024-08-06``) takes the price of its longest known
prefix. Unknown models cost 0.0 (and say so once in the log), never an error.

Input token counts include the cached ones (GenAI conventions: ``gen_ai.usage.input_tokens``
includes ``cache_read`` and ``cache_write``), so a call costs
``(input - cache_read - cache_write) * input + cache_read * cache_read_price +
cache_write * cache_write_price + output * output``; a provider without a price for one of
them bills it as plain input. Reasoning tokens are output tokens and priced as such.
"""

from __future__ import annotations

import functools
import math
from typing import Final, NamedTuple

from sentrial_otel._internal.logs import logger

PROVIDER_OPENAI: Final = "openai"
PROVIDER_ANTHROPIC: Final = "anthropic"
PROVIDER_GOOGLE: Final = "gcp.gemini"


class Price(NamedTuple):
    """USD per 1M tokens of one model."""

    input: float
    output: float
    cache_read: float | None = None
    """Cached input read; None: billed as input."""
    cache_write: float | None = None
    """Input written to the cache; None: billed as input (no surcharge)."""


def _anthropic(base_input: float, output: float) -> Price:
    # Anthropic: a 5-minute cache write costs 1.25x the base input price, a cache hit 0.1x.
    return Price(base_input, output, round(base_input * 0.1, 6), round(base_input * 1.25, 6))


# Sources (list prices, standard tier):
# - OpenAI: https://platform.openai.com/docs/pricing ("Cached input" column; OpenAI does
#   not charge for writing its automatic prompt cache, so no cache-write price).
# - Anthropic: https://docs.anthropic.com/en/docs/about-claude/pricing ("Prompt caching":
#   5m cache writes 1.25x base input, cache hits and refreshes 0.1x base input).
# - Google: https://ai.google.dev/gemini-api/docs/pricing ("Context caching price", prompts
#   up to 200k tokens; 128k for 1.5). Cache storage is billed per hour, not per token, so
#   no cache-write price.
PRICES: Final[dict[str, dict[str, Price]]] = {
    PROVIDER_OPENAI: {
        "gpt-5": Price(1.25, 10.0, 0.125),
        "gpt-5-mini": Price(0.25, 2.0, 0.025),
        "gpt-5-nano": Price(0.05, 0.40, 0.005),
        "gpt-4.1": Price(2.0, 8.0, 0.50),
        "gpt-4.1-mini": Price(0.40, 1.60, 0.10),
        "gpt-4.1-nano": Price(0.10, 0.40, 0.025),
        "gpt-4o": Price(2.50, 10.0, 1.25),
        "gpt-4o-mini": Price(0.15, 0.60, 0.075),
        "gpt-4-turbo": Price(10.0, 30.0),
        "gpt-4": Price(30.0, 60.0),
        "gpt-3.5-turbo": Price(0.50, 1.50),
        "o1": Price(15.0, 60.0, 7.50),
        "o1-mini": Price(1.10, 4.40, 0.55),
        "o3": Price(2.0, 8.0, 0.50),
        "o3-mini": Price(1.10, 4.40, 0.55),
        "o4-mini": Price(1.10, 4.40, 0.275),
        "text-embedding-3-small": Price(0.02, 0.0),
        "text-embedding-3-large": Price(0.13, 0.0),
    },
    PROVIDER_ANTHROPIC: {
        "claude-opus-4": _anthropic(15.0, 75.0),
        "claude-opus-4-1": _anthropic(15.0, 75.0),
        "claude-opus-4-5": _anthropic(5.0, 25.0),
        "claude-sonnet-4": _anthropic(3.0, 15.0),
        "claude-sonnet-4-5": _anthropic(3.0, 15.0),
        "claude-haiku-4-5": _anthropic(1.0, 5.0),
        "claude-3-7-sonnet": _anthropic(3.0, 15.0),
        "claude-3-5-sonnet": _anthropic(3.0, 15.0),
        "claude-3-5-haiku": _anthropic(0.80, 4.0),
        "claude-3-opus": _anthropic(15.0, 75.0),
        "claude-3-sonnet": Price(3.0, 15.0),  # retired before prompt caching reached it
        "claude-3-haiku": Price(0.25, 1.25, 0.03, 0.30),  # published apart from the rule
    },
    PROVIDER_GOOGLE: {
        "gemini-2.5-pro": Price(1.25, 10.0, 0.125),
        "gemini-2.5-flash": Price(0.30, 2.50, 0.03),
        "gemini-2.5-flash-lite": Price(0.10, 0.40, 0.01),
        "gemini-2.0-flash": Price(0.10, 0.40, 0.025),
        "gemini-2.0-flash-lite": Price(0.075, 0.30),
        "gemini-1.5-pro": Price(1.25, 5.0, 0.3125),
        "gemini-1.5-flash": Price(0.075, 0.30, 0.01875),
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


def price_of(model: str, provider: str | None = None) -> Price | None:
    """USD per million tokens (input, output, cache read, cache write), or None for an
    unknown model."""
    if not isinstance(model, str) or not model or not isinstance(provider, (str, type(None))):
        return None
    return _price_of(model, provider)


@functools.lru_cache(maxsize=1024)
def _price_of(model: str, provider: str | None) -> Price | None:
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
    model: str,
    input_tokens: float | None,
    output_tokens: float | None,
    provider: str | None = None,
    *,
    cache_read_tokens: float | None = None,
    cache_write_tokens: float | None = None,
) -> float:
    """USD cost of one call; 0.0 for unknown models or unusable token counts.

    ``input_tokens`` includes ``cache_read_tokens`` and ``cache_write_tokens`` (the GenAI
    conventions' counting; for Anthropic's API, whose ``input_tokens`` leaves them out, add
    them). More cache tokens than input tokens: the input is taken as all cached."""
    price = price_of(model, provider)
    if price is None:
        key = f"{provider}:{model}"
        if key not in _warned_unknown and len(_warned_unknown) < 1000:
            _warned_unknown.add(key)
            logger.info("sentrial: no price known for model %r; cost recorded as 0", model)
        return 0.0
    if (
        cache_read_tokens is None and cache_write_tokens is None
        and type(input_tokens) is int and type(output_tokens) is int
    ):
        # The usual call, counts already checked: the sum below without its zero terms.
        billed_in = input_tokens if input_tokens > 0 else 0
        billed_out = output_tokens if output_tokens > 0 else 0
        return (billed_in * price.input + billed_out * price.output) / 1_000_000
    tokens_in = _tokens(input_tokens)
    cached = min(_tokens(cache_read_tokens), tokens_in)
    written = min(_tokens(cache_write_tokens), tokens_in - cached)
    read_price = price.input if price.cache_read is None else price.cache_read
    write_price = price.input if price.cache_write is None else price.cache_write
    cost = (
        (tokens_in - cached - written) * price.input
        + cached * read_price
        + written * write_price
        + _tokens(output_tokens) * price.output
    )
    return cost / 1_000_000


def _tokens(value: float | None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0.0
    return float(value) if math.isfinite(value) and value > 0 else 0.0
