"""PII redaction (opt-in): which payload fields it scans and how a match is replaced.

``pii=True`` or a :class:`PiiConfig` turns it on; it applies to the payload fields the
config names (Sentrial's field names; other content follows the nearest one, see
``FIELD_ALIASES``). Secrets are another module's business: they are always redacted.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

PiiMode = Literal["label", "hash", "remove", "mask"]

# Payload fields, as Sentrial names them; PiiConfig.fields selects among these.
FIELD_USER_INPUT = "user_input"
FIELD_ASSISTANT_OUTPUT = "assistant_output"
FIELD_TOOL_INPUT = "tool_input"
FIELD_TOOL_OUTPUT = "tool_output"
FIELD_METADATA = "metadata"
FIELD_REASONING = "reasoning"
DEFAULT_FIELDS: tuple[str, ...] = (
    FIELD_USER_INPUT,
    FIELD_ASSISTANT_OUTPUT,
    FIELD_TOOL_INPUT,
    FIELD_TOOL_OUTPUT,
    FIELD_METADATA,
    FIELD_REASONING,
)
# Anything else we record that carries content (errors, LLM messages, state) follows the
# nearest Sentrial field.
FIELD_ALIASES = {
    "llm_input": FIELD_USER_INPUT,
    "llm_output": FIELD_ASSISTANT_OUTPUT,
    "error": FIELD_TOOL_OUTPUT,
    "state": FIELD_METADATA,
    "documents": FIELD_TOOL_OUTPUT,
}


@dataclass
class PiiCustomPattern:
    """A user-supplied pattern, replaced by ``[LABEL]`` in label mode."""

    pattern: str | re.Pattern[str]
    label: str = "CUSTOM"


@dataclass
class PiiBuiltinPatterns:
    """Which built-in detectors run (all by default)."""

    emails: bool = True
    phones: bool = True
    ssns: bool = True
    credit_cards: bool = True
    ip_addresses: bool = True


@dataclass
class PiiConfig:
    """PII redaction settings, as in the Sentrial SDK (plus ``mode='mask'``)."""

    enabled: bool = False
    fields: list[str] = field(default_factory=lambda: list(DEFAULT_FIELDS))
    mode: PiiMode = "label"
    builtin_patterns: PiiBuiltinPatterns = field(default_factory=PiiBuiltinPatterns)
    custom_patterns: list[PiiCustomPattern] = field(default_factory=list)
    enhanced_detection: bool = False  # accepted for compatibility; no remote detection here


_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")
_IPV4 = re.compile(
    r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\d.])"
)
_IPV6 = re.compile(
    r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}(?![0-9A-Fa-f:])"
    r"|(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{1,4}:){1,6}:(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4}){0,5})?(?![0-9A-Fa-f:])"
)
_CARD = re.compile(r"(?<!\d)(?:\d[ \-]?){12,18}\d(?!\d)")
_SSN = re.compile(r"(?<!\d)(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?!\d)")
_PHONE = re.compile(
    r"(?<![\w+])(?:\+?\d{1,3}[\s.\-]?)?(?:\(\d{2,4}\)|\d{2,4})[\s.\-]?\d{3,4}[\s.\-]?\d{3,4}(?!\w)"
)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


class PiiRedactor:
    """Replaces PII in text according to one :class:`PiiConfig`."""

    def __init__(self, config: PiiConfig) -> None:
        self.config = config
        self.fields = frozenset(config.fields or DEFAULT_FIELDS)
        builtin = config.builtin_patterns or PiiBuiltinPatterns()
        # Order matters: the more specific shapes first, so a card number is not read as
        # a phone number and an IP address not as digits of one.
        detectors: list[tuple[re.Pattern[str], str, Callable[[str], bool] | None]] = []
        if builtin.emails:
            detectors.append((_EMAIL, "EMAIL", None))
        if builtin.ip_addresses:
            detectors.append((_IPV4, "IP_ADDRESS", None))
            detectors.append((_IPV6, "IP_ADDRESS", None))
        if builtin.credit_cards:
            detectors.append((_CARD, "CREDIT_CARD", _card_check))
        if builtin.ssns:
            detectors.append((_SSN, "SSN", None))
        if builtin.phones:
            detectors.append((_PHONE, "PHONE", _phone_check))
        for custom in config.custom_patterns or []:
            pattern = custom.pattern
            compiled = pattern if isinstance(pattern, re.Pattern) else re.compile(pattern)
            detectors.append((compiled, custom.label or "CUSTOM", None))
        self._detectors = detectors

    def applies_to(self, field_name: str) -> bool:
        return FIELD_ALIASES.get(field_name, field_name) in self.fields

    def _replacement(self, match: str, label: str) -> str:
        mode = self.config.mode
        if mode == "hash":
            return f"[PII:{hashlib.sha256(match.encode('utf-8', 'replace')).hexdigest()[:6]}]"
        if mode == "remove":
            return ""
        if mode == "mask":
            return "*" * len(match)
        return f"[{label}]"

    def redact(self, text: str) -> str:
        for pattern, label, check in self._detectors:
            text = pattern.sub(self._replacer(label, check), text)
        return text

    def _replacer(
        self, label: str, check: Callable[[str], bool] | None
    ) -> Callable[[re.Match[str]], str]:
        def replace(match: re.Match[str]) -> str:
            found = match.group(0)
            if check is not None and not check(found):
                return found
            return self._replacement(found, label)

        return replace


def _card_check(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    return 13 <= len(digits) <= 19 and _luhn_ok(digits)


def _phone_check(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    return 10 <= len(digits) <= 15


def pii_config_from(value: Any) -> PiiConfig | None:
    """``pii=True``, a PiiConfig or a dict of its fields, as the SDK accepts; None = off."""
    if value is None or value is False:
        return None
    if value is True:
        return PiiConfig(enabled=True)
    if isinstance(value, PiiConfig):
        return value if value.enabled else None
    if isinstance(value, dict):
        known = {k: v for k, v in value.items() if k in PiiConfig.__dataclass_fields__}
        config = PiiConfig(**known)
        return config if config.enabled else None
    raise TypeError(f"pii must be a bool or PiiConfig, not {type(value).__name__}")
