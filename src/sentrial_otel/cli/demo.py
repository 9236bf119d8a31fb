"""``sentrial-otel demo``: an offline example agent recorded into the store, then shown.

It is written against the Sentrial-compatible facade (``import sentrial``), as a user of
the Sentrial SDK would write it: one successful session with tool and LLM calls and a
decision, one failed session, and, when LangChain is installed, a LangChain agent traced
by ``SentrialCallbackHandler``. The facade is imported lazily so the CLI works without it.
"""

from __future__ import annotations

import os

import click

from sentrial_otel import environment_variables as env
from sentrial_otel.cli.demo_langchain import langchain_available, run_langchain_agent
from sentrial_otel.cli.formatting import count_text
from sentrial_otel.cli.options import store_option, store_path

ENDPOINT_VARIABLES = (
    env.SENTRIAL_API_URL,
    env.OTEL_EXPORTER_OTLP_ENDPOINT,
    env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
    env.OTEL_TRACES_EXPORTER,
)


def run_demo_agent() -> list[str]:
    """Record the demo sessions through the ``sentrial`` facade; return their ids."""
    import sentrial  # the facade: imported here so the CLI never needs it to start

    client = sentrial.SentrialClient()
    recorded = []

    sid = client.create_session(
        name="Order status", agent_name="support-agent", user_id="demo-user",
        convo_id="demo-convo",
    )
    client.track_tool_call(
        session_id=sid, tool_name="search_orders",
        tool_input={"customer": "demo-user"},
        tool_output={"orders": [{"id": "A1001", "status": "shipped"}]},
        reasoning="The user asks where their order is; look it up first.",
        estimated_cost=0.0004, token_count=42,
    )
    client.track_llm_call(
        sid, provider="openai", model="gpt-4o-mini",
        input=[{"role": "system", "content": "You are a support agent."},
               {"role": "user", "content": "Where is my order?"}],
        output="Let me look up your orders.", prompt_tokens=85, completion_tokens=12,
        finish_reason="stop",
    )
    client.track_decision(
        session_id=sid, reasoning="The order has shipped; answer with the tracking link.",
        alternatives=["escalate to a human", "answer directly"], confidence=0.92,
    )
    client.track_tool_call(
        session_id=sid, tool_name="get_tracking_link", tool_input={"order_id": "A1001"},
        tool_output={"url": "https://example.com/track/A1001"}, estimated_cost=0.0002,
    )
    client.track_llm_call(
        sid, provider="openai", model="gpt-4o-mini", input="Write the answer.",
        output="Order A1001 has shipped: https://example.com/track/A1001",
        prompt_tokens=140, completion_tokens=28, finish_reason="stop",
    )
    # Cost and token totals are summed from the tracked events.
    client.complete_session(
        session_id=sid, success=True, user_input="Where is my order?",
        assistant_output="Order A1001 has shipped: https://example.com/track/A1001",
    )
    recorded.append(sid)

    failed = client.create_session(
        name="Refund", agent_name="billing-agent", user_id="demo-user",
    )
    client.track_tool_call(
        session_id=failed, tool_name="issue_refund", tool_input={"order_id": "A1001"},
        tool_output=None, tool_error={"message": "payment API timed out", "type": "Timeout"},
    )
    client.complete_session(
        session_id=failed, success=False, failure_reason="payment API timed out",
    )
    recorded.append(failed)

    if langchain_available():
        recorded.append(run_langchain_agent(client))
    client.flush()
    client.shutdown()
    return [sid for sid in recorded if sid]


@click.command("demo")
@store_option
@click.pass_context
def demo_command(ctx: click.Context) -> None:
    """Run a bundled offline example agent into the store, then list and show it."""
    directory = store_path(ctx)
    # The demo always records into the local store (SENTRIAL_HOME), even where a collector
    # endpoint is configured, so that it can show what it recorded.
    os.environ[env.SENTRIAL_HOME] = str(directory.absolute())
    for name in ENDPOINT_VARIABLES:
        os.environ.pop(name, None)
    try:
        session_ids = run_demo_agent()
    except ImportError as error:
        click.echo(f"Error: the demo needs the `sentrial` facade ({error}).", err=True)
        ctx.exit(1)
    from sentrial_otel.cli.sessions import list_command, show_command

    click.echo(click.style(f"Recorded {count_text(len(session_ids), 'session')} in {directory}.\n",
                           bold=True))
    ctx.invoke(list_command, limit=10, as_json=False)
    for session_id in session_ids:
        click.echo()
        ctx.invoke(show_command, session_id=session_id, as_json=False)
