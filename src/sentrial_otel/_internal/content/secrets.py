"""Secret redaction, always on: credentials never leave the process.

Values under keys that name a credential (``api_key``, ``password``, ``authorization``...),
bearer tokens, ``password=...`` pairs and well-known API key shapes inside text are
replaced by ``[REDACTED]``. :func:`may_need_secret_redaction` is the cheap pre-test the
encoder's fast path runs on JSON text before it may skip the walk.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import NamedTuple

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
