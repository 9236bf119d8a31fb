"""Quickstart: one agent session with ``sentrial.begin`` ... ``interaction.finish``.

Run it with no configuration at all:

    python examples/quickstart.py
    sentrial-otel sessions list
    sentrial-otel sessions show <session id printed below>

With no collector configured the spans go to the local store, ``./.sentrial`` (or
``$SENTRIAL_HOME``). Set ``SENTRIAL_API_URL`` or ``OTEL_EXPORTER_OTLP_ENDPOINT`` and the same
code sends them to an OpenTelemetry Collector instead: nothing in the code changes.
"""

import sentrial

# Optional: with no arguments the settings come from the environment. The Sentrial SDK's
# arguments (api_key=, api_url=, pii=, batching=, fail_silently=) are all accepted.
sentrial.configure()


def answer(question: str) -> str:
    # `begin` opens a session: the root span `invoke_agent support-bot` of a new trace.
    # `event` is the agent's name; `convo_id` groups the sessions of one conversation.
    interaction = sentrial.begin(
        user_id="user_123",
        event="support-bot",
        input=question,
        convo_id="conv_456",
        metadata={"channel": "web"},
    )

    # Each tracked event becomes a child span of the session's root span.
    interaction.track_tool_call(
        tool_name="search_kb",
        tool_input={"query": "password reset"},
        tool_output={"results": ["KB-001", "KB-002"]},
        reasoning="The user asks how to reset a password",
    )
    interaction.track_decision(
        reasoning="KB-001 answers the question; no need to escalate",
        alternatives=["escalate_to_human", "ask_clarifying_question"],
        confidence=0.92,
    )
    # An LLM call (an addition to the Sentrial SDK). The cost is looked up in the
    # price table from the model and token counts when you do not give one.
    reply = "Open Settings > Security and choose 'Reset password'."
    interaction.track_llm_call(
        provider="openai",
        model="gpt-4o-mini",
        input=question,
        output=reply,
        prompt_tokens=812,
        completion_tokens=96,
    )

    # `finish` ends the root span with the outcome. Cost and token totals that are not
    # given are summed from the events above.
    result = interaction.finish(output=reply, success=True)
    print(f"session {interaction.session_id}: cost ${result['estimated_cost']:.6f}, "
          f"{result['total_tokens']} tokens")
    return reply


if __name__ == "__main__":
    answer("How do I reset my password?")
    # No flush is needed: spans still queued are delivered when the interpreter exits.
