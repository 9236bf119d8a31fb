"""Scores (SEMCONV.md "Scores and feedback"): ``gen_ai.evaluation.result`` log records on the
session's root, through the facade and the native API, checked input, content rules."""

from __future__ import annotations

import logging
import math

import pytest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor

import sentrial
import sentrial_otel
from sentrial_otel._internal.spans import ids
from sentrial_otel import semconv as sc


class Scores:
    """A real SDK logger provider writing every record to memory."""

    def __init__(self) -> None:
        self.exporter = InMemoryLogRecordExporter()
        self.provider = LoggerProvider()
        self.provider.add_log_record_processor(SimpleLogRecordProcessor(self.exporter))

    def records(self) -> list:
        return [item.log_record for item in self.exporter.get_finished_logs()]

    def one(self):
        (record,) = self.records()
        return record


@pytest.fixture
def scores() -> Scores:
    return Scores()


def test_a_session_score_is_an_evaluation_record_on_its_root(spans, scores):
    telemetry = sentrial_otel.Telemetry(logger_provider=scores.provider)
    with telemetry.session("support-agent", user_id="u1") as session:
        pass
    result = session.score("helpfulness", value=4, label="4/5", explanation="answered at once")
    root = spans.one("invoke_agent support-agent").get_span_context()

    record = scores.one()
    assert record.event_name == "gen_ai.evaluation.result"
    assert (record.trace_id, record.span_id) == (root.trace_id, root.span_id)
    assert dict(record.attributes) == {
        "gen_ai.evaluation.name": "helpfulness",
        "gen_ai.evaluation.score.value": 4.0,
        "gen_ai.evaluation.score.label": "4/5",
        "gen_ai.evaluation.explanation": "answered at once",
        "sentrial.session.id": session.session_id,
    }
    assert type(record.attributes["gen_ai.evaluation.score.value"]) is float
    assert result == {
        "session_id": session.session_id,
        "name": "helpfulness",
        "trace_id": f"{root.trace_id:032x}",
        "span_id": f"{root.span_id:016x}",
    }


def test_any_process_scores_by_id_alone_onto_the_same_root(spans, scores):
    session_id = "4b0c4e64-4f36-4c52-9d8e-5a0f0b3c9e21"
    # What another process computes from the id: no session open here, none ever was.
    telemetry = sentrial_otel.Telemetry(logger_provider=scores.provider)
    telemetry.score(session_id, "thumbs", label="up")
    expected = ids.root_span_context(session_id)
    record = scores.one()
    assert (record.trace_id, record.span_id) == (expected.trace_id, expected.span_id)
    assert record.attributes["gen_ai.evaluation.score.label"] == "up"
    assert sc.GEN_AI_EVALUATION_SCORE_VALUE not in record.attributes

    # ... and a session begun here with that id has exactly that root.
    with telemetry.session("agent", session_id=session_id):
        pass
    root = spans.one("invoke_agent agent").get_span_context()
    assert (root.trace_id, root.span_id) == (expected.trace_id, expected.span_id)


def test_the_facade_scores_by_client_interaction_and_module(spans, scores):
    client = sentrial.SentrialClient(logger_provider=scores.provider)
    interaction = client.begin(user_id="user_123", event="support", input="hi")
    interaction.finish(output="hello")
    interaction.score("resolved", value=1)
    client.score(interaction.session_id, "thumbs", value=0.0, label="down")
    sentrial.configure(logger_provider=scores.provider)
    sentrial.score(interaction.session_id, "csat", value=5)

    root = spans.one("invoke_agent support").get_span_context()
    records = scores.records()
    assert [(r.attributes[sc.GEN_AI_EVALUATION_NAME], r.attributes[sc.GEN_AI_EVALUATION_SCORE_VALUE])
            for r in records] == [("resolved", 1.0), ("thumbs", 0.0), ("csat", 5.0)]
    assert {(r.trace_id, r.span_id) for r in records} == {(root.trace_id, root.span_id)}


BAD_SCORES = [
    pytest.param(dict(session_id=42, name="x", value=1.0), TypeError, "session_id must be a str",
                 id="session id not a str"),
    pytest.param(dict(session_id="  ", name="x", value=1.0), ValueError,
                 "session_id must be a non-empty str", id="blank session id"),
    pytest.param(dict(name="", value=1.0), ValueError, "score name must be a non-empty str",
                 id="empty name"),
    pytest.param(dict(name=None, value=1.0), TypeError, "score name must be a str",
                 id="no name"),
    pytest.param(dict(name="x", value=math.nan), ValueError,
                 "score value must be a finite number, got nan", id="nan"),
    pytest.param(dict(name="x", value=-math.inf), ValueError,
                 "score value must be a finite number, got -inf", id="infinite"),
    pytest.param(dict(name="x", value=10**400), ValueError,
                 "score value must be a finite number, got 1000", id="beyond any float"),
    pytest.param(dict(name="x", value="0.9"), TypeError, "score value must be a number, not str",
                 id="value a string"),
    pytest.param(dict(name="x", value=True), TypeError, "score value must be a number, not bool",
                 id="value a bool"),
    pytest.param(dict(name="x", label=3), TypeError, "score label must be a str, not int",
                 id="label not a str"),
    pytest.param(dict(name="x"), ValueError, "score 'x' needs a value or a label",
                 id="neither value nor label"),
]


@pytest.mark.parametrize(("arguments", "error", "message"), BAD_SCORES)
def test_bad_input_warns_once_and_sends_nothing(scores, caplog, arguments, error, message):
    client = sentrial.SentrialClient(logger_provider=scores.provider)
    arguments = {"session_id": "sess-1", **arguments}
    caplog.set_level(logging.WARNING, logger="sentrial")
    assert client.score(**arguments) == {}
    assert client.score(**arguments) == {}
    assert scores.records() == []
    warnings = [r.getMessage() for r in caplog.records if r.name == "sentrial"]
    assert len(warnings) == 1 and message in warnings[0], warnings


@pytest.mark.parametrize(("arguments", "error", "message"), BAD_SCORES)
def test_bad_input_raises_in_strict_mode(scores, arguments, error, message):
    client = sentrial.SentrialClient(logger_provider=scores.provider, fail_silently=False)
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        client.score(**{"session_id": "sess-1", **arguments})
    assert scores.records() == []


def test_numbers_of_any_kind_are_sent_as_floats(scores):
    from decimal import Decimal
    from fractions import Fraction

    telemetry = sentrial_otel.Telemetry(logger_provider=scores.provider)
    for value in (3, Fraction(1, 4), Decimal("0.5"), 2.5):
        telemetry.score("sess-1", "x", value=value)
    values = [r.attributes[sc.GEN_AI_EVALUATION_SCORE_VALUE] for r in scores.records()]
    assert values == [3.0, 0.25, 0.5, 2.5]
    assert all(type(v) is float for v in values)


def test_a_degraded_interaction_scores_nothing(scores):
    client = sentrial.SentrialClient(logger_provider=scores.provider)
    interaction = sentrial.Interaction(client, None, user_id="u", event="e", event_id="1")
    assert interaction.score("x", value=1.0) == {}
    assert scores.records() == []


def test_the_explanation_is_content(scores):
    off = sentrial_otel.Telemetry(sentrial_otel.resolve_settings(capture_content=False),
                                  logger_provider=scores.provider)
    off.score("sess-1", "faithfulness", value=0.2, explanation="the answer quoted the order")
    assert sc.GEN_AI_EVALUATION_EXPLANATION not in scores.one().attributes

    scores.exporter.clear()
    on = sentrial_otel.Telemetry(sentrial_otel.resolve_settings(max_content_length=40),
                                 logger_provider=scores.provider, pii=True)
    on.score("sess-1", "faithfulness", value=0.2,
             explanation="mail jane@example.com, key api_key=sk-live-0123456789abcdefghij " * 3)
    attributes = scores.one().attributes
    explanation = attributes[sc.GEN_AI_EVALUATION_EXPLANATION]
    assert "jane@example.com" not in explanation and "sk-live" not in explanation
    assert len(explanation) < 80
    assert attributes[sc.SENTRIAL_CONTENT_TRUNCATED] is True
