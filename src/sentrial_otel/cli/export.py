"""``sentrial-otel export``: send stored sessions to an OTLP collector."""

from __future__ import annotations

import contextlib
from typing import Any

import click
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)

from sentrial_otel.cli.formatting import count_text, is_terminal
from sentrial_otel.cli.options import (
    existing_store,
    filter_options,
    session_filter,
    store_option,
)
from sentrial_otel.cli.otlp_sender import OtlpSender
from sentrial_otel.config import PROTOCOL_GRPC, PROTOCOL_HTTP, endpoint_problem
from sentrial_otel.store import list_sessions, requests_for_traces


def _parse_headers(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
                   ) -> dict[str, str]:
    headers = {}
    for value in values:
        key, sep, content = value.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{value!r} is not KEY=VALUE", ctx, param)
        headers[key.strip()] = content.strip()
    return headers


@click.command("export")
@click.option("--endpoint", required=True,
              help="Collector endpoint, e.g. http://localhost:4318 (HTTP; /v1/traces is "
                   "added when no path is given) or http://localhost:4317 (gRPC).")
@click.option("--protocol", type=click.Choice([PROTOCOL_HTTP, PROTOCOL_GRPC]),
              default=PROTOCOL_HTTP, show_default=True)
@click.option("--header", "headers", multiple=True, callback=_parse_headers,
              metavar="KEY=VALUE", help="Extra header (repeatable), e.g. an API key.")
@filter_options
@click.option("--batch-spans", type=click.IntRange(min=1), default=512, show_default=True,
              help="Spans per request.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
              help="Seconds per attempt.")
@click.option("--max-attempts", type=click.IntRange(min=1), default=5, show_default=True,
              help="Attempts per request on transient failures (503, 429, UNAVAILABLE...).")
@click.option("--initial-backoff", type=click.FloatRange(min=0), default=0.5,
              show_default=True, help="Seconds before the first retry; doubles each time.")
@store_option
@click.pass_context
def export_command(
    ctx: click.Context,
    endpoint: str,
    protocol: str,
    headers: dict[str, str],
    batch_spans: int,
    timeout: float,
    max_attempts: int,
    initial_backoff: float,
    **filters: Any,
) -> None:
    """Send the stored spans of the matching sessions to an OTLP collector.

    Exits 1 if any span could not be delivered.
    """
    problem = endpoint_problem(endpoint, protocol)
    if problem:
        example = "localhost:4317" if protocol == PROTOCOL_GRPC else "http://localhost:4318"
        raise click.BadParameter(f"{endpoint!r}: {problem} (e.g. {example})",
                                 param_hint="'--endpoint'")
    directory = existing_store(ctx)
    sessions = list_sessions(directory, session_filter(filters))
    if not sessions:
        click.echo("No stored sessions match; nothing to send.", err=True)
        return
    trace_ids = {s.trace_id for s in sessions}
    total = sum(s.span_count for s in sessions)
    sender = OtlpSender(endpoint, protocol, headers, timeout)
    sent = failed = requests = 0
    errors: list[str] = []
    if is_terminal(err=True):
        from sentrial_otel.cli.terminal import ExportProgressBar  # rich: only for a terminal

        bar: ExportProgressBar | contextlib.nullcontext[None] = ExportProgressBar(total)
    else:
        bar = contextlib.nullcontext()

    def retrying(attempt: int, wait: float, error: str) -> None:
        note = f"retrying in {wait:g}s (attempt {attempt + 1} of {max_attempts}): {error}"
        if progress is None:
            click.echo(note, err=True)  # no bar to show it in: one line per wait
        else:
            progress.retrying(note)

    def flush(batch: ExportTraceServiceRequest, count: int) -> None:
        nonlocal sent, failed, requests
        outcome = sender.send(batch, count, max_attempts=max_attempts,
                              initial_backoff=initial_backoff, on_retry=retrying)
        requests += 1
        sent += outcome.accepted
        failed += outcome.rejected
        if outcome.error and outcome.error not in errors:
            errors.append(outcome.error)
        if progress is not None:
            progress.advance(count)

    try:
        with bar as progress:
            batch, count = ExportTraceServiceRequest(), 0
            for request, kept in requests_for_traces(directory, trace_ids):
                batch.resource_spans.extend(request.resource_spans)
                count += kept
                if count >= batch_spans:
                    flush(batch, count)
                    batch, count = ExportTraceServiceRequest(), 0
            if count:
                flush(batch, count)
    finally:
        sender.close()

    summary = (f"Sent {sent:,} of {count_text(total, 'span')} from "
               f"{count_text(len(sessions), 'session')} to {endpoint} "
               f"({protocol}, {count_text(requests, 'request')})")
    if failed:
        click.echo(click.style(f"{summary}; {count_text(failed, 'span')} failed.", fg="red"))
        for error in errors:
            click.echo(f"  {error}", err=True)
        ctx.exit(1)
    click.echo(click.style(summary + ".", fg="green"))
