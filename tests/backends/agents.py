"""Agent programs the backend tests run as subprocesses, configured by environment only.

    python -m tests.backends.agents PROGRAM [ARGS...]

Each prints one JSON line on stdout (what it recorded) and exits; the SDK flushes at exit.
Programs:

- ``front-doors RUN``: one session through each front door: the Sentrial facade (scored
  once after it ends: ``helpfulness`` 0.9 ``good``, explained), the native API, and a
  LangChain ``create_agent`` loop traced by the instrumentor inside a native session.
  Prints ``{"facade": sid, "native": sid, "langchain": sid}``.
- ``mix COUNT RUN``: COUNT facade sessions of four kinds by ``i % 10``: 0-1 failed,
  2 abandoned (left open: ended as abandoned at exit), 3 costly (cost above the
  collector's 0.50 USD policy), 4-9 healthy. Prints ``{"sessions": [[sid, kind], ...],
  "worst_session_s": ...}`` (the slowest session's recording time).
- ``attach RUN SID...``: one tool call on each given session from this other process, by
  session id only. Prints ``{"attached": [sid, ...]}``.
- ``issues COUNT RUN``: COUNT successful, cheap facade sessions of three kinds by
  ``i % 4``: 0 calls ``search`` three times with the same arguments (the detectors find a
  ``tool_loop``), 1 takes a decision with confidence 0.2 (``low_confidence``), 2-3 are
  healthy (three different searches, confidence 0.9). Prints ``{"sessions": [[sid, kind],
  ...]}``.
- ``findings RUN``: two native sessions of ``triage-agent`` in which the detectors find
  issues (SEMCONV.md): the first calls ``search`` three times with the same arguments
  (``tool_loop``, at the third call) and takes a decision with confidence 0.2
  (``low_confidence``), the second gets an empty answer (``empty_output``). Prints
  ``{"looping": sid, "empty": sid}``.

Every session carries ``sentrial.metadata.run = RUN`` so a test finds exactly its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

FAILED, ABANDONED, COSTLY, HEALTHY = "failed", "abandoned", "costly", "healthy"
# The kinds of session of the ``issues`` program, by ``i % 4``; the rest are healthy.
LOOPING, DOUBTFUL = "looping", "doubtful"
ISSUE_KINDS = {0: LOOPING, 1: DOUBTFUL}
KINDS = {0: FAILED, 1: FAILED, 2: ABANDONED, 3: COSTLY}
COSTLY_USD = 0.75
# Spans of the three front-door sessions together (4 facade, 3 native, 5 LangChain).
FRONT_DOORS_SPANS = 12
# Spans each kind of session has in Jaeger when complete (attach adds one more).
SPANS = {FAILED: 3, ABANDONED: 3, COSTLY: 3, HEALTHY: 3}


def kind_of(index: int) -> str:
    return KINDS.get(index % 10, HEALTHY)


def front_doors(run: str) -> dict[str, str]:
    import sentrial
    import sentrial_otel
    from langchain.agents import create_agent
    from langchain_core.messages import AIMessage
    from langchain_core.tools import tool

    from sentrial_otel.instrumentation.langchain import LangChainInstrumentor
    from tests.langchain.fakes import ScriptedChatModel

    client = sentrial.SentrialClient()
    facade = client.create_session(name="Order status", agent_name="support-agent",
                                   user_id="user-facade", convo_id="convo-1",
                                   metadata={"run": run})
    client.track_tool_call(session_id=facade, tool_name="search_orders",
                           tool_input={"customer": "user-facade"},
                           tool_output={"orders": ["A1001"]}, estimated_cost=0.0004,
                           token_count=42)
    client.track_llm_call(facade, provider="openai", model="gpt-4o-mini",
                          input="Where is my order?", output="It has shipped.",
                          prompt_tokens=85, completion_tokens=12, finish_reason="stop")
    client.track_decision(session_id=facade, reasoning="Shipped: answer directly.",
                          alternatives=["escalate", "answer"], confidence=0.9)
    client.complete_session(session_id=facade, success=True, user_input="Where is my order?",
                            assistant_output="It has shipped.")
    client.score(facade, "helpfulness", 0.9, "good", explanation="Answered at once.")

    telemetry = sentrial_otel.configure()
    with telemetry.session("native-agent", user_id="user-native", input="hello",
                           metadata={"run": run}) as native:
        with native.tool("lookup", {"q": "hello"}) as call:
            call.result = {"hits": 2}
        native.track_llm_call(provider="anthropic", model="claude-sonnet-4", prompt_tokens=30,
                              completion_tokens=7, output="Hi!")
        native_id = native.session_id

    LangChainInstrumentor().instrument()

    @tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return f"Sunny in {city}"

    model = ScriptedChatModel([
        AIMessage(content="", tool_calls=[{"name": "get_weather", "args": {"city": "Paris"},
                                           "id": "call_1", "type": "tool_call"}],
                  usage_metadata={"input_tokens": 50, "output_tokens": 10, "total_tokens": 60},
                  response_metadata={"model_name": "gpt-4o-mini", "finish_reason": "tool_calls"}),
        AIMessage(content="Sunny in Paris.",
                  usage_metadata={"input_tokens": 70, "output_tokens": 5, "total_tokens": 75},
                  response_metadata={"model_name": "gpt-4o-mini", "finish_reason": "stop"}),
    ])
    agent = create_agent(model, [get_weather], name="weather_agent")
    with telemetry.session("langchain-agent", user_id="user-langchain",
                           metadata={"run": run}) as chain_session:
        agent.invoke({"messages": [{"role": "user", "content": "Weather in Paris?"}]})
        langchain_id = chain_session.session_id
    return {"facade": facade, "native": native_id, "langchain": langchain_id}


def mix(count: int, run: str) -> dict[str, Any]:
    import sentrial

    client = sentrial.SentrialClient()
    sessions = []
    worst = 0.0
    for index in range(count):
        started = time.perf_counter()
        kind = kind_of(index)
        sid = client.create_session(name=f"mix-{index}", agent_name="mix-agent",
                                    user_id=f"user-{index % 7}", metadata={"run": run})
        client.track_tool_call(session_id=sid, tool_name="search", tool_input={"i": index},
                               tool_output={"ok": True},
                               estimated_cost=COSTLY_USD if kind == COSTLY else 0.001)
        client.track_llm_call(sid, provider="openai", model="gpt-4o-mini", input="q",
                              output="a", prompt_tokens=10, completion_tokens=5,
                              estimated_cost=0.0001)
        if kind == FAILED:
            client.complete_session(session_id=sid, success=False, failure_reason="tool broke")
        elif kind != ABANDONED:
            client.complete_session(session_id=sid, success=True)
        sessions.append([sid, kind])
        worst = max(worst, time.perf_counter() - started)
    return {"sessions": sessions, "worst_session_s": worst}


def attach(run: str, session_ids: list[str]) -> dict[str, Any]:
    import sentrial

    client = sentrial.SentrialClient()
    for sid in session_ids:
        client.track_tool_call(session_id=sid, tool_name="follow_up", tool_input={"run": run},
                               tool_output={"done": True})
    return {"attached": session_ids}


def findings(run: str) -> dict[str, str]:
    import sentrial_otel

    telemetry = sentrial_otel.configure()
    with telemetry.session("triage-agent", user_id="user-triage", metadata={"run": run}) as looping:
        for _ in range(3):
            with looping.tool("search", {"q": "refund"}) as call:
                call.result = {"hits": 0}
        looping.track_decision("guess a refund policy", confidence=0.2)
    with telemetry.session("triage-agent", user_id="user-triage", metadata={"run": run}) as empty:
        empty.track_llm_call(provider="openai", model="gpt-4o-mini", prompt_tokens=12,
                             completion_tokens=0, output="")
    return {"looping": looping.session_id, "empty": empty.session_id}


def issues(count: int, run: str) -> dict[str, Any]:
    import sentrial

    client = sentrial.SentrialClient()
    sessions = []
    for index in range(count):
        kind = ISSUE_KINDS.get(index % 4, HEALTHY)
        sid = client.create_session(name=f"issues-{index}", agent_name="issues-agent",
                                    user_id=f"user-{index % 7}", metadata={"run": run})
        for call in range(3):
            query = "refund" if kind == LOOPING else f"refund {call}"
            client.track_tool_call(session_id=sid, tool_name="search", tool_input={"q": query},
                                   tool_output={"hits": call})
        client.track_decision(session_id=sid, reasoning="answer from the hits",
                              confidence=0.2 if kind == DOUBTFUL else 0.9)
        client.complete_session(session_id=sid, success=True)
        sessions.append([sid, kind])
    return {"sessions": sessions}


def agent_env(endpoint: str | None, service: str, home: Path, **more: str) -> dict[str, str]:
    """The environment of an agent process: OTEL_* variables (plus the API key in ``more``).

    With no ``endpoint`` the agent records into the local store in ``home``.
    ``OTEL_BSP_SCHEDULE_DELAY`` is short so spans leave within a tail-sampling decision
    window; ``SENTRIAL_HOME`` keeps the undelivered-spans notes out of the checkout.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SENTRIAL_"))}
    if endpoint:
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint
    env.update(
        PYTHONPATH=os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        OTEL_SERVICE_NAME=service,
        OTEL_BSP_SCHEDULE_DELAY="200",
        SENTRIAL_HOME=str(home),
        **more,
    )
    return env


def run_program(env: Mapping[str, str], *argv: str, timeout: float = 120) -> tuple[dict[str, Any], str]:
    """Run one program here in a fresh interpreter; (its JSON result, its stderr)."""
    result = subprocess.run([sys.executable, "-m", "tests.backends.agents", *argv], env=dict(env),
                            cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                            check=False)
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


def main(argv: list[str]) -> None:
    program, *args = argv
    if program == "front-doors":
        result: dict[str, Any] = front_doors(args[0])
    elif program == "mix":
        result = mix(int(args[0]), args[1])
    elif program == "attach":
        result = attach(args[0], args[1:])
    elif program == "issues":
        result = issues(int(args[0]), args[1])
    elif program == "findings":
        result = findings(args[0])
    else:
        raise SystemExit(f"unknown program {program!r}")
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
