"""SIGTERM and Ctrl-C: open sessions end as abandoned, everything is delivered, and the
process dies by the signal exactly as before (``docker stop``, Kubernetes).

Each agent is a real subprocess recording sessions in a loop (it prints each one it
completed) with one session left open, sending to a real OTLP receiver; the test signals it
mid-run. See docs/containers.md.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from tests.support.agent_process import agent_env, start_agent, write_script
from tests.support.otlp_receiver import OtlpReceiver

pytestmark = pytest.mark.slow

AGENT = """
    import signal, sys, time
    if "--own-handler" in sys.argv:
        def on_term(signum, frame):
            print("the application's handler ran", flush=True)
            sys.exit(0)
        signal.signal(signal.SIGTERM, on_term)
    import sentrial
    client = sentrial.SentrialClient()
    if "--own-handler" in sys.argv:
        assert signal.getsignal(signal.SIGTERM) is on_term  # never replaced
    long_running = client.create_session(name="long", agent_name="long-running", user_id="u")
    client.track_tool_call(long_running, "first-step", {"step": 1}, {"ok": True})
    if "--hold-lock" in sys.argv:
        # The signal lands while this frame holds the engine's session table lock.
        with client.telemetry._sessions_lock:
            print("holding", flush=True)
            time.sleep(2)
    if "--main-misses-it" in sys.argv:
        # SIGTERM reaches another thread while the main thread sleeps in a lock, so no wait
        # of the main thread's is interrupted (what glibc's lost wake-ups also cause).
        import threading
        never = threading.Lock()
        never.acquire()
        def lands_here():
            time.sleep(0.5)
            signal.pthread_kill(threading.get_ident(), signal.SIGTERM)
        threading.Thread(target=lands_here, daemon=True).start()
        print("blocked", flush=True)
        never.acquire()
    print("ready", flush=True)
    completed = 0
    while True:
        sid = client.create_session(name="loop", agent_name="loop", user_id="u")
        client.track_tool_call(sid, "tool", {"i": completed}, {"ok": True})
        client.complete_session(sid)
        completed += 1
        print("completed", completed, flush=True)
        time.sleep(0.002)
"""


class Run:
    """One agent signalled once it has completed ``sessions`` sessions."""

    def __init__(self, rx_endpoint: str, tmp_path, *args: str, **env: str) -> None:
        script = write_script(tmp_path, AGENT)
        self.process = start_agent(script, agent_env(rx_endpoint, tmp_path, **env), *args)
        self.seen: list[str] = []

    def wait_for(self, line: str) -> None:
        assert self.process.stdout is not None
        while True:
            got = self.process.stdout.readline()
            assert got, self.process.stderr.read() if self.process.stderr else "agent died"
            self.seen.append(got)
            if got.strip() == line:
                return

    def signal_after(self, completed: int, signum: int = signal.SIGTERM) -> float:
        self.wait_for(f"completed {completed}")
        return self.signal_now(signum)

    def signal_now(self, signum: int = signal.SIGTERM) -> float:
        started = time.monotonic()
        self.process.send_signal(signum)
        out, self.stderr = self.process.communicate(timeout=60)
        self.took = time.monotonic() - started
        self.stdout = "".join(self.seen) + out
        numbers = [int(n) for n in re.findall(r"^completed (\d+)$", self.stdout, re.M)]
        self.completed = max(numbers, default=0)
        return self.took


def _roots(rx: OtlpReceiver, agent: str) -> list:
    spans = rx.spans()
    assert len({s.span_id for s in spans}) == len(spans), "a span was delivered twice"
    return [s for s in spans if s.is_root and s.attributes["gen_ai.agent.name"] == agent]


def _assert_everything_delivered(rx: OtlpReceiver, run: Run) -> None:
    # Every completed session arrived (one more may have completed after the last line).
    completed = [r for r in _roots(rx, "loop") if r.attributes["sentrial.session.success"]]
    assert run.completed <= len(completed) <= run.completed + 1, (run.completed, len(completed))
    # The open one arrived too, marked abandoned, with its tool call.
    (long_root,) = _roots(rx, "long-running")
    assert long_root.attributes["sentrial.session.abandoned"] is True
    assert any(s.name == "execute_tool first-step" and s.trace_id == long_root.trace_id for s in rx.spans())


def test_sigterm_delivers_then_dies_by_the_signal(tmp_path):
    with OtlpReceiver() as rx:
        run = Run(rx.endpoint, tmp_path)
        run.signal_after(50)
        assert run.process.returncode == -signal.SIGTERM, run.stderr  # as before: 143 in a shell
        _assert_everything_delivered(rx, run)
    assert "Traceback" not in run.stderr and "not delivered" not in run.stderr, run.stderr


def test_ctrl_c_mid_session_delivers_and_ends_the_open_session(tmp_path):
    with OtlpReceiver() as rx:
        run = Run(rx.endpoint, tmp_path)
        run.signal_after(50, signal.SIGINT)
        # KeyboardInterrupt: Python prints it, runs atexit, then dies by SIGINT.
        assert run.process.returncode == -signal.SIGINT, run.stderr
        assert "KeyboardInterrupt" in run.stderr
        _assert_everything_delivered(rx, run)


def test_with_the_setting_off_sigterm_kills_at_once_as_before(tmp_path):
    with OtlpReceiver() as rx:
        run = Run(rx.endpoint, tmp_path, SENTRIAL_HANDLE_SIGTERM="false")
        run.signal_after(50)
        assert run.process.returncode == -signal.SIGTERM
        assert _roots(rx, "long-running") == []  # nothing ended it: lost, as before


def test_an_application_handler_is_left_in_place(tmp_path):
    with OtlpReceiver() as rx:
        run = Run(rx.endpoint, tmp_path, "--own-handler")
        run.signal_after(20)
        # The application's handler decided (sys.exit(0)); the normal exit then delivered.
        assert run.process.returncode == 0, run.stderr
        assert "the application's handler ran" in run.stdout
        _assert_everything_delivered(rx, run)


def test_sigterm_with_a_dead_collector_dies_within_the_budget(tmp_path):
    closed = OtlpReceiver().start()
    endpoint = closed.endpoint
    closed.stop()  # nothing listens there any more: connections are refused
    run = Run(endpoint, tmp_path, SENTRIAL_SHUTDOWN_TIMEOUT="2")
    took = run.signal_after(50)
    assert run.process.returncode == -signal.SIGTERM, run.stderr
    assert took < 2 + 3, took  # the budget, plus generous room for a loaded machine
    reported = re.search(r"(\d+) spans were not delivered", run.stderr)
    assert reported, run.stderr
    # Two spans per completed session, the open session's root and tool call, and what the
    # loop had begun when the signal came.
    assert 2 * run.completed + 2 <= int(reported.group(1)) <= 2 * run.completed + 5, run.stderr


def test_sigterm_while_our_lock_is_held_by_the_interrupted_code(tmp_path):
    """The handler must not wait forever on a lock the code it interrupted holds."""
    with OtlpReceiver() as rx:
        run = Run(rx.endpoint, tmp_path, "--hold-lock", SENTRIAL_SHUTDOWN_TIMEOUT="5")
        run.wait_for("holding")
        took = run.signal_now()
        assert run.process.returncode == -signal.SIGTERM, run.stderr
        # The handler let the interrupted code release the lock (2 s), then delivered.
        assert took < 2 + 5, took
        (long_root,) = _roots(rx, "long-running")
        assert long_root.attributes["sentrial.session.abandoned"] is True


def test_sigterm_the_main_thread_missed_still_runs_the_handler(tmp_path):
    """Else the process would sleep on, and a pool's terminate() would wait for it forever."""
    with OtlpReceiver() as rx:
        run = Run(rx.endpoint, tmp_path, "--main-misses-it")
        run.wait_for("blocked")
        _, run.stderr = run.process.communicate(timeout=60)
        assert run.process.returncode == -signal.SIGTERM, run.stderr
        (long_root,) = _roots(rx, "long-running")
    assert long_root.attributes["sentrial.session.abandoned"] is True


def _can_be_pid_1() -> bool:
    if shutil.which("unshare") is None:
        return False
    done = subprocess.run(["unshare", "-fp", "true"], capture_output=True, timeout=30, check=False)
    return done.returncode == 0


@pytest.mark.skipif(not _can_be_pid_1(), reason="needs unshare of a PID namespace (root)")
def test_sigterm_as_pid_1_of_a_container_delivers_and_exits_143(tmp_path):
    """PID 1 ignores default-action signals: a plain Python program there ignored SIGTERM."""
    script = write_script(tmp_path, AGENT)
    with OtlpReceiver() as rx:
        agent = subprocess.Popen(
            ["unshare", "-fp", "--kill-child", sys.executable, str(script)],
            env=agent_env(rx.endpoint, tmp_path), text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        assert agent.stdout is not None
        assert agent.stdout.readline().strip() == "ready"
        (pid_1,) = subprocess.check_output(["pgrep", "-P", str(agent.pid)], text=True).split()
        subprocess.run(["kill", "-TERM", pid_1], check=True)
        _, stderr = agent.communicate(timeout=60)
        assert agent.returncode == 128 + signal.SIGTERM, stderr  # what `docker ps` shows
        (long_root,) = _roots(rx, "long-running")
    assert long_root.attributes["sentrial.session.abandoned"] is True


def test_sigterm_delivers_through_a_collector_sidecar(tmp_path, otlp_receiver, rotel_collector):
    """The container setup docs/containers.md recommends: a collector close by (rotel)."""
    run = Run(rotel_collector.http_endpoint, tmp_path)
    run.signal_after(50)
    assert run.process.returncode == -signal.SIGTERM, run.stderr
    # Accepted by the sidecar before the agent died; it forwards on its own schedule.
    def arrived() -> bool:
        loops = [r for r in _roots(otlp_receiver, "loop") if r.attributes["sentrial.session.success"]]
        return len(loops) >= run.completed and bool(_roots(otlp_receiver, "long-running"))

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not arrived():
        time.sleep(0.1)
    _assert_everything_delivered(otlp_receiver, run)
