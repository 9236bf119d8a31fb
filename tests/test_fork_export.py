"""What a multiprocessing child inherits from its parent's export pipeline, and what it must not.

A parent exports (spans, scores, metrics) before it starts two children, so each exporter
holds a keep-alive connection to the collector; then parent and children export at the
same time. Each process is told apart on the wire by its resource's ``service.instance.id``
(per process: the SDK's), each connection by the receiver's peer address. Checked under
fork, forkserver and spawn (the control: nothing is inherited), over OTLP/HTTP and gRPC.
See docs/reliability.md, "Processes".
"""

from __future__ import annotations

import collections
import json
import logging
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from sentrial_otel._internal.export.http_session import ForkSafeSession, session_for
from sentrial_otel._internal.export.metric_fork import forget_inherited_counts
from tests.support.agent_process import agent_env, start_agent, write_script
from tests.support.otlp_receiver import (
    OtlpReceiver,
    ReceivedRequest,
    attributes_to_dict,
    flatten_spans,
)

pytestmark = pytest.mark.slow

ROUNDS = 8  # sessions each process records while the others export, one export per session
BEFORE = 3  # sessions the parent records and exports before its children start
AGENT = """
    import multiprocessing, sys
    import sentrial
    from opentelemetry import metrics

    CLIENT = sentrial.SentrialClient()  # built at import: spawn children build their own

    def record(agent, sessions):
        for _ in range(sessions):
            sid = CLIENT.create_session(name="s", agent_name=agent, user_id="u")
            CLIENT.track_tool_call(sid, "look_up", {"q": 1}, {"found": True})
            CLIENT.score(sid, "quality", value=1.0)
            CLIENT.complete_session(sid)
            CLIENT.flush(10)  # spans and scores leave now, on the exporters' connections
            metrics.get_meter_provider().force_flush(10_000)

    if __name__ == "__main__":
        record("parent-before", BEFORE)  # every exporter now holds a pooled connection
        context = multiprocessing.get_context(sys.argv[1])
        children = [context.Process(target=record, args=(f"child-{i}", ROUNDS)) for i in range(2)]
        for child in children:
            child.start()
        record("parent", ROUNDS)  # while the children export too
        for child in children:
            child.join()
        assert [c.exitcode for c in children] == [0, 0], [c.exitcode for c in children]
        print("done", flush=True)
""".replace("BEFORE", str(BEFORE)).replace("ROUNDS", str(ROUNDS))

_RESOURCES = {"traces": "resource_spans", "metrics": "resource_metrics", "logs": "resource_logs"}
AGENTS = ("parent-before", "parent", "child-0", "child-1")


def _instance(request: ReceivedRequest) -> str:
    """The one process (its ``service.instance.id``) whose data this request carried."""
    ids = {
        attributes_to_dict(resource.resource.attributes)["service.instance.id"]
        for resource in getattr(request.message, _RESOURCES[request.signal])
    }
    assert len(ids) == 1, ids
    return ids.pop()


@dataclass
class Run:
    requests: list[ReceivedRequest]
    outcomes: collections.Counter[str]
    sessions: dict[str, int]  # root spans received per agent name
    scores: int
    stderr: str

    def processes_by_connection(self) -> dict[str, set[str]]:
        carried: dict[str, set[str]] = collections.defaultdict(set)
        for request in self.requests:
            carried[request.peer].add(_instance(request))
        return carried

    def span_connections_of(self, agent: str) -> set[str]:
        return {
            r.peer for r in self.requests if r.signal == "traces"
            and agent in {s.attributes.get("gen_ai.agent.name") for s in _roots(r)}
        }

    def sessions_counted(self) -> dict[str, dict[str, tuple[int, int]]]:
        """The last ``sentrial.sessions`` sum each process exported, per agent name:
        (value, start time)."""
        last: dict[str, dict[str, tuple[int, int]]] = collections.defaultdict(dict)
        for request in (r for r in self.requests if r.signal == "metrics"):
            for metric in _metrics(request, "sentrial.sessions"):
                for point in metric.sum.data_points:
                    agent = attributes_to_dict(point.attributes)["gen_ai.agent.name"]
                    last[_instance(request)][agent] = (point.as_int, point.start_time_unix_nano)
        return dict(last)


def _roots(request: ReceivedRequest) -> list[Any]:
    return [span for span in flatten_spans(request.message) if span.is_root]


def _metrics(request: ReceivedRequest, name: str) -> list[Any]:
    return [
        metric for rm in request.message.resource_metrics for sm in rm.scope_metrics
        for metric in sm.metrics if metric.name == name
    ]


_RUNS: dict[tuple[str, str], Run] = {}


def _run(tmp_path_factory: pytest.TempPathFactory, method: str, protocol: str) -> Run:
    """One agent run per start method and protocol, shared by the tests below."""
    if (method, protocol) not in _RUNS:
        home = tmp_path_factory.mktemp(f"{method}-{protocol.replace('/', '-')}")
        script = write_script(home, AGENT)
        with OtlpReceiver(protocol=protocol) as rx:  # type: ignore[arg-type]
            env = agent_env(
                rx.endpoint, home, OTEL_EXPORTER_OTLP_PROTOCOL=protocol,
                OTEL_METRIC_EXPORT_INTERVAL="60000",  # metrics leave when the agent says
            )
            agent = start_agent(script, env, method)
            out, err = agent.communicate(timeout=180)
            assert agent.returncode == 0 and "done" in out, err
            spans = rx.spans()
            assert len({s.span_id for s in spans}) == len(spans), "a span was delivered twice"
            roots = collections.Counter(s.attributes["gen_ai.agent.name"] for s in spans if s.is_root)
            _RUNS[method, protocol] = Run(
                rx.requests, collections.Counter(a.outcome for a in rx.attempts),
                dict(roots), len(rx.log_records()), err,
            )
    return _RUNS[method, protocol]


CASES = [
    ("fork", "http/protobuf"), ("forkserver", "http/protobuf"), ("spawn", "http/protobuf"),
    ("fork", "grpc"),
]


@pytest.mark.parametrize(("method", "protocol"), CASES)
def test_every_child_exports_on_connections_of_its_own(tmp_path_factory, method, protocol):
    run = _run(tmp_path_factory, method, protocol)
    # Nothing garbled, refused or lost: each request was answered 200 and counted once.
    assert set(run.outcomes) == {"accepted"}, run.outcomes
    assert run.sessions == {"parent-before": BEFORE, "parent": ROUNDS, "child-0": ROUNDS,
                            "child-1": ROUNDS}
    assert run.scores == BEFORE + 3 * ROUNDS
    assert "not delivered" not in run.stderr and "could not" not in run.stderr, run.stderr
    carried = run.processes_by_connection()
    assert len(set().union(*carried.values())) == 3  # three processes, three instance ids
    assert [peer for peer, processes in carried.items() if len(processes) > 1] == []


def test_the_parent_keeps_its_connection_when_fork_children_let_go_of_theirs(tmp_path_factory):
    # The children close their copies of the parent's sockets: no FIN reaches the collector
    # (the parent still holds the connection), so the parent goes on using the one it had.
    run = _run(tmp_path_factory, "fork", "http/protobuf")
    before = run.span_connections_of("parent-before")
    assert len(before) == 1
    assert run.span_connections_of("parent") == before


@pytest.mark.parametrize(("method", "protocol"), CASES)
def test_a_child_counts_only_its_own_sessions(tmp_path_factory, method, protocol):
    counted = _run(tmp_path_factory, method, protocol).sessions_counted()
    assert len(counted) == 3, counted
    by_agents = {tuple(sorted(agents)): agents for agents in counted.values()}
    parent = by_agents[("parent", "parent-before")]
    assert {agent: value for agent, (value, _) in parent.items()} == {
        "parent-before": BEFORE, "parent": ROUNDS,
    }
    parent_started = parent["parent-before"][1]
    for child in ("child-0", "child-1"):
        # The parent's sessions before the fork are not exported again as the child's, and
        # the child's series starts when the child counted its first session.
        value, started = by_agents[(child,)][child]
        assert value == ROUNDS
        assert started > parent_started


APPLICATION_METERS = """
    import json, os
    from opentelemetry import metrics
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))  # the application's
    import sentrial

    def sessions_counted():
        found = {}
        for rm in reader.get_metrics_data().resource_metrics:
            for sm in rm.scope_metrics:
                for metric in (m for m in sm.metrics if m.name == "sentrial.sessions"):
                    for point in metric.data.data_points:
                        found[point.attributes["gen_ai.agent.name"]] = point.value
        return found

    client = sentrial.SentrialClient()
    client.complete_session(client.create_session(name="s", agent_name="parent", user_id="u"))
    pid = os.fork()
    if pid == 0:
        client.complete_session(client.create_session(name="s", agent_name="child", user_id="u"))
        print(json.dumps(sessions_counted()), flush=True)
        os._exit(0)
    os.waitpid(pid, 0)
"""


def test_an_applications_meter_provider_is_left_as_it_is_in_a_fork_child(tmp_path):
    # Its fork children keep what the SDK gives them (the inherited counts): only providers
    # we build are emptied.
    script = write_script(tmp_path, APPLICATION_METERS)
    with OtlpReceiver() as rx:  # our traces (and scores) go there; metrics are the app's
        agent = start_agent(script, agent_env(rx.endpoint, tmp_path))
        out, err = agent.communicate(timeout=60)
    assert agent.returncode == 0, err
    assert json.loads(out) == {"parent": 1, "child": 1}  # the parent's session, inherited


def test_forgetting_inherited_counts_empties_the_providers_readers():
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    counter = provider.get_meter("test").create_counter("sessions")
    counter.add(3, {"agent": "a"})
    assert forget_inherited_counts(provider) is True
    counter.add(1, {"agent": "a"})
    counter.add(2, {"agent": "b"})
    points = {
        point.attributes["agent"]: point.value
        for rm in reader.get_metrics_data().resource_metrics for sm in rm.scope_metrics
        for metric in sm.metrics for point in metric.data.data_points
    }
    assert points == {"a": 1, "b": 2}
    provider.shutdown()


def test_without_the_sdk_internals_a_child_keeps_its_counts_and_says_so(caplog):
    with caplog.at_level(logging.INFO, logger="sentrial"):
        assert forget_inherited_counts(object()) is False
    assert "include its parent's" in caplog.text


def test_a_credential_providers_session_is_the_applications(monkeypatch):
    monkeypatch.delenv("OTEL_PYTHON_EXPORTER_OTLP_HTTP_CREDENTIAL_PROVIDER", raising=False)
    monkeypatch.delenv("OTEL_PYTHON_EXPORTER_OTLP_HTTP_LOGS_CREDENTIAL_PROVIDER", raising=False)
    assert isinstance(session_for("LOGS"), ForkSafeSession)
    monkeypatch.setenv("OTEL_PYTHON_EXPORTER_OTLP_HTTP_LOGS_CREDENTIAL_PROVIDER", "vault")
    assert session_for("LOGS") is None  # the SDK loads the application's session
    assert isinstance(session_for("TRACES"), ForkSafeSession)


GRPC_FORK = """
    import os
    import sentrial

    client = sentrial.SentrialClient()
    client.complete_session(client.create_session(name="s", agent_name="parent", user_id="u"))
    pid = os.fork()
    if pid == 0:
        os._exit(0)  # exports nothing: with fork support off it would hang
    os.waitpid(pid, 0)
    print("done", flush=True)
"""


@pytest.mark.parametrize("fork_support", ["0", None])
def test_a_fork_child_says_why_grpc_will_hang_without_grpcs_fork_support(tmp_path, fork_support):
    script = write_script(tmp_path, GRPC_FORK)
    with OtlpReceiver(protocol="grpc") as rx:
        env = agent_env(rx.endpoint, tmp_path, OTEL_EXPORTER_OTLP_PROTOCOL="grpc")
        env.pop("GRPC_ENABLE_FORK_SUPPORT", None)
        if fork_support is not None:
            env["GRPC_ENABLE_FORK_SUPPORT"] = fork_support
        agent = start_agent(script, env)
        out, err = agent.communicate(timeout=60)
        assert agent.returncode == 0 and "done" in out, err
        assert rx.wait_for_spans(1)  # the parent's session: the parent is not affected
    warned = "GRPC_ENABLE_FORK_SUPPORT=0: gRPC exports from this forked process hang"
    assert (warned in err) == (fork_support == "0"), err
