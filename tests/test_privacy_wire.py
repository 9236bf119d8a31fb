"""Privacy on the wire: what actually leaves the process (raw OTLP bytes at a real receiver,
local store files, log lines), for agents run as subprocesses configured by environment."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.support.otlp_receiver import OtlpReceiver

SRC = str(Path(__file__).resolve().parents[1] / "src")
pytestmark = pytest.mark.slow

# Every content-carrying argument gets its own marker, so a leak names its source.
CONTENT_AGENT = """
    import sentrial
    sentrial.configure(pii=PII)  # for begin(), which uses the default client
    client = sentrial.SentrialClient(pii=PII)
    sid = client.create_session(name="n", agent_name="agent", user_id="u")
    client.track_tool_call(sid, "search", {"q": "MARK-TOOL-IN " + TEXT, "deep": [{"x": TEXT}]},
                           {"r": "MARK-TOOL-OUT " + TEXT}, reasoning="MARK-TOOL-WHY " + TEXT)
    client.track_tool_call(sid, "broken", {"q": 1}, tool_error={"message": "MARK-TOOL-ERR " + TEXT})
    client.track_decision(sid, "MARK-DECIDE-WHY " + TEXT, alternatives=["MARK-ALT " + TEXT],
                          chosen="MARK-CHOSEN " + TEXT, confidence=0.5)
    client.track_llm_call(sid, provider="openai", model="gpt-4o",
                          input=[{"role": "user", "content": "MARK-LLM-IN " + TEXT}],
                          output="MARK-LLM-OUT " + TEXT, system_instructions="MARK-SYS " + TEXT,
                          prompt_tokens=3, completion_tokens=4)
    client.complete_session(sid, user_input="MARK-SESSION-IN " + TEXT,
                            assistant_output="MARK-SESSION-OUT " + TEXT)
    interaction = sentrial.begin(user_id="u", event="agent", input="MARK-BEGIN-IN " + TEXT)
    interaction.finish(output="MARK-FINISH-OUT " + TEXT)
"""
PII_TEXT = ("mail jane.doe@example.com, call +1 (415) 555-0132, ssn 123-45-6789, "
            "card 4111 1111 1111 1111, ip 192.168.10.20, order ORD-12345")
PII_VALUES = ["jane.doe@example.com", "555-0132", "123-45-6789", "4111 1111 1111 1111",
              "192.168.10.20", "ORD-12345"]


def run(code: str, env: dict[str, str], *, prefix: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SENTRIAL_"))}
    full.update(PYTHONPATH=SRC, **env)
    result = subprocess.run(
        [*prefix, sys.executable, "-c", textwrap.dedent(code)], env=full, capture_output=True,
        text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    return result


def without_permission_override() -> list[str]:
    """A command prefix under which file permissions hold, even for root (CI runs as root).

    Root keeps its uid, so the interpreter under /root stays runnable (another user such as
    nobody cannot reach it), but loses the capabilities that skip permission checks."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    assert setpriv, "setpriv (util-linux) is needed to run without root's permission override"
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner", "--"]


def agent_code(text: str = "plain text", pii: str = "None") -> str:
    return f"import sentrial\nTEXT = {text!r}\nPII = {pii}\n" + textwrap.dedent(CONTENT_AGENT)


def store_bytes(home: Path) -> bytes:
    return b"".join(p.read_bytes() for p in home.rglob("*") if p.is_file())


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_no_content_leaves_with_capture_off(tmp_path, protocol):
    with OtlpReceiver(protocol) as rx:
        run(agent_code(), {
            "OTEL_EXPORTER_OTLP_ENDPOINT": rx.endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
            "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "NO_CONTENT",
            "SENTRIAL_HOME": str(tmp_path),
        })
        rx.wait_for_spans(6, timeout=10)
        wire = rx.raw_bytes()
    assert b"execute_tool search" in wire  # the spans did arrive
    assert b"MARK-" not in wire, wire[wire.find(b"MARK-") - 80: wire.find(b"MARK-") + 40]


def test_no_content_in_the_store_with_capture_off(tmp_path):
    run(agent_code(), {"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": "false",
                       "SENTRIAL_HOME": str(tmp_path)})
    stored = store_bytes(tmp_path)
    assert b"execute_tool search" in stored
    assert b"MARK-" not in stored


@pytest.mark.parametrize("mode", ["label", "hash", "remove", "mask"])
def test_pii_redacted_on_the_wire_in_every_mode(tmp_path, mode):
    pii = (f"sentrial.PiiConfig(enabled=True, mode={mode!r}, custom_patterns="
           "[sentrial.PiiCustomPattern(pattern=r'ORD-\\d{5}', label='ORDER')])")
    with OtlpReceiver() as rx:
        run(agent_code(PII_TEXT, pii), {"OTEL_EXPORTER_OTLP_ENDPOINT": rx.endpoint,
                                        "SENTRIAL_HOME": str(tmp_path)})
        rx.wait_for_spans(6, timeout=10)
        wire = rx.raw_bytes().decode("utf-8", "replace")
    # Each content field arrived (capture is on) ...
    for marker in ("MARK-TOOL-IN", "MARK-TOOL-OUT", "MARK-LLM-IN", "MARK-LLM-OUT", "MARK-SYS",
                   "MARK-ALT", "MARK-SESSION-OUT", "MARK-BEGIN-IN", "MARK-FINISH-OUT"):
        assert marker in wire, marker
    # ... and no PII value, including the ones nested inside JSON content.
    for value in PII_VALUES:
        assert value not in wire, (mode, value)
    if mode == "label":
        assert "[EMAIL]" in wire and "[ORDER]" in wire


def test_api_key_never_in_spans_logs_or_store(tmp_path):
    key = "sk-live-SECRETKEY0123456789abcdef"
    logging_on = "import logging\nlogging.basicConfig(level=logging.DEBUG)\n"
    with OtlpReceiver() as rx:
        result = run(logging_on + agent_code(), {
            "OTEL_EXPORTER_OTLP_ENDPOINT": rx.endpoint, "SENTRIAL_API_KEY": key,
            "SENTRIAL_HOME": str(tmp_path),
        })
        rx.wait_for_spans(6, timeout=10)
        wire = rx.raw_bytes()
        headers = [r.headers.get("authorization") for r in rx.requests]
    assert headers and all(h == f"Bearer {key}" for h in headers)  # sent where it belongs
    assert key.encode() not in wire
    assert "DEBUG" in result.stderr  # logging really was on
    assert key not in result.stderr and key not in result.stdout
    # With no endpoint the key is still configured, and never reaches the store.
    stored = run(logging_on + agent_code(), {"SENTRIAL_API_KEY": key, "SENTRIAL_HOME": str(tmp_path / "s")})
    assert key not in stored.stderr
    assert key.encode() not in store_bytes(tmp_path / "s")


def test_secret_shapes_in_tool_inputs_redacted_on_the_wire(tmp_path):
    code = """
        import sentrial
        client = sentrial.SentrialClient()
        sid = client.create_session(name="n", agent_name="a", user_id="u")
        client.track_tool_call(sid, "http", {
            "headers": {"Authorization": "Bearer abcdefghijklmnopqrstuv"},
            "password": "hunter2-hunter2", "api_key": "plainkeyvalue123",
            "body": "token=tok_abcdef123456&q=1", "github": "ghp_" + "a" * 36,
            "aws": "AKIA" + "B" * 16,
        }, {"ok": True})
        client.complete_session(sid)
    """
    with OtlpReceiver() as rx:
        run(code, {"OTEL_EXPORTER_OTLP_ENDPOINT": rx.endpoint, "SENTRIAL_HOME": str(tmp_path)})
        rx.wait_for_spans(2, timeout=10)
        wire = rx.raw_bytes()
    assert b"[REDACTED]" in wire
    for secret in (b"abcdefghijklmnopqrstuv", b"hunter2-hunter2", b"plainkeyvalue123",
                   b"tok_abcdef123456", b"ghp_aaaa", b"AKIABBBB"):
        assert secret not in wire, secret


def test_store_is_owner_only(tmp_path):
    home = tmp_path / "home"
    run(agent_code(), {"SENTRIAL_HOME": str(home)})
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    files = [p for p in home.rglob("*") if p.is_file()]
    assert files
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, (path, oct(path.stat().st_mode))


def test_store_dir_that_is_a_symlink_falls_back(tmp_path):
    target = tmp_path / "elsewhere"
    target.mkdir(mode=0o700)
    link = tmp_path / "home"
    link.symlink_to(target)
    result = run(agent_code(), {"SENTRIAL_HOME": str(link)})
    warnings = [line for line in result.stderr.splitlines() if "sentrial:" in line]
    assert warnings and "instead" in warnings[0], result.stderr
    assert not list(target.iterdir())  # nothing written through the link


def test_unwritable_store_dir_falls_back_without_crashing(tmp_path):
    home = tmp_path / "readonly"
    home.mkdir(mode=0o555)  # nobody may create entries in it
    spare = tmp_path / "tmp"
    spare.mkdir(mode=0o700)
    code = agent_code() + "\nprint('agent finished')\n"
    result = run(code, {"SENTRIAL_HOME": str(home / "store"), "TMPDIR": str(spare)},
                 prefix=without_permission_override())

    assert "agent finished" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if "sentrial:" in line]
    fallback = spare / f"sentrial-{os.getuid()}"
    assert len(warnings) == 1 and f"writing to {fallback} instead" in warnings[0], result.stderr
    assert not (home / "store").exists()
    assert b"execute_tool search" in store_bytes(fallback)  # the spans were kept there


# Runs the command in a private mount namespace where $0 is a read-only filesystem.
READ_ONLY_MOUNT = ["unshare", "--mount", "sh", "-c", 'mount -t tmpfs -o ro tmpfs "$0" && exec "$@"']


def _read_only_mounts_available() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    probe = subprocess.run([*READ_ONLY_MOUNT, "/mnt", "true"], capture_output=True, check=False)
    return probe.returncode == 0


@pytest.mark.skipif(not _read_only_mounts_available(), reason="needs root and unshare to mount")
def test_store_on_a_read_only_filesystem_falls_back(tmp_path):
    """A container with a read-only root filesystem (root or not, nothing can be written):
    the agent runs to the end and says where its spans went instead."""
    mount_point = tmp_path / "read-only"
    mount_point.mkdir()
    code = agent_code() + "\nprint('agent finished')\n"
    result = run(code, {"SENTRIAL_HOME": str(mount_point / "store"), "TMPDIR": "/tmp"},
                 prefix=[*READ_ONLY_MOUNT, str(mount_point)])
    assert "agent finished" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if "sentrial:" in line]
    assert warnings and "instead" in warnings[0], result.stderr
    assert "Read-only file system" in warnings[0] or "read-only" in warnings[0].lower(), warnings[0]


def test_store_path_that_cannot_be_a_directory_falls_back(tmp_path):
    """Root ignores permissions, so this is the unwritable case that runs everywhere."""
    home = tmp_path / "not-a-dir"
    home.write_text("occupied")
    result = run(agent_code() + "\nprint('agent finished')\n", {"SENTRIAL_HOME": str(home / "store")})
    assert "agent finished" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if "sentrial:" in line]
    assert warnings and "instead" in warnings[0], result.stderr
    assert home.read_text() == "occupied"
