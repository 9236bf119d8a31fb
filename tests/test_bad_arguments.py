"""Every argument of every public call, given something it cannot use: lenient mode keeps
the session (its root span is exported) and logs exactly one ``sentrial: `` warning naming
the argument; strict mode (``fail_silently=False``) raises ``TypeError`` naming it.

"Cannot use" is an object whose ``__str__``, ``__repr__``, ``__bool__``, ``__eq__``,
``__iter__`` and numeric conversions all raise, or, for dict arguments, a dict with such a
key; that covers the wrong-type cases too (one such object is the worst a caller can pass).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry.sdk._logs import LoggerProvider

import sentrial
import sentrial_otel
from sentrial.langchain import SentrialCallbackHandler
from sentrial_otel import semconv as sc
from sentrial_otel._internal.process import exit as process_exit


class Hostile:
    """Fails every conversion a library might try."""

    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")

    def __format__(self, spec: str) -> str:
        raise RuntimeError("no format")

    def __bool__(self) -> bool:
        raise RuntimeError("no bool")

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("no eq")

    def __hash__(self) -> int:
        return 7

    def __len__(self) -> int:
        raise RuntimeError("no len")

    def __iter__(self) -> Any:
        raise RuntimeError("no iter")

    def __float__(self) -> float:
        raise RuntimeError("no float")

    def __int__(self) -> int:
        raise RuntimeError("no int")


class HostileKey:
    """A dict key that cannot be turned into text."""

    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")

    def __hash__(self) -> int:
        return 3


BAD = Hostile()
DICT_ARGUMENTS = {"metadata", "custom_metrics"}


def bad_for(argument: str) -> Any:
    return {HostileKey(): 1} if argument in DICT_ARGUMENTS else BAD


Call = Callable[[bool, Any], None]
CASES: list[tuple[str, str, Call]] = []


def case(call_name: str, argument: str) -> Callable[[Call], Call]:
    def register(call: Call) -> Call:
        CASES.append((call_name, argument, call))
        return call
    return register


# Scores are log records: a provider of the test's own, so that sending one warns of nothing.
LOGGER_PROVIDER = LoggerProvider()


def client(strict: bool) -> sentrial.SentrialClient:
    return sentrial.SentrialClient(fail_silently=not strict, logger_provider=LOGGER_PROVIDER)


# --- SentrialClient ------------------------------------------------------------------------
def _client_call(method: str, argument: str, required: dict[str, Any]) -> None:
    def call(strict: bool, bad: Any) -> None:
        c = client(strict)
        sid = c.create_session(name="n", agent_name="a", user_id="u")
        kwargs = {**required, argument: bad}
        if method not in ("create_session", "begin", "update_state", "flush"):
            kwargs.setdefault("session_id", sid)
        if method in ("complete_session", "close_session") and argument == "failure_reason":
            kwargs["success"] = False  # a reason is read only for a failed session
        getattr(c, method)(**kwargs)
    CASES.append((f"SentrialClient.{method}", argument, call))


CLIENT_CALLS = {
    "create_session": ({"name": "n", "agent_name": "a", "user_id": "u"},
                       ["name", "agent_name", "user_id", "parent_session_id", "convo_id", "metadata"]),
    "begin": ({"user_id": "u", "event": "e"},
              ["user_id", "event", "input", "event_id", "convo_id", "metadata"]),
    "complete_session": ({}, ["session_id", "success", "failure_reason", "estimated_cost",
                              "custom_metrics", "duration_ms", "prompt_tokens", "completion_tokens",
                              "total_tokens", "user_input", "assistant_output"]),
    "close_session": ({}, ["session_id", "duration_ms", "success", "failure_reason"]),
    "track_tool_call": ({"tool_name": "t"},
                        ["session_id", "tool_name", "tool_input", "tool_output", "reasoning",
                         "estimated_cost", "tool_error", "token_count", "trace_id", "span_id",
                         "metadata", "tool_call_id", "description"]),
    "track_decision": ({"reasoning": "r"},
                       ["session_id", "reasoning", "alternatives", "confidence", "estimated_cost",
                        "token_count", "trace_id", "span_id", "metadata", "chosen"]),
    "track_error": ({"error_message": "m"},
                    ["session_id", "error_message", "error_type", "tool_name", "stack_trace",
                     "trace_id", "span_id", "metadata"]),
    "track_llm_call": ({"model": "m"},
                       ["session_id", "provider", "model", "input", "output", "prompt_tokens",
                        "completion_tokens", "estimated_cost", "finish_reason", "stream",
                        "operation", "response_model", "system_instructions", "cache_read_tokens",
                        "reasoning_tokens", "time_to_first_chunk", "duration_ms", "params",
                        "trace_id", "span_id", "metadata"]),
    "score": ({"name": "helpful", "value": 1.0},
              ["session_id", "name", "value", "label", "explanation"]),
    "update_state": ({"key": "k", "value": 1}, ["key", "value"]),
    "flush": ({}, ["timeout"]),
}
for _method, (_required, _arguments) in CLIENT_CALLS.items():
    for _argument in _arguments:
        _client_call(_method, _argument, _required)

for _argument in ("api_url", "api_key", "batching", "tracer_provider", "logger_provider",
                  "capture_content", "protocol", "shutdown_timeout", "handle_sigterm",
                  "instrument_executors", "pii"):
    def _constructor(strict: bool, bad: Any, argument: str = _argument) -> None:
        c = sentrial.SentrialClient(fail_silently=not strict, **{argument: bad})
        c.create_session(name="n", agent_name="a", user_id="u")
    CASES.append(("SentrialClient()", _argument, _constructor))


# --- Interaction and the module-level API ---------------------------------------------------
INTERACTION_CALLS = {
    "finish": ({}, ["output", "success", "failure_reason", "estimated_cost", "custom_metrics",
                    "duration_ms", "prompt_tokens", "completion_tokens", "total_tokens"]),
    "track_tool_call": ({"tool_name": "t"}, ["tool_name", "tool_input", "tool_output", "reasoning",
                                             "estimated_cost", "tool_error", "token_count", "metadata"]),
    "track_decision": ({"reasoning": "r"}, ["reasoning", "alternatives", "confidence",
                                            "estimated_cost", "token_count", "metadata"]),
    "track_error": ({"error_message": "m"}, ["error_message", "error_type", "tool_name",
                                             "stack_trace", "metadata"]),
    "track_llm_call": ({"model": "m"}, ["provider", "model", "input", "output", "prompt_tokens",
                                        "finish_reason", "metadata"]),
    "score": ({"name": "helpful", "value": 1.0}, ["name", "value", "label", "explanation"]),
}
for _method, (_required, _arguments) in INTERACTION_CALLS.items():
    for _argument in _arguments:
        def _interaction(strict: bool, bad: Any, method: str = _method, argument: str = _argument,
                         required: dict[str, Any] = _required) -> None:
            interaction = client(strict).begin(user_id="u", event="e")
            kwargs = {**required, argument: bad}
            if argument == "failure_reason":
                kwargs["success"] = False
            getattr(interaction, method)(**kwargs)
        CASES.append((f"Interaction.{_method}", _argument, _interaction))


@case("Interaction.set_output", "assistant_output")
def _set_output(strict: bool, bad: Any) -> None:
    interaction = client(strict).begin(user_id="u", event="e")
    interaction.set_output(bad)
    interaction.__exit__(None, None, None)


for _argument in ("user_id", "event", "input", "event_id", "convo_id", "metadata"):
    def _module_begin(strict: bool, bad: Any, argument: str = _argument) -> None:
        sentrial.configure(fail_silently=not strict)
        sentrial.begin(**{"user_id": "u", "event": "e", argument: bad})
    CASES.append(("sentrial.begin", _argument, _module_begin))

for _argument in ("session_id", "name", "value", "label", "explanation"):
    def _module_score(strict: bool, bad: Any, argument: str = _argument) -> None:
        sentrial.configure(fail_silently=not strict, logger_provider=LOGGER_PROVIDER)
        interaction = sentrial.begin(user_id="u", event="e")
        sentrial.score(**{"session_id": interaction.session_id, "name": "helpful", "value": 1.0,
                          argument: bad})
    CASES.append(("sentrial.score", _argument, _module_score))

for _argument in ("tracer_provider", "meter_provider", "logger_provider"):
    def _configure(strict: bool, bad: Any, argument: str = _argument) -> None:
        engine = sentrial_otel.configure(fail_silently=not strict, **{argument: bad})
        engine.start_session("a")
    CASES.append(("sentrial_otel.configure", _argument, _configure))

for _argument, _position in (("user_id", 0), ("event", 1), ("input", 2)):
    def _session_context(strict: bool, bad: Any, position: int = _position) -> None:
        arguments: list[Any] = ["u", "agent", "hi"]
        arguments[position] = bad
        with sentrial.SessionContext(*arguments, client=client(strict)):
            pass
    CASES.append(("SessionContext", _argument, _session_context))


@case("@sentrial.tool", "name")
def _tool_decorator(strict: bool, bad: Any) -> None:
    interaction = client(strict).begin(user_id="u", event="e")

    @sentrial.tool(name=bad)
    def lookup(query: str) -> str:
        return query

    with interaction:
        lookup("q")


@case("@sentrial.tool", "tool_input")
def _tool_arguments(strict: bool, bad: Any) -> None:
    interaction = client(strict).begin(user_id="u", event="e")

    @sentrial.tool
    def lookup(query: Any) -> str:
        return "found"

    with interaction:
        lookup(bad)


@case("@sentrial.session", "event")
def _session_decorator(strict: bool, bad: Any) -> None:
    sentrial.configure(fail_silently=not strict)

    @sentrial.session(agent_name=bad)
    def agent(user_id: str, message: str) -> str:
        return "answer"

    agent("u", "hi")


# --- the native API ---------------------------------------------------------------------------
def telemetry(strict: bool) -> sentrial_otel.Telemetry:
    return sentrial_otel.Telemetry(sentrial_otel.resolve_settings(fail_silently=not strict))


for _argument in ("agent_name", "name", "user_id", "session_id", "convo_id", "parent_session_id",
                  "metadata", "input"):
    def _start(strict: bool, bad: Any, argument: str = _argument) -> None:
        telemetry(strict).start_session(**{"agent_name": "a", argument: bad})
    CASES.append(("Telemetry.start_session", _argument, _start))

for _argument in ("name", "input", "tool_call_id", "description", "metadata"):
    def _tool(strict: bool, bad: Any, argument: str = _argument) -> None:
        session = telemetry(strict).start_session("a")
        with session.tool(**{"name": "t", argument: bad}) as call:
            call.result = "r"
    CASES.append(("Session.tool", _argument, _tool))

for _argument in ("result", "error", "cost", "token_count"):
    def _tool_stop(strict: bool, bad: Any, argument: str = _argument) -> None:
        session = telemetry(strict).start_session("a")
        session.tool("t").start().stop(**{argument: bad})
    CASES.append(("ToolCall.stop", _argument, _tool_stop))


@case("ToolCall.result", "tool_output")
def _tool_result(strict: bool, bad: Any) -> None:
    session = telemetry(strict).start_session("a")
    with session.tool("t") as call:
        call.result = bad


for _argument in ("model", "provider", "operation", "stream", "params", "input"):
    def _llm(strict: bool, bad: Any, argument: str = _argument) -> None:
        session = telemetry(strict).start_session("a")
        with session.llm(**{"model": "m", argument: bad}) as call:
            call.finish("ok")
    CASES.append(("Session.llm", _argument, _llm))

for _argument in ("output", "input_messages", "prompt_tokens", "completion_tokens",
                  "estimated_cost", "finish_reason", "response_model", "system_instructions",
                  "cache_read_tokens", "reasoning_tokens", "time_to_first_chunk", "metadata"):
    def _llm_finish(strict: bool, bad: Any, argument: str = _argument) -> None:
        session = telemetry(strict).start_session("a")
        with session.llm("m") as call:
            call.finish(**{argument: bad})
    CASES.append(("LlmCall.finish", _argument, _llm_finish))

for _argument in ("success", "failure_reason", "estimated_cost", "custom_metrics", "duration_ms",
                  "prompt_tokens", "completion_tokens", "total_tokens", "user_input",
                  "assistant_output"):
    def _finish(strict: bool, bad: Any, argument: str = _argument) -> None:
        session = telemetry(strict).start_session("a")
        extra = {"success": False} if argument == "failure_reason" else {}
        session.finish(**{argument: bad}, **extra)
    CASES.append(("Session.finish", _argument, _finish))


@case("Telemetry.get_session", "session_id")
def _get_session(strict: bool, bad: Any) -> None:
    engine = telemetry(strict)
    engine.start_session("a")
    engine.get_session(bad).track_tool_call("t")


@case("Telemetry.update_state", "key")
def _state_key(strict: bool, bad: Any) -> None:
    engine = telemetry(strict)
    engine.start_session("a")
    engine.update_state(bad, 1)


@case("Telemetry.update_state", "value")
def _state_value(strict: bool, bad: Any) -> None:
    engine = telemetry(strict)
    engine.start_session("a")
    engine.update_state("k", bad)


# --- the LangChain handler -------------------------------------------------------------------
for _argument in ("session_id", "track_llm_calls", "verbose"):
    def _handler(strict: bool, bad: Any, argument: str = _argument) -> None:
        c = client(strict)
        sid = c.create_session(name="n", agent_name="a", user_id="u")
        SentrialCallbackHandler(c, **{"session_id": sid, argument: bad})
    CASES.append(("SentrialCallbackHandler", _argument, _handler))

for _argument in ("success", "failure_reason", "custom_metrics"):
    def _handler_finish(strict: bool, bad: Any, argument: str = _argument) -> None:
        c = client(strict)
        handler = SentrialCallbackHandler(c, c.create_session(name="n", agent_name="a", user_id="u"))
        extra = {"success": False} if argument == "failure_reason" else {}
        handler.finish(**{argument: bad}, **extra)
    CASES.append(("SentrialCallbackHandler.finish", _argument, _handler_finish))


@case("SentrialCallbackHandler.set_input", "user_input")
def _handler_input(strict: bool, bad: Any) -> None:
    c = client(strict)
    handler = SentrialCallbackHandler(c, c.create_session(name="n", agent_name="a", user_id="u"))
    handler.set_input(bad)
    handler.finish()


IDS = [f"{name}({argument})" for name, argument, _ in CASES]
# The native step objects' own names for what the messages call by the facade's names.
NAMED_AS = {"result": "tool_output", "error": "tool_error", "cost": "estimated_cost",
            "input_messages": "input"}


def _end_everything() -> None:
    """End the sessions a case left open (as an application would), so their roots export."""
    for engine in process_exit.engines():
        for session in engine.open_sessions():
            session.finish()


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage() for r in caplog.records
        if r.name.startswith("sentrial") and r.levelno >= logging.WARNING
    ]


@pytest.mark.parametrize(("call_name", "argument", "call"), CASES, ids=IDS)
def test_lenient_mode_keeps_the_session_and_warns_once(spans, caplog, call_name, argument, call):
    call(False, bad_for(argument))
    _end_everything()

    warnings = _warnings(caplog)
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith("sentrial: ")
    assert NAMED_AS.get(argument, argument) in warnings[0]
    roots = spans.roots()
    assert roots, "the session's root span was not exported"
    for root in roots:
        assert root.attributes[sc.GEN_AI_OPERATION_NAME] == sc.OP_INVOKE_AGENT
        assert root.attributes[sc.SENTRIAL_SESSION_ID]


@pytest.mark.parametrize(("call_name", "argument", "call"), CASES, ids=IDS)
def test_strict_mode_raises_a_type_error_naming_the_argument(spans, call_name, argument, call):
    try:
        with pytest.raises(TypeError, match=NAMED_AS.get(argument, argument)) as raised:
            call(True, bad_for(argument))
    finally:
        _end_everything()
    assert "internal error" not in str(raised.value)
