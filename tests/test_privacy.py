"""Content capture switch, PII redaction in every mode, secrets that never leave."""

from __future__ import annotations

import json

import pytest

import sentrial
from sentrial_otel import semconv as sc
from sentrial_otel._internal.content.pii import PiiConfig, PiiCustomPattern, PiiRedactor
from sentrial_otel._internal.content.secrets import redact_secrets

PII_TEXT = (
    "mail jane.doe@example.com, call +1 (415) 555-0132 or 415-555-0199, ssn 123-45-6789, "
    "card 4111 1111 1111 1111, ip 192.168.10.20 and 2001:db8:85a3::8a2e:370:7334, order ORD-12345"
)


def _record_everything(client: sentrial.SentrialClient, text: str) -> str:
    session_id = client.create_session(name="n", agent_name="a", user_id="u", metadata={"note": text})
    client.track_tool_call(session_id, "t", {"q": text, "nested": [{"deep": text}]}, {"r": text}, reasoning=text)
    client.track_decision(session_id, text, alternatives=[text], chosen=text)
    client.track_tool_call(session_id, "bad", {"q": 1}, None, tool_error={"message": text})
    client.track_llm_call(session_id, provider="openai", model="gpt-4o", input=text, output=text,
                          system_instructions=text, prompt_tokens=1, completion_tokens=1)
    client.complete_session(session_id, user_input=text, assistant_output=text)
    return session_id


def _all_attribute_text(spans) -> str:
    parts = []
    for span in spans.all():
        parts.extend(str(v) for v in span.attributes.values())
        for event in span.events:
            parts.extend(str(v) for v in event.attributes.values())
    return "\n".join(parts)


def test_content_capture_off_by_argument(spans):
    client = sentrial.SentrialClient(capture_content=False)
    _record_everything(client, "SECRET-CONTENT")
    for span in spans.all():
        assert not (sc.CONTENT_KEYS & set(span.attributes)), span.name
        for key in (sc.GEN_AI_INPUT_MESSAGES, sc.GEN_AI_OUTPUT_MESSAGES):
            assert key not in span.attributes
    # Only the metadata the user attached explicitly remains; content keys are absent.
    text = _all_attribute_text(spans)
    assert text.count("SECRET-CONTENT") == 1  # sentrial.metadata.note


@pytest.mark.parametrize("value", ["NO_CONTENT", "false", "no_content"])
def test_content_capture_off_by_environment(spans, monkeypatch, value):
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", value)
    client = sentrial.SentrialClient()
    session_id = client.create_session(name="n", agent_name="a", user_id="u")
    client.track_tool_call(session_id, "t", {"q": "private"}, {"r": "private"}, reasoning="private")
    client.complete_session(session_id, assistant_output="private")
    assert "private" not in _all_attribute_text(spans)
    # Names, ids, counts and costs are never gated.
    assert spans.one("execute_tool t").attributes[sc.GEN_AI_TOOL_NAME] == "t"


@pytest.mark.parametrize("value", ["SPAN_ONLY", "SPAN_AND_EVENT", "true"])
def test_content_capture_on_values(spans, monkeypatch, value):
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", value)
    client = sentrial.SentrialClient()
    session_id = client.create_session(name="n", agent_name="a", user_id="u")
    client.track_tool_call(session_id, "t", {"q": "visible"}, None)
    assert "visible" in spans.one("execute_tool t").attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS]


@pytest.mark.parametrize(
    ("mode", "present", "absent"),
    [
        ("label", ["[EMAIL]", "[PHONE]", "[SSN]", "[CREDIT_CARD]", "[IP_ADDRESS]", "[ORDER]"], []),
        ("hash", ["[PII:"], ["[EMAIL]"]),
        ("mask", ["****"], ["[EMAIL]"]),
        ("remove", [], ["[EMAIL]", "[PII:"]),
    ],
)
def test_pii_redaction_everywhere(spans, mode, present, absent):
    config = PiiConfig(enabled=True, mode=mode,
                       custom_patterns=[PiiCustomPattern(pattern=r"ORD-\d{5}", label="ORDER")])
    client = sentrial.SentrialClient(pii=config)
    _record_everything(client, PII_TEXT)
    text = _all_attribute_text(spans)
    for leaked in ("jane.doe@example.com", "555-0132", "555-0199", "123-45-6789",
                   "4111 1111 1111 1111", "192.168.10.20", "2001:db8:85a3::8a2e:370:7334", "ORD-12345"):
        assert leaked not in text, (mode, leaked)
    for marker in present:
        assert marker in text, (mode, marker)
    for marker in absent:
        assert marker not in text, (mode, marker)
    # JSON content stays valid after redaction.
    for span in spans.all():
        for key in (sc.GEN_AI_TOOL_CALL_ARGUMENTS, sc.GEN_AI_INPUT_MESSAGES, sc.GEN_AI_OUTPUT_MESSAGES):
            if key in span.attributes:
                json.loads(span.attributes[key])


def test_pii_true_uses_defaults(spans):
    client = sentrial.SentrialClient(pii=True)
    session_id = client.create_session(name="n", agent_name="a", user_id="u")
    client.track_tool_call(session_id, "t", {"email": "a@b.co"}, None)
    assert json.loads(spans.one("execute_tool t").attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS]) == {"email": "[EMAIL]"}


def test_pii_fields_limit_what_is_scanned(spans):
    client = sentrial.SentrialClient(pii=PiiConfig(enabled=True, fields=["tool_input"]))
    session_id = client.create_session(name="n", agent_name="a", user_id="u")
    client.track_tool_call(session_id, "t", {"e": "a@b.co"}, {"e": "a@b.co"})
    tool = spans.one("execute_tool t")
    assert "[EMAIL]" in tool.attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS]
    assert "a@b.co" in tool.attributes[sc.GEN_AI_TOOL_CALL_RESULT]


def test_luhn_rejects_random_digit_runs():
    redactor = PiiRedactor(PiiConfig(enabled=True, builtin_patterns=sentrial.PiiBuiltinPatterns(phones=False)))
    assert redactor.redact("id 1234567812345678") == "id 1234567812345678"
    assert redactor.redact("card 4111111111111111") == "card [CREDIT_CARD]"


def test_secrets_are_redacted_by_default(spans):
    client = sentrial.SentrialClient()
    session_id = client.create_session(name="n", agent_name="a", user_id="u")
    client.track_tool_call(
        session_id, "http",
        {"headers": {"Authorization": "Bearer abcdefghijklmnop"}, "password": "hunter2",
         "body": "api_key=sk-live-0123456789abcdefghij&x=1", "API_KEY": "zzz"},
        {"token": "t0k3n", "text": "use Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig please"},
    )
    tool = spans.one("execute_tool http")
    arguments = json.loads(tool.attributes[sc.GEN_AI_TOOL_CALL_ARGUMENTS])
    assert arguments["headers"]["Authorization"] == "[REDACTED]"
    assert arguments["password"] == "[REDACTED]"
    assert arguments["API_KEY"] == "[REDACTED]"
    assert "sk-live" not in arguments["body"]
    result = json.loads(tool.attributes[sc.GEN_AI_TOOL_CALL_RESULT])
    assert result["token"] == "[REDACTED]"
    assert "eyJhbGci" not in result["text"]


def test_redact_secrets_leaves_ordinary_text():
    assert redact_secrets("the password policy is strict") == "the password policy is strict"
    assert redact_secrets("password: hunter2") == "password: [REDACTED]"
