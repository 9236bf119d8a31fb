"""A real Arize Phoenix for tests, on 127.0.0.1, read back through its REST and GraphQL API.

    with PhoenixServer(tmp_path) as phoenix:          # ~45 s to start on a busy 2-core box
        exporter = OTLPSpanExporter(endpoint=phoenix.traces_endpoint)
        ...
        spans = phoenix.wait_for_spans(trace_id, count=4)
        sessions = phoenix.sessions()                # GraphQL: first input, last output, ...

It runs from .venv-phoenix (scripts/venvs/phoenix.txt) through ``phoenix_launch.py``, with
only loopback listeners (its gRPC receiver off), no telemetry and no requests of its own to
the internet; its database lives in the test's directory. The same settings, for a Phoenix
of your own, are in docs/phoenix.md.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from tests.support.extra_venvs import venv_python
from tests.support.server_process import ServerProcess, free_port

LAUNCHER = Path(__file__).with_name("phoenix_launch.py")


def phoenix_environment(port: int, working_dir: Path) -> dict[str, str]:
    """The ``PHOENIX_*`` settings of a private, offline Phoenix on ``127.0.0.1:port``."""
    return {
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": str(free_port()),  # unused: the launcher disables gRPC
        "PHOENIX_WORKING_DIR": str(working_dir),
        "PHOENIX_TELEMETRY_ENABLED": "false",
        "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",
        "PHOENIX_DISABLE_AGENT_ASSISTANT": "true",
    }


class PhoenixServer(ServerProcess):
    """Phoenix serving UI, REST, GraphQL and OTLP/HTTP on one loopback port."""

    def __init__(self, workdir: Path, *, start_timeout: float = 240.0) -> None:
        port = free_port()
        super().__init__(
            [venv_python("phoenix"), str(LAUNCHER)],
            port=port,
            workdir=workdir,
            env=phoenix_environment(port, Path(workdir) / "phoenix-data"),
            ready_path="/healthz",
            start_timeout=start_timeout,
            name="phoenix",
        )

    @property
    def traces_endpoint(self) -> str:
        return f"{self.url}/v1/traces"

    # --- reading back ---------------------------------------------------------------------
    def _get(self, path: str, **query: Any) -> Any:
        url = f"{self.url}{path}"
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        with urllib.request.urlopen(url, timeout=30) as response:
            return json.load(response)

    def graphql(self, query: str) -> Any:
        request = urllib.request.Request(
            f"{self.url}/graphql",
            data=json.dumps({"query": query}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.load(response)
        assert not answer.get("errors"), answer["errors"]
        return answer["data"]

    def spans(self, project: str = "default", *, trace_id: str | None = None) -> list[dict[str, Any]]:
        """REST ``/v1/projects/{project}/spans``: each with ``name``, ``span_kind`` (the
        OpenInference kind Phoenix shows), ``attributes`` (flat dotted keys), ..."""
        return list(self._get(f"/v1/projects/{project}/spans", trace_id=trace_id, limit=1000)["data"])

    def wait_for_spans(
        self, trace_id: str, count: int, project: str = "default", timeout: float = 60.0
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                found = self.spans(project, trace_id=trace_id)
            except OSError:
                found = []  # the project appears with its first span
            if len(found) >= count or time.monotonic() > deadline:
                assert len(found) >= count, f"Phoenix has {len(found)} of {count} spans of {trace_id}"
                return found
            time.sleep(0.25)

    def sessions(self, project: str = "default") -> dict[str, dict[str, Any]]:
        """GraphQL ``ProjectSession``s by session id: ``firstInput``, ``lastOutput``,
        ``numTraces``, ``tokenUsage`` (the REST sessions have no first input or last output)."""
        data = self.graphql(
            "{ projects(first: 50) { edges { node { name sessions(first: 100) { edges { node {"
            " sessionId numTraces firstInput { value mimeType } lastOutput { value mimeType }"
            " tokenUsage { prompt completion total } } } } } } } }"
        )
        for edge in data["projects"]["edges"]:
            if edge["node"]["name"] == project:
                return {s["node"]["sessionId"]: s["node"] for s in edge["node"]["sessions"]["edges"]}
        return {}
