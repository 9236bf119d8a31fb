"""``sentrial-otel doctor``: what the engine would do with spans here, and why."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import click

from sentrial_otel.cli.export_probe import probe_export
from sentrial_otel.cli.formatting import count_text, echo_json
from sentrial_otel.cli.options import store_option, store_origin, store_path
from sentrial_otel.cli.settings import read_export_settings
from sentrial_otel.config import EXPORTER_OTLP, EXPORTER_STORE, resolve_settings
from sentrial_otel.store import data_files, load_summaries
from sentrial_otel.store.layout import fallback_directory, store_problem
from sentrial_otel.store.undelivered import recent_undelivered


def collector_answers(host: str, port: int, timeout: float) -> tuple[bool, str]:
    """Whether a TCP connection to ``host:port`` opens within ``timeout`` seconds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True, f"{host}:{port} accepts connections"
    except OSError as error:
        return False, f"{host}:{port} does not answer ({error})"


def store_report(directory: Path) -> dict[str, Any]:
    """Path, existence, size on disk, file and session counts of the store; and, when the
    engine could not write there, why and where it writes instead."""
    files = data_files(directory)
    size = sum(p.stat().st_size for p in directory.rglob("*") if p.is_file()) if (
        directory.is_dir()) else 0
    problem = store_problem(directory)
    fallback = fallback_directory() if problem else None
    return {
        "path": str(directory.absolute()),
        "exists": directory.is_dir(),
        "size_bytes": size,
        "files": len(files),
        "sessions": len(load_summaries(directory)) if files else 0,
        "problem": problem,
        "fallback": str(fallback) if fallback else None,
        "fallback_problem": store_problem(fallback) if fallback else None,
    }


def store_lines(store: dict[str, Any], origin: str, in_use: bool) -> list[str]:
    """The store's part of the report (``in_use``: spans go there)."""
    lines = [f"local store:     {store['path']}"
             + ("" if store["exists"] else "  (does not exist yet)") + f"  (from {origin})"]
    if store["problem"] and in_use:
        where = (f"spans are written to {store['fallback']} instead" if not
                 store["fallback_problem"] else
                 f"nor can {store['fallback']} ({store['fallback_problem']}): spans are not stored")
        lines.append(f"                 {click.style('not usable', fg='yellow')}: "
                     f"{store['problem']}; {where}")
    lines.append(f"                 {count_text(store['size_bytes'], 'byte')} in "
                 f"{count_text(store['files'], 'file')}, {count_text(store['sessions'], 'session')}")
    return lines


def undelivered_lines(reports: list[dict[str, Any]]) -> list[str]:
    """What recent processes could not deliver (``store/undelivered.py``), newest first."""
    if not reports:
        return ["undelivered:     none recorded (processes that lose spans note it here)"]
    lines = [f"undelivered:     {click.style('recent runs lost spans', fg='yellow')} "
             "(newest first; at most 5)"]
    for report in reports:
        lines.append(
            f"                 {report.get('time', '?')}  pid {report.get('pid', '?')} "
            f"({report.get('program', '?')}): {report.get('undelivered', '?')} spans not "
            f"delivered to {report.get('destination', '?')} ({report.get('summary', '')})"
        )
    return lines


@click.command("doctor")
@click.option("--timeout", type=click.FloatRange(min=0.05), default=1.0, show_default=True,
              help="Seconds to wait for the collector to accept a connection.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@store_option
@click.pass_context
def doctor_command(ctx: click.Context, timeout: float, as_json: bool) -> None:
    """Show which exporter and endpoint are in effect and why, and check them.

    Exits 1 when the configured collector does not answer, or refuses the API key.
    """
    settings = read_export_settings()
    reachable: bool | None = None
    reach_detail = "no collector configured"
    target = settings.host_port if settings.exporter == EXPORTER_OTLP else None
    if target:
        reachable, reach_detail = collector_answers(*target, timeout=timeout)
    accepted: bool | None = None
    accept_detail = "not tried (no collector answers)"
    if reachable:
        engine = resolve_settings()
        accepted, accept_detail = probe_export(engine.endpoint or "", engine.protocol,
                                               engine.export_headers, timeout)
    store = store_report(store_path(ctx))
    undelivered = recent_undelivered(store_path(ctx))
    report = {
        "exporter": settings.exporter,
        "exporter_reason": settings.exporter_reason,
        "endpoint": settings.endpoint,
        "endpoint_reason": settings.endpoint_reason,
        "protocol": settings.protocol,
        "protocol_reason": settings.protocol_reason,
        "collector_reachable": reachable,
        "collector_detail": reach_detail,
        "export_accepted": accepted,
        "export_detail": accept_detail,
        "api_key_present": settings.api_key_present,
        "capture_content": settings.capture_content,
        "capture_content_reason": settings.capture_content_reason,
        "store": store,
        "undelivered": undelivered,
    }
    if as_json:
        echo_json(report)
    else:
        ok, bad = click.style("ok", fg="green"), click.style("FAIL", fg="red")
        lines = [
            f"exporter:        {settings.exporter}  ({settings.exporter_reason})",
            f"endpoint:        {settings.endpoint or '-'}  ({settings.endpoint_reason})",
            f"protocol:        {settings.protocol}  ({settings.protocol_reason})",
            f"collector:       {ok if reachable else bad if reachable is False else '-'}  "
            f"({reach_detail})",
            f"export:          {ok if accepted else bad if accepted is False else '-'}  "
            f"({accept_detail})",
            "api key:         " + ("SENTRIAL_API_KEY is set" if settings.api_key_present
                                   else "SENTRIAL_API_KEY is not set"),
            f"content capture: {'on' if settings.capture_content else 'off'}  "
            f"({settings.capture_content_reason})",
            *store_lines(store, store_origin(ctx), settings.exporter == EXPORTER_STORE),
            *undelivered_lines(undelivered),
        ]
        click.echo("\n".join(lines))
    if reachable is False or accepted is False:
        ctx.exit(1)
