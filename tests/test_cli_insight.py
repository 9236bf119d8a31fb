"""The CLI on detected issues and scores: ``list --issue/--has-issues``, ``sessions issues``,
``show`` marking each finding at its step, and ``sessions diagnose`` (the brief, and asking a
chat model through LangChain's ``init_chat_model``, driven by a fake provider package)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor

import sentrial_otel
from sentrial_otel.cli import main
from sentrial_otel.store import LocalStoreExporter, LocalStoreLogExporter
from tests.session_builder import (
    BASE_NS,
    SECOND,
    SessionSpec,
    make_provider,
    record_session,
)
from tests.support.terminal import run_in_terminal

REPO = Path(__file__).resolve().parents[1]
FAKE_PROVIDERS = REPO / "tests" / "support" / "fake_providers"
HOUR = 3600 * SECOND
LOOP = "search_orders called 3 times with the same arguments"
SPECS = [
    SessionSpec("loop-0001", agent="alpha", start_ns=BASE_NS, tools=3,
                findings=(("tool_loop", 2, LOOP), ("over_budget", None, "cost $0.04 > $0.01"))),
    SessionSpec("loop-0002", agent="alpha", start_ns=BASE_NS + HOUR, tools=3,
                findings=(("tool_loop", 1, LOOP), ("tool_loop", 2, LOOP))),
    SessionSpec("calm-0003", agent="alpha", start_ns=BASE_NS + 2 * HOUR),
    SessionSpec("slow-0004", agent="beta", start_ns=BASE_NS + 3 * HOUR, outcome="failed",
                findings=(("slow_step", 3, "chat gpt-4o took 31s (limit 30s)"),)),
    SessionSpec("loop-0005", agent="beta", start_ns=BASE_NS + 4 * HOUR, tools=3,
                findings=(("tool_loop", 2, LOOP),)),
]


@pytest.fixture
def store(tmp_path: Path) -> Path:
    directory = tmp_path / "store"
    provider = make_provider(LocalStoreExporter(directory))
    for spec in SPECS:
        record_session(provider, spec)
    provider.shutdown()
    return directory


def run(store: Path, *args: str) -> object:
    result = CliRunner().invoke(main, ["--store", str(store), *args], catch_exceptions=False)
    return result


def listed(store: Path, *args: str) -> list[str]:
    result = run(store, "sessions", "list", "--json", *args)
    assert result.exit_code == 0, result.output
    return [s["session_id"] for s in json.loads(result.stdout)]


# --- list -----------------------------------------------------------------------------------
def test_list_filters_by_issue_kind_and_by_having_any(store: Path) -> None:
    assert listed(store, "--issue", "tool_loop") == ["loop-0005", "loop-0002", "loop-0001"]
    assert listed(store, "--issue", "slow_step") == ["slow-0004"]
    assert listed(store, "--issue", "no_such_kind") == []
    assert listed(store, "--has-issues") == ["loop-0005", "slow-0004", "loop-0002", "loop-0001"]
    assert listed(store, "--has-issues", "--agent", "beta", "--status", "failed") == ["slow-0004"]

    by_id = {s["session_id"]: s for s in json.loads(run(store, "sessions", "list", "--json")
                                                    .stdout)}
    assert by_id["loop-0002"]["issues"] == {"tool_loop": 2}
    assert by_id["loop-0002"]["issue_count"] == 2
    assert by_id["loop-0001"]["issues"] == {"over_budget": 1, "tool_loop": 1}
    assert by_id["calm-0003"]["issues"] == {} and by_id["calm-0003"]["issue_count"] == 0


def test_the_writers_summaries_carry_the_issue_kinds(store: Path) -> None:
    """So `--issue` is answered from the sidecar, without parsing any span."""
    rows = [row for line in (store / ".summaries" / "spans.jsonl").read_text().splitlines()
            for row in json.loads(line)[2]]
    issues = {row[1]: row[-3] for row in rows if row[-3]}
    assert issues == {"loop-0001": {"tool_loop": 1, "over_budget": 1},
                      "loop-0002": {"tool_loop": 2}, "slow-0004": {"slow_step": 1},
                      "loop-0005": {"tool_loop": 1}}
    expected = listed(store, "--issue", "tool_loop")
    for sidecar in (store / ".summaries").iterdir():
        sidecar.unlink()
    assert listed(store, "--issue", "tool_loop") == expected  # the reader's index agrees


def test_list_table_ends_with_the_number_of_issues(store: Path) -> None:
    lines = run(store, "sessions", "list").stdout.splitlines()
    assert lines[0].split()[-1] == "ISSUES"
    by_id = {line.split()[2]: line.split() for line in lines[1:]}
    assert by_id["loop-0002"][-1] == "2" and by_id["loop-0001"][-1] == "2"
    assert by_id["slow-0004"][-1] == "1" and by_id["calm-0003"][-1] == "-"


@pytest.mark.slow
def test_on_a_terminal_the_issues_column_is_there_only_when_there_are_issues(
        store: Path, tmp_path: Path) -> None:
    from rich.cells import cell_len

    calm = tmp_path / "calm"
    provider = make_provider(LocalStoreExporter(calm))
    record_session(provider, SessionSpec("calm-0001"))
    provider.shutdown()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SENTRIAL_"))
           and k not in ("NO_COLOR", "COLUMNS", "LINES")}
    env.update(PYTHONPATH=str(REPO / "src"), TERM="xterm-256color")
    for directory, expected in ((store, True), (calm, False)):
        result = run_in_terminal([sys.executable, "-m", "sentrial_otel.cli", "--store",
                                  str(directory), "sessions", "list"], env, columns=100)
        assert result.returncode == 0, result.text
        lines = result.text.splitlines()
        assert ("ISSUES" in lines[0]) is expected
        assert max(cell_len(line) for line in lines) <= 100


# --- sessions issues -------------------------------------------------------------------------
def test_issues_are_counted_by_kind_and_agent_most_frequent_first(store: Path) -> None:
    result = run(store, "sessions", "issues", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {"kind": "tool_loop", "agent": "alpha", "findings": 3, "sessions": 2,
         "examples": ["loop-0002", "loop-0001"]},
        {"kind": "over_budget", "agent": "alpha", "findings": 1, "sessions": 1,
         "examples": ["loop-0001"]},
        {"kind": "slow_step", "agent": "beta", "findings": 1, "sessions": 1,
         "examples": ["slow-0004"]},
        {"kind": "tool_loop", "agent": "beta", "findings": 1, "sessions": 1,
         "examples": ["loop-0005"]},
    ]


def test_issues_over_a_time_range_with_fewer_examples(store: Path) -> None:
    since = "2025-06-15T15:30:00Z"  # after loop-0001 (15:06:40), before loop-0002 (16:06:40)
    result = run(store, "sessions", "issues", "--since", since, "--examples", "1")
    assert result.exit_code == 0, result.output
    table = result.stdout.splitlines()
    assert table[0].split() == ["KIND", "AGENT", "FINDINGS", "SESSIONS", "EXAMPLES"]
    assert [line.split() for line in table[1:]] == [
        ["tool_loop", "alpha", "2", "1", "loop-0002"],
        ["slow_step", "beta", "1", "1", "slow-0004"],
        ["tool_loop", "beta", "1", "1", "loop-0005"],
    ]
    assert result.stderr.strip() == "4 findings in 3 of 4 matching sessions."


def test_no_issues_is_said_on_stderr_and_is_no_error(store: Path) -> None:
    result = run(store, "sessions", "issues", "--agent", "alpha", "--until", "2025-06-15T16:00Z",
                 "--issue", "slow_step")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr.startswith("No detected issues in the 0 matching sessions of the local "
                                    "store")


# --- show -----------------------------------------------------------------------------------
def test_show_marks_each_finding_at_its_step(store: Path) -> None:
    text = run(store, "sessions", "show", "loop-0001").stdout
    lines = text.splitlines()
    tools = [i for i, line in enumerate(lines) if "TOOL search_orders" in line]
    assert len(tools) == 3
    assert "⚠" not in lines[tools[0]] and "⚠" not in lines[tools[1]]
    assert lines[tools[2]].endswith("⚠ tool_loop")
    block = []
    for line in lines[tools[2] + 1:]:
        if line.startswith("+"):
            break
        block.append(line.strip())
    assert f"issue: tool_loop: {LOOP}" in block
    session_line = next(line for line in lines if "SESSION alpha" in line)
    assert session_line.endswith("⚠ over_budget")
    assert "  ⚠ 2 issues: over_budget tool_loop" in lines[:5]

    shown = json.loads(run(store, "sessions", "show", "loop-0001", "--json").stdout)
    third_tool = [e for e in shown["events"] if e["kind"] == "tool"][2]
    assert [(f["kind"], f["span_id"], f["detail"]) for f in shown["findings"]] == [
        ("tool_loop", third_tool["span_id"], LOOP), ("over_budget", None, "cost $0.04 > $0.01")]


@pytest.mark.slow
def test_show_on_a_terminal_marks_the_step_in_the_tree(store: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SENTRIAL_"))
           and k not in ("NO_COLOR", "COLUMNS", "LINES")}
    env.update(PYTHONPATH=str(REPO / "src"), TERM="xterm-256color")
    result = run_in_terminal([sys.executable, "-m", "sentrial_otel.cli", "--store", str(store),
                              "sessions", "show", "loop-0002"], env, columns=120)
    assert result.returncode == 0, result.text
    tools = [line for line in result.text.splitlines() if "TOOL search_orders" in line]
    assert [line.endswith("⚠ tool_loop") for line in tools] == [False, True, True]
    assert tools[1].lstrip().startswith(("├", "└"))  # a node of the tree


# --- diagnose: the brief --------------------------------------------------------------------
def record_real_session(directory: Path, capture_content: bool = True) -> str:
    """A session recorded by the engine itself into a store, with the findings its detectors
    put on its root (a tool loop, a low-confidence decision) and a score: what `diagnose`
    reads."""
    tracer_provider = make_provider(LocalStoreExporter(directory))
    logger_provider = LoggerProvider()
    logger_provider.add_log_record_processor(
        SimpleLogRecordProcessor(LocalStoreLogExporter(directory)))
    telemetry = sentrial_otel.Telemetry(
        sentrial_otel.resolve_settings(capture_content=capture_content),
        tracer_provider=tracer_provider, logger_provider=logger_provider)
    with telemetry.session("support-agent", user_id="u1", input="Where is order A1?") as session:
        for _ in range(3):
            session.track_tool_call("search_orders", {"order": "A1"}, {"found": 0},
                                    reasoning="look it up")
        session.track_tool_call("refund", {"order": "A1"},
                                tool_error={"type": "TimeoutError", "message": "payments down"})
        session.track_decision("nothing found: escalate", alternatives=["retry", "escalate"],
                               confidence=0.3)
    session.score("helpfulness", value=0.2, label="bad", explanation="never found the order")
    tracer_provider.shutdown()
    logger_provider.shutdown()
    return session.session_id


def test_the_brief_has_steps_errors_findings_and_scores(tmp_path: Path) -> None:
    session_id = record_real_session(tmp_path)
    result = run(tmp_path, "sessions", "diagnose", session_id[:8])
    assert result.exit_code == 0, result.output
    brief = result.stdout
    assert brief.startswith(f"# Agent session `{session_id}`\n")
    assert "agent `support-agent`, user `u1`." in brief
    assert "- input: user: Where is order A1?" in brief
    assert "- helpfulness 0.2 (bad): never found the order" in brief
    steps = brief.split("## Steps\n")[1].split("\n## ")[0]
    titles = [line for line in steps.splitlines() if line[:1].isdigit()]
    assert [t.split("` ", 1)[1].split(",")[0] for t in titles] == [
        "TOOL search_orders", "TOOL search_orders", "TOOL search_orders", "TOOL refund",
        "DECISION support-agent"]
    assert titles[2].endswith("(issue tool_loop)") and titles[3].endswith("(error)")
    assert '   - arguments: {"order": "A1"}' in steps
    assert "   - reasoning: look it up" in steps
    assert "## Errors\n\n- step 4 (TOOL refund): TimeoutError: payments down\n" in brief
    assert brief.endswith(f"## Detected issues\n\n- step 3: tool_loop: {LOOP}\n"
                          "- step 5: low_confidence: decision confidence 0.3 below 0.5\n")


def test_the_brief_holds_no_content_that_was_not_captured(tmp_path: Path) -> None:
    session_id = record_real_session(tmp_path, capture_content=False)
    brief = run(tmp_path, "sessions", "diagnose", session_id).stdout
    for content in ("Where is order A1?", '"order"', "look it up", "nothing found",
                    "payments down", "never found the order"):
        assert content not in brief
    assert "- helpfulness 0.2 (bad)\n" in brief  # the score itself is no content
    (refund,) = [line for line in brief.splitlines() if line.startswith("4. ")]
    assert "TOOL refund" in refund and refund.endswith("(error)")
    assert "- step 4 (TOOL refund): TimeoutError" in brief  # the type is no content
    assert f"step 3: tool_loop: {LOOP}" in brief


def test_long_fields_are_cut_to_keep_the_brief_pasteable(tmp_path: Path) -> None:
    from sentrial_otel.cli.diagnose import FIELD_LIMIT

    tracer_provider = make_provider(LocalStoreExporter(tmp_path))
    telemetry = sentrial_otel.Telemetry(tracer_provider=tracer_provider)
    with telemetry.session("agent") as session:
        session.track_tool_call("fetch", {"url": "x"}, {"page": "y" * 10_000})
    tracer_provider.shutdown()
    brief = run(tmp_path, "sessions", "diagnose", session.session_id).stdout
    (result,) = [line for line in brief.splitlines() if line.startswith("   - result:")]
    assert len(result) < FIELD_LIMIT + 100
    assert result.endswith("more characters]")


# --- diagnose --model ----------------------------------------------------------------------
def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SENTRIAL_"))
           and k not in ("NO_COLOR", "COLUMNS", "LINES")}
    env.update(PYTHONPATH=os.pathsep.join([str(REPO / "src"), str(FAKE_PROVIDERS)]), **extra)
    return env


@pytest.mark.slow
def test_diagnose_asks_the_model_and_prints_its_answer(tmp_path: Path) -> None:
    store = tmp_path / "store"
    session_id = record_real_session(store)
    record = tmp_path / "sent.json"
    result = subprocess.run(
        [sys.executable, "-m", "sentrial_otel.cli", "--store", str(store), "sessions",
         "diagnose", session_id, "--model", "ollama:llama3.2"],
        env=cli_env(FAKE_MODEL_RECORD=str(record)), capture_output=True, text=True,
        timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == (f"## Diagnosis by llama3.2\n\nRead `# Agent session `{session_id}``: "
                             "the agent **looped** on one tool.\n")
    assert result.stderr == ""  # no spinner when stderr is no terminal
    sent = json.loads(record.read_text())
    assert sent["model"] == "llama3.2"
    (system, instructions), (human, brief) = sent["messages"]
    assert (system, human) == ("system", "human")
    assert "debugging AI agents" in instructions
    assert brief == run(store, "sessions", "diagnose", session_id).stdout


@pytest.mark.slow
def test_diagnose_on_a_terminal_spins_while_it_waits(tmp_path: Path) -> None:
    session_id = record_real_session(tmp_path)
    result = run_in_terminal(
        [sys.executable, "-m", "sentrial_otel.cli", "--store", str(tmp_path), "sessions",
         "diagnose", session_id, "--model", "ollama:llama3.2"],
        cli_env(TERM="xterm-256color", FAKE_MODEL_SLEEP="1.5"), columns=100)
    assert result.returncode == 0, result.text
    assert "Asking ollama:llama3.2 to diagnose the session" in result.text
    assert "\x1b[?25l" in result.raw  # the spinner hid the cursor while it ran
    # The answer as rendered markdown: the heading without its '##'.
    answer = result.text.split("Diagnosis by llama3.2")
    assert len(answer) == 2 and "## Diagnosis" not in result.text


def test_a_missing_provider_package_is_one_clear_line(tmp_path: Path) -> None:
    session_id = record_real_session(tmp_path)
    result = run(tmp_path, "sessions", "diagnose", session_id, "--model",
                 "anthropic:claude-sonnet-4-5")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "Error: --model anthropic:claude-sonnet-4-5: Initializing ChatAnthropic requires the "
        "langchain-anthropic package. Please install it with `pip install langchain-anthropic`"]


def test_missing_langchain_is_one_clear_line(tmp_path: Path, monkeypatch) -> None:
    session_id = record_real_session(tmp_path)
    for name in [m for m in sys.modules if m == "langchain" or m.startswith("langchain.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "langchain", None)  # import langchain: ImportError
    result = run(tmp_path, "sessions", "diagnose", session_id, "--model", "openai:gpt-4o")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "Error: --model needs LangChain: pip install 'sentrial-otel[langchain]'"]


def test_a_model_nobody_knows_is_a_usage_error(tmp_path: Path) -> None:
    session_id = record_real_session(tmp_path)
    result = run(tmp_path, "sessions", "diagnose", session_id, "--model", "nonsense")
    assert result.exit_code == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("Error: --model nonsense: Unable to infer model provider")
    assert line.endswith("(give PROVIDER:MODEL, e.g. openai:gpt-4o or ollama:llama3.2)")
