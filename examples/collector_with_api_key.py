"""Sending sessions to an OpenTelemetry Collector that checks an API key.

    python examples/collector_with_api_key.py http://localhost:4318
    SENTRIAL_API_URL=http://localhost:4318 SENTRIAL_API_KEY=sk_... python examples/collector_with_api_key.py
    OTEL_EXPORTER_OTLP_ENDPOINT=http://localhost:4317 OTEL_EXPORTER_OTLP_PROTOCOL=grpc \\
        SENTRIAL_API_KEY=sk_... python examples/collector_with_api_key.py

The key is sent as ``Authorization: Bearer <key>`` on every export request (the
collector's ``bearertokenauth`` extension checks it; see collector-config/) and is never
written into a span. With no endpoint given, this example starts nothing and explains.
"""

import os
import sys

import sentrial

ENDPOINT_VARIABLES = ("SENTRIAL_API_URL", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                      "OTEL_EXPORTER_OTLP_ENDPOINT")


def main() -> int:
    endpoint = sys.argv[1] if len(sys.argv) > 1 else None
    if endpoint is None and not any(os.environ.get(name) for name in ENDPOINT_VARIABLES):
        print("No collector endpoint given, so nothing was sent.\n"
              "Pass one as an argument (python examples/collector_with_api_key.py "
              "http://localhost:4318)\nor set SENTRIAL_API_URL / OTEL_EXPORTER_OTLP_ENDPOINT. "
              "`sentrial-otel doctor` shows what is in effect.")
        return 0

    # api_url given here wins over every environment variable; api_key falls back to
    # SENTRIAL_API_KEY. Both are the Sentrial SDK's own arguments.
    client = sentrial.configure(
        api_url=endpoint,
        api_key=os.environ.get("SENTRIAL_API_KEY", "sentrial_live_example_key"),
    )
    print(f"exporting to {client.api_url}")

    interaction = sentrial.begin(user_id="user_123", event="billing-agent",
                                 input="Why was I charged twice?")
    interaction.track_tool_call("list_charges", {"month": "2025-05"},
                                {"charges": [19.99, 19.99]})
    interaction.track_decision("Duplicate charge: refund one",
                               alternatives=["escalate"], confidence=0.95)
    interaction.finish(output="One charge was a duplicate; it has been refunded.")

    # Spans are exported in the background. flush() waits (bounded) for delivery; without
    # it they are still delivered at exit, within SENTRIAL_SHUTDOWN_TIMEOUT seconds.
    delivered = client.flush(timeout=10)
    print("delivered" if delivered else "not all spans delivered yet (see the exit summary)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
