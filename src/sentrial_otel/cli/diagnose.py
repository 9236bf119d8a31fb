"""``sentrial-otel sessions diagnose``: one session as a compact markdown brief for an LLM.

The brief says what the session was asked and answered, each step in time order with what it
received and returned, the errors, what the detectors found and the scores it got: the
content exactly as it was captured (nothing when capture was off), each field cut to a
length that keeps the brief pasteable. With ``--model PROVIDER:MODEL`` it is sent to that
chat model through LangChain's ``init_chat_model`` and the answer is printed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import click

from sentrial_otel.cli.events import (
    KIND_SESSION,
    EventView,
    event_views,
    finding_text,
    score_text,
)
from sentrial_otel.cli.formatting import (
    cost_text,
    count_text,
    duration_text,
    is_terminal,
)
from sentrial_otel.store.sessions import StoredSession

FIELD_LIMIT = 1500
"""Characters kept of one field (an input, a tool result) in the brief."""

SYSTEM_PROMPT = (
    "You are an expert at debugging AI agents. You are given the trace of one agent session "
    "as markdown: what it was asked and answered, its steps in time order with what each "
    "received and returned (as far as it was recorded), its errors, the issues that "
    "detectors found and the scores it got. Say what went wrong or could be better, the "
    "most likely cause, and what to change in the agent (prompt, tools, code), most "
    "important first. Be concise, and cite steps by their number."
)
LANGCHAIN_MISSING = "--model needs LangChain: pip install 'sentrial-otel[langchain]'"


def _cut(text: str) -> str:
    if len(text) <= FIELD_LIMIT:
        return text
    return f"{text[:FIELD_LIMIT]}… [{len(text) - FIELD_LIMIT:,} more characters]"


def _field(label: str, text: str, indent: str) -> str:
    body = _cut(text).replace("\n", "\n" + indent + "  ")
    return f"{indent}- {label}: {body}"


def diagnosis_brief(session: StoredSession) -> str:
    """The markdown brief of one session (see the module docstring)."""
    summary = session.summary
    views = event_views(session, compact=True)  # JSON on one line: fewer tokens
    root = next((view for view in views if view.kind == KIND_SESSION), None)
    steps = [view for view in views if view.kind != KIND_SESSION]
    number = {view.span.span_id: n for n, view in enumerate(steps, 1)}

    who = [f"agent `{summary.agent or '-'}`"]
    if summary.user:
        who.append(f"user `{summary.user}`")
    if summary.convo:
        who.append(f"conversation `{summary.convo}`")
    lines = [
        f"# Agent session `{summary.display_id}`",
        "",
        f"Trace `{summary.trace_id}`, {', '.join(who)}.",
        f"Outcome: **{summary.status}**. "
        f"{duration_text(summary.duration_ns)}, {count_text(summary.llm_calls, 'LLM call')}, "
        f"{count_text(summary.tool_calls, 'tool call')}, "
        f"{count_text(summary.decisions, 'decision')}, {count_text(summary.tokens, 'token')}, "
        f"{cost_text(summary.cost)}.",
    ]
    if root is not None:
        lines += [_field(label, text, "") for label, text, _ in root.details
                  if label != "issue"]
    if session.scores:
        lines += ["", "Scores:"] + [f"- {score_text(score)}" for score in session.scores]

    lines += ["", "## Steps", ""]
    if not steps:
        lines.append("(no steps recorded)")
    for n, view in enumerate(steps, 1):
        lines.append(f"{n}. {_step_title(view)}")
        lines += [_field(label, text, "   ") for label, text, _ in view.details
                  if label != "issue"]
        if view.usage:
            lines.append(f"   - usage: {view.usage}")

    errors = [view for view in views if view.error]
    if errors:
        lines += ["", "## Errors", ""]
        for view in errors:
            where = f"step {number[view.span.span_id]}" if view.kind != KIND_SESSION else \
                "the session"
            lines.append(f"- {where} ({view.title}): {_cut(_error_reason(view))}")

    findings = session.findings
    if findings:
        lines += ["", "## Detected issues", ""]
        for finding in findings:
            step = number.get(finding.span_id)
            where = f"step {step}" if step else "the session"
            lines.append(f"- {where}: {_cut(finding_text(finding))}")
    return "\n".join(lines) + "\n"


def _error_reason(view: EventView) -> str:
    """The most telling of a failed step's details: the exception, else the status."""
    details = {label: text for label, text, _ in reversed(view.details)}
    for label in ("exception", "error", "failure", "tool error"):
        if details.get(label):
            return details[label]
    return "failed"


def _step_title(view: EventView) -> str:
    marks = []
    if view.error:
        marks.append("error")
    marks += [f"issue {kind}" for kind in dict.fromkeys(view.issues)]
    suffix = f" ({', '.join(marks)})" if marks else ""
    return f"`+{view.offset_s:.3f}s` {view.title}, {view.duration}{suffix}"


# --- asking a model ---------------------------------------------------------------------
class DiagnoseError(click.ClickException):
    """One clear line (``Error: ...``) and exit 1."""


class DiagnoseUsageError(DiagnoseError):
    """The same, exit 2: the command line named something that does not exist."""

    exit_code = 2


def chat_model(spec: str) -> Any:
    """The LangChain chat model ``spec`` names (``PROVIDER:MODEL``, as ``init_chat_model``
    takes it), or a :class:`DiagnoseError` saying what is missing."""
    try:
        from langchain.chat_models import init_chat_model
    except ImportError as error:
        raise DiagnoseError(LANGCHAIN_MISSING) from error
    try:
        return init_chat_model(spec)
    except ImportError as error:  # the provider's package: langchain-openai, ...
        raise DiagnoseError(f"--model {spec}: {error}") from error
    except ValueError as error:  # an unknown provider, or none given nor inferable
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise DiagnoseUsageError(f"--model {spec}: {first_line} (give PROVIDER:MODEL, e.g. "
                                 "openai:gpt-4o or ollama:llama3.2)") from error


def answer_text(message: Any) -> str:
    """The text of a chat model's reply (content as a string, or its text parts)."""
    content = getattr(message, "content", message)
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [part if isinstance(part, str) else part.get("text", "")
                 for part in content if isinstance(part, (str, dict))]
        return "".join(parts)
    return str(content)


@contextlib.contextmanager
def _waiting(spec: str) -> Iterator[None]:
    """A spinner on stderr while the model thinks (on a terminal only)."""
    if not is_terminal(err=True):
        yield
        return
    from rich.console import Console  # rich: only for a terminal

    with Console(stderr=True).status(f"Asking {spec} to diagnose the session…"):
        yield


def ask_model(spec: str, brief: str) -> str:
    """Send the brief to the chat model ``spec`` names; its answer."""
    model = chat_model(spec)
    messages = [("system", SYSTEM_PROMPT), ("human", brief)]
    try:
        with _waiting(spec):
            reply = model.invoke(messages)
    except Exception as error:  # noqa: BLE001 - the provider's, whatever it is
        raise DiagnoseError(f"{spec} did not answer: {type(error).__name__}: {error}") from error
    return answer_text(reply)


def print_answer(answer: str) -> None:
    """The answer as markdown rendered on a terminal, as it is in a pipe."""
    if is_terminal():
        from rich.console import Console
        from rich.markdown import Markdown

        Console().print(Markdown(answer))
    else:
        click.echo(answer)
