"""PII and secret redaction, applied in the process before anything is exported.

PII redaction is opt-in (``pii=True`` or a :class:`PiiConfig`) and scans the payload fields
it names. Secret redaction is always on: values under keys that name a credential
(``api_key``, ``password``, ``authorization``...) and bearer tokens inside text never leave.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

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

_SECRET_KEY = re.compile(
    r"(?i)(?:^|[_\-.])(?:api[_\-.]?key|apikey|password|passwd|secret|token|"
    r"access[_\-.]?key|private[_\-.]?key|authorization|auth|credentials?|cookie|session[_\-.]?key)$"
)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9\-._~+/]{8,}=*")
_KEY_VALUE_SECRET = re.compile(
    r"(?i)\b(api[_\-]?key|password|passwd|secret|access[_\-]?token|token)(\s*[=:]\s*)"
    r"(\"[^\"]*\"|'[^']*'|[^\s,;&\"']+)"
)
_KNOWN_TOKEN = re.compile(
    r"\b(?:sk-[A-Za-z0-9_\-]{16,}|sk-ant-[A-Za-z0-9_\-]{16,}|gh[pousr]_[A-Za-z0-9]{30,}"
    r"|AKIA[0-9A-Z]{16}|xox[abpr]-[A-Za-z0-9\-]{10,}|AIza[0-9A-Za-z_\-]{35})\b"
)
REDACTED = "[REDACTED]"

# Tests on JSON *text* for the encoder's fast path: looser than the patterns above, so that
# whatever they would find in the decoded strings is found here too, escapes and all. A key
# is a JSON string followed by a colon (a value never is); whitespace may appear escaped.
# Every test starts with a literal hint: text without any hint is cleared by plain substring
# tests, and for text with one the regular expression engine jumps straight to the literal
# (one alternation over every shape tries each branch at every position: ~7x slower).
_JSON_WHITESPACE = r"(?:\s|\\[nrtfb]|\\u00[0-9a-f]{2})"
_AS_VALUE = rf"{_JSON_WHITESPACE}*[=:]"  # password=..., token: ...
_AS_KEY = r'(?:\\n)?":'  # "password": (a trailing newline is still the same key)
# hint -> what must follow for a secret *value* to be possible (None: the hint suffices).
_VALUE_TESTS: dict[str, str | None] = {
    "bearer": rf"bearer{_JSON_WHITESPACE}",
    "basic": rf"basic{_JSON_WHITESPACE}",
    "key": rf"key{_AS_VALUE}",  # api_key=, apikey:
    "passw": rf"passw(?:or)?d{_AS_VALUE}",
    "secret": rf"secret{_AS_VALUE}",
    "token": rf"token{_AS_VALUE}",  # token=, access_token=
    "sk-": None,
    "gh": r"gh[pousr]_",
    "akia": None,
    "xox": r"xox[abpr]-",
    "aiza": None,
}
# hint -> the end of a JSON key that names a credential (is_secret_key's words).
_KEY_TESTS: dict[str, str] = {
    "key": rf"key{_AS_KEY}",  # api_key, apikey, access_key, private_key, session_key
    "passw": rf"passw(?:or)?d{_AS_KEY}",
    "secret": rf"secret{_AS_KEY}",
    "token": rf"token{_AS_KEY}",
    "auth": rf"auth(?:orization)?{_AS_KEY}",
    "cookie": rf"cookie{_AS_KEY}",
    "credential": rf"credentials?{_AS_KEY}",
}
HintTests = tuple[tuple[str, "re.Pattern[str] | None"], ...]


def _hint_tests(*tables: Mapping[str, str | None]) -> HintTests:
    """One test per hint: none when the hint alone suffices in some table, else one regular
    expression for everything the tables say may follow it."""
    tests = []
    for hint in dict.fromkeys(hint for table in tables for hint in table):
        patterns = [table[hint] for table in tables if hint in table]
        given = [pattern for pattern in patterns if pattern is not None]
        tests.append((hint, re.compile("|".join(given)) if len(given) == len(patterns) else None))
    return tuple(tests)


_SECRET_VALUE_HINTS = _hint_tests(_VALUE_TESTS)
_SECRET_JSON_HINTS = _hint_tests(_VALUE_TESTS, _KEY_TESTS)


def _passes(lowered: str, tests: HintTests) -> bool:
    # A plain loop: measurably cheaper than any() over a generator.
    for hint, pattern in tests:
        if hint in lowered and (pattern is None or pattern.search(lowered)):
            return True
    return False


# Long texts. Each hint test above is a full pass over the text (about 0.6 ns a character
# apiece, 14 of them: most of what content costs at a few kilobytes). But ten hints only
# matter right before a particular character: a ":" or "=" (key=value, a JSON key), a "-"
# (sk-, xox?-) or a "_" (gh?_). Those characters are found with memchr, far faster than a
# word, so a long text is read backwards from each of them instead; only bearer, basic,
# akia and aiza still take a pass each. Where the anchors are dense (a key-heavy JSON
# object), a pass per hint is cheaper again, so past a budget of anchors the test falls
# back to the passes.
LONG_TEXT = 1024


def _tests_for(*hints: str) -> HintTests:
    return tuple(test for test in _SECRET_JSON_HINTS if test[0] in hints)


_UNANCHORED_TESTS = _tests_for("bearer", "basic", "akia", "aiza")
# The window read back from a ":" or "=": a credential word, a key's closing quote and
# any whitespace between fit; a longer run of whitespace is treated as a possible secret.
_WINDOW = 64
# The tests above, reversed (a window is read from its anchor backwards): a JSON key's
# closing quote, or a value's whitespace, then the credential word.
_REVERSED_WHITESPACE = r"(?:\s|[nrtfb]\\|[0-9a-f]{2}00u\\)"
_REVERSED_CREDENTIAL = r"(?:yek|d(?:ro)?wssap|terces|nekot|htua|noitazirohtua|eikooc|s?laitnederc)"
_CREDENTIAL_BEFORE = re.compile(
    rf'"(?:n\\)?{_REVERSED_CREDENTIAL}|{_REVERSED_WHITESPACE}*{_REVERSED_CREDENTIAL}'
)
# The same for a window cut out of a longer text, where whitespace that reaches (nearly) to
# the window's edge may hide a credential word further back: that counts as one.
_CREDENTIAL_OR_HIDDEN_BEFORE = re.compile(
    rf'"(?:n\\)?{_REVERSED_CREDENTIAL}'
    rf"|{_REVERSED_WHITESPACE}*(?:{_REVERSED_CREDENTIAL}|.{{0,7}}\Z)",
    re.DOTALL,
)
_REVERSED_BEFORE_DASH = re.compile(r"ks|[abpr]xox")
_REVERSED_BEFORE_UNDERSCORE = re.compile(r"[pousr]hg")


def _credential_before(lowered: str, end: int) -> bool:
    """Whether a credential word ends just before ``lowered[end]`` (a ":" or "="), with
    JSON whitespace (a value: ``password = x``) or a closing quote (a key) between."""
    if end <= _WINDOW:
        return _CREDENTIAL_BEFORE.match(lowered[:end][::-1]) is not None
    window = lowered[end - _WINDOW : end][::-1]
    return _CREDENTIAL_OR_HIDDEN_BEFORE.match(window) is not None


def _token_before(reversed_prefix: re.Pattern[str], width: int) -> Callable[[str, int], bool]:
    """Whether a token prefix of at most ``width`` characters ends just before ``end``."""

    def before(lowered: str, end: int) -> bool:
        return reversed_prefix.match(lowered[max(0, end - width) : end][::-1]) is not None

    return before


class _AnchoredHints(NamedTuple):
    anchors: str  # the characters these hints stand right before
    before: Callable[[str, int], bool]  # whether one of them ends at this position
    fallback: HintTests  # the same hints, a pass each
    chars_per_anchor: int  # anchors denser than this: the passes are cheaper


_ANCHORED = (
    _AnchoredHints(
        ":=",
        _credential_before,
        _tests_for("key", "passw", "secret", "token", "auth", "cookie", "credential"),
        256,
    ),
    _AnchoredHints("-", _token_before(_REVERSED_BEFORE_DASH, 4), _tests_for("sk-", "xox"), 512),
    _AnchoredHints("_", _token_before(_REVERSED_BEFORE_UNDERSCORE, 3), _tests_for("gh"), 512),
)


def _anchored_hint(lowered: str, group: _AnchoredHints) -> bool:
    budget = len(lowered) // group.chars_per_anchor
    positions: list[int] = []
    for anchor in group.anchors:
        position = lowered.find(anchor)
        while position != -1:
            if len(positions) == budget:
                return _passes(lowered, group.fallback)
            positions.append(position)
            position = lowered.find(anchor, position + 1)
    return any(group.before(lowered, position) for position in positions)


def may_need_secret_redaction(json_text: str) -> bool:
    """False only when no secret key or value can be inside this JSON text."""
    lowered = json_text.lower()
    if len(lowered) < LONG_TEXT:
        return _passes(lowered, _SECRET_JSON_HINTS)
    if _passes(lowered, _UNANCHORED_TESTS):
        return True
    return any(_anchored_hint(lowered, group) for group in _ANCHORED)


def _may_hold_secret_value(text: str) -> bool:
    return _passes(text.lower(), _SECRET_VALUE_HINTS)


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


@functools.lru_cache(maxsize=4096)
def is_secret_key(key: str) -> bool:
    """Whether a mapping key names a credential whose value must never be exported."""
    return bool(_SECRET_KEY.search(key))


def redact_secrets(text: str) -> str:
    """Blank bearer tokens, ``password=...`` pairs and well-known API key shapes."""
    # One search that finds nothing is much cheaper than three substitutions that do not.
    if not text or not _may_hold_secret_value(text):
        return text
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _KEY_VALUE_SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    return _KNOWN_TOKEN.sub(REDACTED, text)


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


def combine(filters: Iterable[Callable[[str], str]]) -> Callable[[str], str]:
    chain = tuple(filters)

    def apply(text: str) -> str:
        for step in chain:
            text = step(text)
        return text

    return apply
