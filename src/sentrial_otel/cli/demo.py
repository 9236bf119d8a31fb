"""``sentrial-otel demo``: an offline example agent recorded into the store, then shown,
or sent to a collector (``--endpoint URL``, or ``--from-env`` for the OTEL_* variables).

It is written against the Sentrial-compatible facade (``import sentrial``), as a user of
the Sentrial SDK would write it: one successful session with tool and LLM calls and a
decision, one failed session, and, when LangChain is installed, a LangChain agent traced
by ``SentrialCallbackHandler``. The facade is imported lazily so the CLI works without it.
"""

from __future__ import annotations

import os
from typing import Any

import click

from sentrial_otel import environment_variables as env
from sentrial_otel.cli.demo_langchain import langchain_available, run_langchain_agent
from sentrial_otel.cli.formatting import count_text
from sentrial_otel.cli.options import store_option, store_path
from sentrial_otel.config import EXPORTER_OTLP

ENDPOINT_VARIABLES = (
    env.SENTRIAL_API_URL,
    env.OTEL_EXPORTER_OTLP_ENDPOINT,
    env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
    env.OTEL_TRACES_EXPORTER,
)


def run_demo_agent(client: Any = None) -> list[str]:
    """Record the demo sessions through the ``sentrial`` facade; return their ids.

    ``client``: a ``sentrial.SentrialClient`` to record with (one is made when None); it is
    flushed and shut down at the end.
    """
    import sentrial  # the facade: imported here so the CLI never needs it to start

    client = client or sentrial.SentrialClient()
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


DEMO_SERVICE = "sentrial-demo"


@click.command("demo")
@store_option
@click.option("--endpoint", metavar="URL",
              help="Send the sessions to this OTLP endpoint (a collector, e.g. "
                   "http://127.0.0.1:4318) instead of the local store. The API key "
                   "(SENTRIAL_API_KEY) and the other OTEL_EXPORTER_OTLP_* variables apply.")
@click.option("--from-env", is_flag=True,
              help="Send the sessions where the OTEL_* / SENTRIAL_* variables say, as an "
                   "agent configured by them would.")
@click.pass_context
def demo_command(ctx: click.Context, endpoint: str | None, from_env: bool) -> None:
    """Run a bundled offline example agent into the store, then list and show it.

    With --endpoint or --from-env the sessions go to a collector instead (the quickest way
    to see sessions in Jaeger); the command then prints their ids.
    """
    if endpoint and from_env:
        click.echo("Error: give --endpoint or --from-env, not both.", err=True)
        ctx.exit(2)
    directory = store_path(ctx)
    if endpoint or from_env:
        _send_to_collector(ctx, endpoint)
        return
    # By default the demo records into the local store (SENTRIAL_HOME), even where a
    # collector endpoint is configured, so that it can show what it recorded.
    os.environ[env.SENTRIAL_HOME] = str(directory.absolute())
    for name in ENDPOINT_VARIABLES:
        os.environ.pop(name, None)
    session_ids = _run(ctx)
    from sentrial_otel.cli.sessions import list_command, show_command

    click.echo(click.style(f"Recorded {count_text(len(session_ids), 'session')} in {directory}.\n",
                           bold=True))
    ctx.invoke(list_command, limit=10, as_json=False)
    for session_id in session_ids:
        click.echo()
        ctx.invoke(show_command, session_id=session_id, as_json=False)


def _run(ctx: click.Context, client: Any = None) -> list[str]:
    try:
        return run_demo_agent(client)
    except ImportError as error:
        click.echo(f"Error: the demo needs the `sentrial` facade ({error}).", err=True)
        ctx.exit(1)
    raise AssertionError("unreachable")  # ctx.exit raises


def _send_to_collector(ctx: click.Context, endpoint: str | None) -> None:
    """Record the demo sessions through the engine's OTLP exporter, then say where they went."""
    if endpoint:
        for name in ENDPOINT_VARIABLES:
            os.environ.pop(name, None)
        os.environ[env.OTEL_EXPORTER_OTLP_ENDPOINT] = endpoint
    os.environ.setdefault(env.OTEL_SERVICE_NAME, DEMO_SERVICE)
    from sentrial_otel.cli.settings import read_export_settings

    settings = read_export_settings()
    if settings.exporter != EXPORTER_OTLP:
        click.echo("Error: --from-env, but no OTLP endpoint is configured "
                   "(set OTEL_EXPORTER_OTLP_ENDPOINT, or use --endpoint URL).", err=True)
        ctx.exit(2)
    try:
        import sentrial
    except ImportError as error:
        click.echo(f"Error: the demo needs the `sentrial` facade ({error}).", err=True)
        ctx.exit(1)
    client = sentrial.SentrialClient()
    session_ids = _run(ctx, client)
    delivery = client.telemetry.delivery
    if delivery is not None and delivery.stats.undelivered:
        click.echo(f"Error: {delivery.stats.undelivered} spans of the demo were not delivered "
                   f"to {settings.endpoint} ({delivery.stats.summary()}); "
                   "`sentrial-otel doctor` says why.", err=True)
        ctx.exit(1)
    click.echo(click.style(
        f"Sent {count_text(len(session_ids), 'session')} to {settings.endpoint} ({settings.protocol}) "
        f"as service {os.environ[env.OTEL_SERVICE_NAME]!r}:", bold=True))
    for session_id in session_ids:
        click.echo(f"  {session_id}")
    click.echo("Find them in Jaeger: Search, service "
               f"{os.environ[env.OTEL_SERVICE_NAME]!r}, or "
               "`sentrial-otel sessions list --source jaeger=http://HOST:16686`.")
