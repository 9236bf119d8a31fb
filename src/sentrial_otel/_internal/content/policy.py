"""What content may leave the process, and how it is encoded on the way out.

One policy per engine: whether content is captured at all, the per-string size limit, the
span limits of the provider the spans go through (``spans/limits.py``: every value fits its
length limit), and which payload fields PII redaction scans. Secret redaction applies to
every field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sentrial_otel._internal.content.encoding import Encoded, Encoder
from sentrial_otel._internal.content.pii import PiiConfig, PiiRedactor
from sentrial_otel._internal.content.secrets import (
    is_secret_key,
    may_need_secret_redaction,
    redact_secrets,
)
from sentrial_otel._internal.spans.limits import AttributeLimits
from sentrial_otel.config import DEFAULT_MAX_CONTENT_LENGTH


class ContentPolicy:
    """Content capture on/off, truncation and redaction, per payload field."""

    def __init__(
        self,
        capture: bool = True,
        max_string_length: int = DEFAULT_MAX_CONTENT_LENGTH,
        pii: PiiConfig | None = None,
        limits: AttributeLimits | None = None,
    ) -> None:
        self.capture = capture
        self.max_string_length = max_string_length
        self.limits = limits if limits is not None else AttributeLimits()
        self.pii = PiiRedactor(pii) if pii is not None and pii.enabled else None
        length = self.limits.value_length
        # PII detection has no cheap pre-test, so only the plain encoder may skip the walk.
        self._plain = Encoder(
            max_string_length, redact_secrets, is_secret_key, may_need_secret_redaction,
            max_value_length=length,
        )
        self._with_pii = (
            Encoder(
                max_string_length,
                combine((redact_secrets, self.pii.redact)),
                is_secret_key,
                max_value_length=length,
            )
            if self.pii is not None
            else self._plain
        )

    def encoder(self, field: str) -> Encoder:
        """The encoder for one payload field (PII-redacting when that field is scanned)."""
        if self.pii is not None and self.pii.applies_to(field):
            return self._with_pii
        return self._plain

    def json(self, field: str, value: Any) -> Encoded:
        return self.encoder(field).json(value)

    def text(self, field: str, value: Any) -> Encoded:
        return self.encoder(field).text(value)


def combine(filters: Iterable[Callable[[str], str]]) -> Callable[[str], str]:
    """One string filter that applies ``filters`` in order."""
    chain = tuple(filters)

    def apply(text: str) -> str:
        for step in chain:
            text = step(text)
        return text

    return apply
