"""OTLP/JSON lines exactly as the OpenTelemetry Collector's ``file`` exporter writes them.

A line is one export request: of spans (``{"resourceSpans": ...}``) or, for scores, of log
records (``{"resourceLogs": ...}``), as the file exporter writes both signals to one file.

The collector's JSON (pdata's marshaler, read back by the ``otlpjsonfile`` receiver) is
protobuf's canonical JSON mapping with one difference that matters: trace and span ids are
lowercase hex strings, where protobuf-JSON would write base64. Everything else is as
``MessageToDict`` produces it: lowerCamelCase field names, enums as integers, 64-bit
integers as strings, default values omitted. So we convert with ``MessageToDict`` and fix
the ids in place, and do the reverse when reading.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Sequence
from typing import Any

from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.sdk.trace import ReadableSpan

# Fields holding ids, on spans, on span links and on log records.
_SPAN_ID_FIELDS = ("traceId", "spanId", "parentSpanId")
_LINK_ID_FIELDS = ("traceId", "spanId")
_LOG_ID_FIELDS = ("traceId", "spanId")


def iter_span_dicts(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every span dict of an OTLP/JSON ``ExportTraceServiceRequest`` document."""
    for resource_spans in document.get("resourceSpans", ()):
        for scope_spans in resource_spans.get("scopeSpans", ()):
            yield from scope_spans.get("spans", ())


def iter_log_record_dicts(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every log record dict of an OTLP/JSON ``ExportLogsServiceRequest`` document."""
    for resource_logs in document.get("resourceLogs", ()):
        for scope_logs in resource_logs.get("scopeLogs", ()):
            yield from scope_logs.get("logRecords", ())


def _convert_ids(document: dict[str, Any], convert: Any) -> None:
    for record in iter_log_record_dicts(document):
        for field in _LOG_ID_FIELDS:
            if record.get(field):
                record[field] = convert(record[field])
    for span in iter_span_dicts(document):
        for field in _SPAN_ID_FIELDS:
            if field in span:
                span[field] = convert(span[field])
        for link in span.get("links", ()):
            for field in _LINK_ID_FIELDS:
                if field in link:
                    link[field] = convert(link[field])


def _base64_to_hex(value: str) -> str:
    return base64.b64decode(value).hex()


def _hex_to_base64(value: str) -> str:
    return base64.b64encode(bytes.fromhex(value)).decode("ascii")


def request_to_document(request: Any) -> dict[str, Any]:
    """An ``ExportTraceServiceRequest`` (or ``ExportLogsServiceRequest``) as the collector's
    OTLP/JSON dict (hex ids)."""
    document = json_format.MessageToDict(
        request,
        preserving_proto_field_name=False,
        use_integers_for_enums=True,
    )
    _convert_ids(document, _base64_to_hex)
    return document


def document_to_request(document: dict[str, Any]) -> ExportTraceServiceRequest:
    """The reverse of :func:`request_to_document`. Modifies ``document`` in place."""
    _convert_ids(document, _hex_to_base64)
    request = ExportTraceServiceRequest()
    json_format.ParseDict(document, request, ignore_unknown_fields=True)
    return request


def encode_line(spans: Sequence[ReadableSpan]) -> bytes:
    """One store line (with its newline) holding ``spans`` as one export request."""
    return document_line(request_to_document(encode_spans(spans)))


def encode_logs_document(records: Sequence[Any]) -> dict[str, Any]:
    """SDK log records (what a log exporter is given) as one OTLP/JSON logs document."""
    return request_to_document(encode_logs(records))


def document_line(document: dict[str, Any]) -> bytes:
    """One store line (with its newline) holding ``document``."""
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8") + b"\n"


def decode_line(line: bytes | str) -> ExportTraceServiceRequest:
    """Parse one store line into an ``ExportTraceServiceRequest``.

    Raises ``ValueError`` when the line is not a valid OTLP/JSON request.
    """
    try:
        return document_to_request(json.loads(line))
    except (json_format.ParseError, ValueError, TypeError, AttributeError) as error:
        raise ValueError(f"not an OTLP/JSON trace request: {error}") from error
