"""The OpenTelemetry-native API: sessions, tool calls and LLM calls as ``with`` blocks.

    python examples/otel_native.py
    sentrial-otel sessions list

``sentrial_otel.configure()`` builds the engine (same settings and environment variables
as ``sentrial.configure``). ``telemetry.session(...)`` opens a session and makes it current;
``session.tool(...)`` and ``session.llm(...)`` time the work inside them, so the spans
carry real durations, and any span started inside (an HTTP client, a database driver)
nests under them.
"""

import time

import sentrial_otel

telemetry = sentrial_otel.configure()


def search(query: str) -> list:
    time.sleep(0.02)  # stands in for a real search API
    return [f"{query}: result {n}" for n in range(3)]


def research(question: str) -> None:
    with telemetry.session("research-agent", user_id="user_123", input=question,
                           metadata={"team": "docs"}) as session:
        # A tool call: the input when the block opens, the result when you set it.
        with session.tool("search", {"query": question}) as call:
            call.result = search(question)
            call.cost = 0.001  # optional: sentrial.cost.usd on the tool span

        session.track_decision("Three results are enough to answer",
                               alternatives=["search again"], confidence=0.7,
                               chosen="answer")

        # An LLM call: `finish` records the response; the cost comes from the price
        # table (gpt-4o-mini here) when you do not give one.
        with session.llm("gpt-4o-mini", "openai", params={"temperature": 0.2},
                         input=f"Answer from: {call.result}") as llm:
            time.sleep(0.01)  # stands in for the model
            llm.finish("Here is a summary of three results.", prompt_tokens=420,
                       completion_tokens=55, finish_reason="stop")

        # A tool that raises: the tool span gets status ERROR and an `exception` event.
        # Caught here, so the session itself still succeeds.
        try:
            with session.tool("fetch_pdf", {"url": "https://example.invalid/a.pdf"}):
                raise TimeoutError("no answer in 10 s")
        except TimeoutError:
            pass
        print(f"session {session.session_id}")


def failing() -> None:
    # An exception that leaves the session block fails the session (status ERROR,
    # sentrial.session.success=false, a failure reason) and is re-raised.
    try:
        with telemetry.session("research-agent", user_id="user_456", input="???"):
            raise ValueError("question is empty")
    except ValueError:
        print("failed session recorded")


if __name__ == "__main__":
    research("opentelemetry genai conventions")
    failing()
    telemetry.flush()
