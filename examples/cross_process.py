"""A session continued in another process: the session id travels over HTTP.

    python examples/cross_process.py
    sentrial-otel sessions show <session id printed below>

The front process opens a session and calls a worker process over HTTP. The worker has
nothing but what the request carries, and that is enough:

* the session id string: ``client.track_tool_call(session_id, ...)`` in the worker lands in
  the same trace, parented to the session's root span. The trace id and root span id are
  derived from the session id, so no lookup or shared state is needed;
* the W3C ``traceparent`` header (``interaction.traceparent``): any OpenTelemetry code in
  the worker, even code that knows nothing of sentrial, can continue the trace with the
  standard propagator.

Both processes write to the same local store (several writers are safe) or send to the
same collector: configure them alike.
"""

import json
import subprocess
import sys
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer

# --- the worker process ------------------------------------------------------------------


def run_worker() -> None:
    """Serve one request on 127.0.0.1, record work into the caller's session, then exit."""
    from opentelemetry import trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    import sentrial

    client = sentrial.SentrialClient()
    tracer = trace.get_tracer("report-worker")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            job = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            session_id = job["session_id"]

            # 1. By session id: a tool call span under the session's root span.
            client.track_tool_call(session_id, "render_report",
                                   {"pages": job["pages"]}, {"pdf_bytes": 52_113})

            # 2. By traceparent: plain OpenTelemetry continues the same trace.
            # (Header names are case-insensitive on the wire; the propagator looks up
            # "traceparent" in lower case.)
            carrier = {name.lower(): value for name, value in self.headers.items()}
            parent = TraceContextTextMapPropagator().extract(carrier)
            with tracer.start_as_current_span("compress pdf", context=parent):
                pass  # real work here; spans started inside nest under this one

            body = json.dumps({"ok": True}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:  # keep the example's output short
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)  # port 0: any free port
    print(server.server_address[1], flush=True)      # tell the parent where to call
    server.handle_request()                          # one request, then exit
    server.server_close()
    # At exit the worker's spans are flushed to the store (or the collector).


# --- the front process -------------------------------------------------------------------


def main() -> None:
    import sentrial

    worker = subprocess.Popen([sys.executable, __file__, "worker"],
                              stdout=subprocess.PIPE, text=True)
    port = int(worker.stdout.readline())

    with sentrial.begin(user_id="user_123", event="report-agent",
                        input="Quarterly report as PDF") as interaction:
        interaction.track_decision("Rendering is slow: hand it to the worker",
                                   alternatives=["render here"], confidence=0.9)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/jobs",
            data=json.dumps({"session_id": interaction.session_id, "pages": 12}).encode(),
            headers={"Content-Type": "application/json",
                     "traceparent": interaction.traceparent},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert json.load(response)["ok"]
        worker.wait(timeout=30)
        interaction.set_output("report.pdf is ready")

    print(f"session {interaction.session_id}")
    print(f"traceparent {interaction.traceparent}")


if __name__ == "__main__":
    if sys.argv[1:] == ["worker"]:
        run_worker()
    else:
        main()
