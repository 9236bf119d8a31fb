"""Adding sessions to an application that already has OpenTelemetry set up.

    python examples/existing_otel_app.py

The application installs its own global ``TracerProvider`` first (here with a console
exporter that prints one line per span). sentrial then *reuses* that provider: it never
replaces it, adds no exporter of its own to it, and writes nothing to the local store.
Session spans simply go wherever the application's spans go.

(An exporter is added to the application's provider only when you name an endpoint to
sentrial itself, with ``api_url=`` or ``SENTRIAL_API_URL``.)
"""

import json

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor


def one_line(span) -> str:
    """The application's choice of console format: one JSON object per span."""
    parent = span.parent.span_id if span.parent else None
    return json.dumps({
        "name": span.name,
        "trace_id": f"{span.context.trace_id:032x}",
        "span_id": f"{span.context.span_id:016x}",
        "parent_id": f"{parent:016x}" if parent else None,
        "session_id": span.attributes.get("sentrial.session.id"),
        "service": span.resource.attributes.get("service.name"),
    }) + "\n"


# --- the application's own OpenTelemetry set-up, done before sentrial is imported ---------
provider = TracerProvider(resource=Resource.create({"service.name": "shop-api"}))
provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(formatter=one_line)))
trace.set_tracer_provider(provider)
tracer = trace.get_tracer("shop-api")

# --- sentrial, added later -----------------------------------------------------------------
import sentrial  # noqa: E402

sentrial.configure()
assert trace.get_tracer_provider() is provider  # reused, not replaced


def handle_request(question: str) -> str:
    # The application's request span. A session is always a trace of its own, so the
    # session below is not a child of this span: search for it by sentrial.session.id.
    with tracer.start_as_current_span("POST /chat"):
        with sentrial.begin(user_id="user_123", event="shop-assistant",
                            input=question) as interaction:
            # While the session is open its root span is the current span: spans the
            # application (or any other instrumentation) starts now nest under it, and
            # carry the session's sentrial.session.id and user.id.
            with tracer.start_as_current_span("SELECT orders"):
                orders = ["A-1001"]
            interaction.track_tool_call("list_orders", {"user": "user_123"}, {"orders": orders})
            interaction.set_output(f"You have {len(orders)} open order.")
    return "ok"


if __name__ == "__main__":
    handle_request("What are my open orders?")
    provider.shutdown()
