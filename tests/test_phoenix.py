"""Sessions in a real Arize Phoenix (started by the tests from .venv-phoenix, loopback only),
sent over OTLP/HTTP by a user's script configured by environment alone, and read back the
way Phoenix's UI reads them: span kinds through REST, the session's first input and last
output through GraphQL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from sentrial_otel._internal.spans.ids import trace_id_for
from tests.support.phoenix_server import PhoenixServer
from tests.support.server_process import listening_addresses

pytestmark = pytest.mark.slow

SRC = str(Path(__file__).resolve().parents[1] / "src")

# Two turns of one conversation, each a facade session with a tool call, a decision and an
# LLM call; prints the two session ids.
CONVERSATION = """
    import json, sys
    import sentrial

    convo = sys.argv[1]
    client = sentrial.SentrialClient()
    ids = []
    for question, answer in (("How do I reset my password?", "Use the reset link."),
                             ("And if the link expired?", "Request a new one from the login page.")):
        interaction = client.begin(user_id="user_42", event="support", input=question, convo_id=convo)
        interaction.track_tool_call("kb_search", {"query": question}, {"articles": ["KB-1"]})
        interaction.track_decision("answer from the KB article", alternatives=["escalate"], confidence=0.9)
        client.track_llm_call(interaction.session_id, provider="openai", model="gpt-4o", input=question,
                              output=answer, prompt_tokens=1000, completion_tokens=100)
        interaction.finish(output=answer)
        ids.append(interaction.session_id)
    print(json.dumps(ids))
"""


@pytest.fixture(scope="module")
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PhoenixServer]:
    with PhoenixServer(tmp_path_factory.mktemp("phoenix")) as server:
        yield server


def send_conversation(phoenix: PhoenixServer, **env: str) -> tuple[str, list[str]]:
    """Run the conversation script against Phoenix; (conversation id, session ids).

    Conversation ids are unique per call: Phoenix's sessions are global across projects."""
    convo = f"conv-{uuid.uuid4()}"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SENTRIAL_"))}
    full_env.update(
        OTEL_EXPORTER_OTLP_ENDPOINT=phoenix.url,
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
        SENTRIAL_HOME=os.environ["SENTRIAL_HOME"],
        PYTHONPATH=SRC,
        **env,
    )
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CONVERSATION), convo],
        env=full_env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return convo, json.loads(done.stdout.strip().splitlines()[-1])


def test_phoenix_as_the_tests_run_it_listens_on_loopback_only(phoenix):
    assert phoenix.pid is not None
    assert listening_addresses(phoenix.pid) == {"127.0.0.1"}


def test_without_a_dialect_phoenix_shows_no_session_input_and_an_unknown_decision(phoenix):
    """The issue as a user saw it: our GenAI keys alone leave Phoenix's session list and
    span table without input or output, and the decision without a kind."""
    convo, session_ids = send_conversation(phoenix)
    spans = phoenix.wait_for_spans(f"{trace_id_for(session_ids[0]):032x}", count=4)
    kinds = {span["name"].split()[0]: span["span_kind"] for span in spans}
    assert kinds == {"invoke_agent": "AGENT", "execute_tool": "TOOL", "chat": "LLM", "decision": "UNKNOWN"}
    session = phoenix.sessions()[convo]
    assert session["numTraces"] == 2
    assert session["firstInput"] is None and session["lastOutput"] is None


def test_with_the_openinference_dialect_phoenix_shows_kinds_inputs_outputs_and_the_session(phoenix):
    convo, session_ids = send_conversation(phoenix, SENTRIAL_DIALECTS="openinference")
    questions = ("How do I reset my password?", "And if the link expired?")
    for session_id, question in zip(session_ids, questions, strict=True):
        spans = phoenix.wait_for_spans(f"{trace_id_for(session_id):032x}", count=4)
        by_kind = {span["name"].split()[0]: span for span in spans}
        assert {name: span["span_kind"] for name, span in by_kind.items()} == {
            "invoke_agent": "AGENT", "execute_tool": "TOOL", "chat": "LLM", "decision": "CHAIN",
        }
        # The span table's input and output columns.
        tool = by_kind["execute_tool"]["attributes"]
        assert json.loads(tool["input.value"]) == {"query": question}
        assert json.loads(tool["output.value"]) == {"articles": ["KB-1"]}
        assert by_kind["decision"]["attributes"]["output.value"] == "answer from the KB article"
    # The sessions list: first input, last output, and tokens counted once (2 x 1,100).
    session = phoenix.sessions()[convo]
    assert session["numTraces"] == 2
    assert session["firstInput"] == {"value": "How do I reset my password?", "mimeType": "text"}
    assert session["lastOutput"] == {"value": "Request a new one from the login page.", "mimeType": "text"}
    assert session["tokenUsage"] == {"prompt": 2000.0, "completion": 200.0, "total": 2200.0}
