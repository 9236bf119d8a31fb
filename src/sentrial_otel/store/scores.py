"""Scores kept in the store: ``gen_ai.evaluation.result`` log records, read back.

They are stored as the collector's file exporter stores logs (a ``resourceLogs`` line) in
the same data files as the spans, so rotation, summaries and ``load_session`` treat them as
they treat spans: a score's trace id is its session's, whichever process sent it. Log
records of other kinds (an application's own logs sent through the same provider) are kept
on disk but are not scores.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sentrial_otel import semconv as sc
from sentrial_otel.store.otlp_json import iter_log_record_dicts
from sentrial_otel.store.records import decode_attributes


@dataclass(frozen=True)
class StoredScore:
    """One score of a session, as stored."""

    trace_id: str
    time_ns: int
    name: str
    value: float | None
    label: str | None
    explanation: str | None
    session_id: str

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> StoredScore | None:
        """From one OTLP/JSON log record dict; None when it is not a score."""
        attributes = decode_attributes(record.get("attributes", ()))
        name = attributes.get(sc.GEN_AI_EVALUATION_NAME)
        if record.get("eventName") != sc.GEN_AI_EVALUATION_RESULT_EVENT and name is None:
            return None
        if not isinstance(name, str) or not record.get("traceId"):
            return None
        value = attributes.get(sc.GEN_AI_EVALUATION_SCORE_VALUE)
        label = attributes.get(sc.GEN_AI_EVALUATION_SCORE_LABEL)
        explanation = attributes.get(sc.GEN_AI_EVALUATION_EXPLANATION)
        session_id = attributes.get(sc.SENTRIAL_SESSION_ID)
        return cls(
            trace_id=record["traceId"],
            time_ns=int(record.get("timeUnixNano") or record.get("observedTimeUnixNano") or 0),
            name=name,
            value=float(value) if isinstance(value, (int, float)) and not isinstance(value, bool)
            else None,
            label=label if isinstance(label, str) else None,
            explanation=explanation if isinstance(explanation, str) else None,
            session_id=session_id if isinstance(session_id, str) else "",
        )

    def to_row(self) -> list[Any]:
        """What a session summary keeps of it (no explanation: that is content, and long)."""
        return [self.time_ns, self.name, self.value, self.label]

    def to_json(self, with_explanation: bool = True) -> dict[str, Any]:
        """The score as ``--json`` prints it."""
        out: dict[str, Any] = {"name": self.name, "value": self.value, "label": self.label}
        if with_explanation:
            out["explanation"] = self.explanation
        return out


def score_row_json(row: list[Any]) -> dict[str, Any]:
    """A summary's score row (see :meth:`StoredScore.to_row`) as ``--json`` prints it."""
    _, name, value, label = row
    return {"name": name, "value": value, "label": label}


def iter_scores(document: dict[str, Any]) -> Iterator[StoredScore]:
    """The scores of one stored logs document (nothing for a spans document)."""
    for record in iter_log_record_dicts(document):
        score = StoredScore.from_dict(record)
        if score is not None:
            yield score
