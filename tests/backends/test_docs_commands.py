"""Every command that docs/collector.md, docs/jaeger-tempo.md and collector-config/README.md
show runs, as a user would paste it: each page's ``bash`` blocks, in order, in one shell.

The only change: the standard ports the pages use (4317, 16686, ...) are swapped for free
ones, so a run never meets another process on this machine. A block may be left out only
behind an explicit ``<!-- not run by the tests: why -->`` line (Docker, a long measurement).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.support import documented_ids
from tests.support.backends import ROOT, free_port

pytestmark = pytest.mark.slow

PAGES = ["docs/collector.md", "docs/jaeger-tempo.md", "collector-config/README.md"]
SKIP = re.compile(r"<!-- not run by the tests: ([^>]+?) -->\s*$")
BLOCK = re.compile(r"^( *)```bash\n(.*?)^\1```", re.S | re.M)
PORTS = (4317, 4318, 8888, 8889, 13133, 14133, 14317, 14318, 14888, 16685, 16686)


def blocks(page: str) -> list[tuple[str, str | None]]:
    """(code, reason it is not run or None) of each bash block, in order."""
    text = (ROOT / page).read_text()
    found = []
    for match in BLOCK.finditer(text):
        before = text[:match.start()].rstrip().splitlines()
        skip = SKIP.search(before[-1]) if before else None
        code = "\n".join(line[len(match.group(1)):] for line in match.group(2).splitlines())
        found.append((code, skip.group(1) if skip else None))
    return found


def with_free_ports(script: str) -> str:
    """The script with each standard port replaced by one free port (the same everywhere)."""
    ports = {port: free_port() for port in PORTS}
    return re.sub(r"(?<![\d.])(%s)(?!\d)" % "|".join(map(str, PORTS)),
                  lambda m: str(ports[int(m.group(1))]), script)


def test_only_docker_and_measurements_are_left_out() -> None:
    skipped = [(page, reason, code) for page in PAGES for code, reason in blocks(page) if reason]
    for page, reason, code in skipped:
        assert "docker" in code or "measure_restart" in code, (page, reason, code)
    assert len(skipped) == 2


@pytest.mark.parametrize("page", PAGES)
def test_every_command_on_the_page_runs(engines_built: None, page: str, tmp_path: Path) -> None:
    run = [code for code, reason in blocks(page) if reason is None]
    assert run, page
    script = with_free_ports("\n".join([
        "set -euo pipefail",
        # What the page starts in the background is stopped with the shell.
        "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT",
        *run,
    ]))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SENTRIAL_"))}
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["NO_COLOR"] = "1"
    env["SENTRIAL_HOME"] = str(tmp_path / "store")  # not the checkout's ./.sentrial
    result = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 0, f"{page}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    assert "Traceback" not in result.stderr, result.stderr
    if page == "docs/jaeger-tempo.md":
        # The demo's sessions, sent through the collector, are listed back from Jaeger.
        sent = re.findall(r"^  ([0-9a-f-]{36})$", result.stdout, re.M)
        assert len(sent) == 3, result.stdout
        for session_id in sent:
            assert result.stdout.count(session_id) >= 2, session_id
        # Jaeger's own API finds the support agent's session (the demo's first) by its tag:
        # the trace whose id the session id derives to (Jaeger drops leading zeros).
        printed = re.findall(r"^\['([0-9a-f]+)'\]$", result.stdout, re.M)
        assert [t.zfill(32) for t in printed] == [f"{documented_ids.trace_id(sent[0]):032x}"]
