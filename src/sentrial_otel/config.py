"""Settings, resolved once at construction: argument, then environment, then default."""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit, urlunsplit

from sentrial_otel import environment_variables as env
from sentrial_otel.semconv import SEMCONV_OPT_IN_GENAI_LATEST
from sentrial_otel._internal.logs import logger

PROTOCOL_HTTP = "http/protobuf"
PROTOCOL_GRPC = "grpc"
EXPORTER_OTLP = "otlp"
EXPORTER_CONSOLE = "console"
EXPORTER_NONE = "none"
EXPORTER_STORE = "store"
DEFAULT_HOME = ".sentrial"
DEFAULT_SHUTDOWN_TIMEOUT = 5.0
DEFAULT_EXPORT_TIMEOUT = 10.0
OTLP_HTTP_PORT = 4318
OTLP_GRPC_PORT = 4317
_TRACES_PATH = "/v1/traces"
_LOGS_PATH = "/v1/logs"
_METRICS_PATH = "/v1/metrics"
DEFAULT_MAX_CONTENT_LENGTH = 16 * 1024
"""Longest string kept inside a content attribute, in characters."""

COMPRESSIONS = ("gzip", "deflate", "none")
_FALSE = {"false", "0", "no", "off", "no_content"}
_TRUE = {"true", "1", "yes", "on", "span_only", "span_and_event", "event_only"}


@dataclass(frozen=True)
class BatchSettings:
    """The batch span processor's schedule: delay, batch size and queue size."""

    schedule_delay_s: float = 5.0
    max_export_batch_size: int = 512
    max_queue_size: int = 2048


DEFAULT_TOOL_LOOP_REPEATS = 3
DEFAULT_TOOL_ERROR_STREAK = 2
DEFAULT_LOW_CONFIDENCE = 0.5


@dataclass(frozen=True)
class IssueSettings:
    """What the detectors judge a session by when it ends (docs/issues.md)."""

    enabled: bool = True
    tool_loop_repeats: int = DEFAULT_TOOL_LOOP_REPEATS
    """``tool_loop``: calls of one tool with the same arguments in a session."""
    tool_error_streak: int = DEFAULT_TOOL_ERROR_STREAK
    """``tool_error_streak``: failed tool calls in a row."""
    low_confidence: float = DEFAULT_LOW_CONFIDENCE
    """``low_confidence``: a decision whose confidence is below this."""
    budget_usd: float | None = None
    """``over_budget``: a session costing more than this (None: not judged)."""
    slow_step_s: float | None = None
    """``slow_step``: a step lasting longer than this, in seconds (None: not judged)."""
    detectors: tuple[Callable[..., Any], ...] = ()
    """The application's own detectors, run after the built-in ones."""


@dataclass(frozen=True)
class Settings:
    """Everything that decides where spans go and what they contain."""

    exporter: str = EXPORTER_STORE
    exporter_fallback: str | None = None  # why not the exporter asked for, when it is not
    endpoint: str | None = None
    endpoint_source: str = "default"
    protocol: str = PROTOCOL_HTTP
    headers: Mapping[str, str] = field(default_factory=dict)
    api_key: str | None = field(default=None, repr=False)
    capture_content: bool = True
    max_content_length: int = DEFAULT_MAX_CONTENT_LENGTH
    fail_silently: bool = True
    home: Path = Path(DEFAULT_HOME)
    shutdown_timeout_s: float = DEFAULT_SHUTDOWN_TIMEOUT
    export_timeout_s: float = DEFAULT_EXPORT_TIMEOUT
    batch: BatchSettings = field(default_factory=BatchSettings)
    # Process lifecycle: our SIGTERM handler (sigterm.py), context into executor pools
    # (executors.py).
    handle_sigterm: bool = True
    instrument_executors: bool = True
    defer_root_span: bool = True
    """Hold a session's root span back until the session ends (``spans/deferral.py``)."""
    dialects: frozenset[str] = frozenset()
    """Extra attribute dialects (``_internal/spans/dialects.py``): ``{"openinference"}``."""
    issues: IssueSettings = field(default_factory=IssueSettings)

    @property
    def export_headers(self) -> dict[str, str]:
        """Headers for every export request, the API key's bearer header included."""
        headers = dict(self.headers)
        if self.api_key:
            headers["authorization"] = f"Bearer {self.api_key}"
        return headers

    def export_key(self) -> tuple[Any, ...]:
        """What makes two settings send to the same place (for reusing a pipeline)."""
        return (
            self.exporter,
            self.endpoint,
            self.protocol,
            tuple(sorted(self.export_headers.items())),
            str(self.home),
        )


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def parse_bool(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    logger.warning("sentrial: unrecognised boolean %r, using %s", value, default)
    return default


def parse_headers(text: str | None) -> dict[str, str]:
    """``k1=v1,k2=v2`` as the OTLP exporter spec says (values URL-decoded)."""
    headers: dict[str, str] = {}
    if not text:
        return headers
    for item in text.split(","):
        if "=" not in item:
            if item.strip():
                logger.warning("sentrial: ignoring malformed OTLP header %r", item.strip())
            continue
        key, value = item.split("=", 1)
        key = unquote(key).strip().lower()
        if key:
            headers[key] = unquote(value).strip()
    return headers


def _float(name: str, default: float) -> float:
    raw = _env(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        logger.warning("sentrial: %s=%r is not a number, using %s", name, raw, default)
        return default
    return value if value >= 0 else default


def _int(name: str, default: int) -> int:
    raw = _env(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        logger.warning("sentrial: %s=%r is not an integer, using %s", name, raw, default)
        return default
    return value if value > 0 else default


def traces_url(base: str, protocol: str) -> str:
    """The URL the exporter posts to: ``/v1/traces`` added to a base URL for HTTP."""
    if protocol == PROTOCOL_GRPC:
        return base
    trimmed = base.rstrip("/")
    if trimmed.endswith(_TRACES_PATH):
        return trimmed
    return trimmed + _TRACES_PATH


def metrics_url(traces: str) -> str:
    """The OTLP/HTTP metrics URL beside a traces URL (its ``/v1/traces`` becomes
    ``/v1/metrics``; a traces URL with a path of its own is used as it is)."""
    return traces[: -len(_TRACES_PATH)] + _METRICS_PATH if traces.endswith(_TRACES_PATH) else traces


def logs_url(traces: str) -> str:
    """The OTLP/HTTP logs URL beside a traces URL: its ``/v1/traces`` becomes ``/v1/logs``;
    beside a traces URL with a path of its own, ``/v1/logs`` at the same host."""
    if traces.endswith(_TRACES_PATH):
        return traces[: -len(_TRACES_PATH)] + _LOGS_PATH
    parts = urlsplit(traces)
    return urlunsplit((parts.scheme, parts.netloc, _LOGS_PATH, "", ""))


def http_url_for(endpoint: str) -> str:
    """A user-given OTLP/HTTP endpoint: ``/v1/traces`` added when it names no path."""
    return traces_url(endpoint, PROTOCOL_HTTP) if urlsplit(endpoint).path in ("", "/") else endpoint


def default_otlp_port(protocol: str) -> int:
    """The port an OTLP collector listens on by default (the OTLP exporter specification)."""
    return OTLP_GRPC_PORT if protocol == PROTOCOL_GRPC else OTLP_HTTP_PORT


def default_otlp_endpoint(protocol: str) -> str:
    """Where the OTLP exporters send when no endpoint is configured."""
    return f"http://localhost:{default_otlp_port(protocol)}"


def endpoint_problem(endpoint: str, protocol: str) -> str | None:
    """Why ``endpoint`` cannot be a collector's OTLP address, or None when it can be.

    ``http/protobuf`` needs an ``http://`` or ``https://`` URL naming a host; gRPC also
    takes a bare ``host:port``.
    """
    text = endpoint.strip()
    if protocol == PROTOCOL_GRPC and "//" not in text:
        text = "//" + text
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as error:
        return str(error)
    if parts.scheme not in ("http", "https") and not (protocol == PROTOCOL_GRPC and not parts.scheme):
        return "not an http:// or https:// URL"
    if not parts.hostname:
        return "no host in it"
    return None


def _resolve_protocol(protocol: str | None) -> str:
    raw = protocol or _env(env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL) or _env(
        env.OTEL_EXPORTER_OTLP_PROTOCOL
    )
    if raw is None:
        return PROTOCOL_HTTP
    lowered = raw.lower()
    if lowered in (PROTOCOL_GRPC, PROTOCOL_HTTP):
        return lowered
    if lowered == "http/json":
        logger.warning("sentrial: OTLP http/json is not supported, using http/protobuf")
        return PROTOCOL_HTTP
    logger.warning("sentrial: unknown OTLP protocol %r, using http/protobuf", raw)
    return PROTOCOL_HTTP


def _resolve_endpoint(api_url: str | None, protocol: str) -> tuple[str | None, str]:
    candidates = (
        ("api_url argument", api_url or None, True),
        (env.SENTRIAL_API_URL, _env(env.SENTRIAL_API_URL), True),
        (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, _env(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), False),
        (env.OTEL_EXPORTER_OTLP_ENDPOINT, _env(env.OTEL_EXPORTER_OTLP_ENDPOINT), True),
    )
    for source, value, is_base in candidates:
        if value is None:
            continue
        problem = endpoint_problem(value, protocol)
        if problem:
            # Every export to it would fail: better the next source, or the local store.
            logger.warning("sentrial: %s=%r is not a collector URL (%s); ignoring it",
                           source, value, problem)
            continue
        return (traces_url(value, protocol) if is_base else value), source
    return None, "default"


def _resolve_exporter(endpoint: str | None) -> str:
    raw = _env(env.OTEL_TRACES_EXPORTER)
    if raw is None:
        return EXPORTER_OTLP if endpoint else EXPORTER_STORE
    # The variable may list several; we honour the first one we know.
    for name in (part.strip().lower() for part in raw.split(",")):
        if name in (EXPORTER_OTLP, EXPORTER_CONSOLE, EXPORTER_NONE, EXPORTER_STORE):
            return name
    default = EXPORTER_OTLP if endpoint else EXPORTER_STORE
    logger.warning("sentrial: OTEL_TRACES_EXPORTER=%r names no supported exporter, using %s",
                   raw, default)
    return default


def unsupported_compression() -> str | None:
    """``NAME='value'`` of the OTLP compression variable in effect, when the exporters do not
    support it (they would log it and send uncompressed, unlike what was asked)."""
    for name in (env.OTEL_EXPORTER_OTLP_TRACES_COMPRESSION, env.OTEL_EXPORTER_OTLP_COMPRESSION):
        value = _env(name)
        if value is not None:
            return None if value.lower() in COMPRESSIONS else f"{name}={value!r}"
    return None


DIALECT_OPENINFERENCE = "openinference"
"""The keys Arize Phoenix and Langfuse read (``_internal/spans/dialects.py``)."""
KNOWN_DIALECTS = (DIALECT_OPENINFERENCE,)


def resolve_dialects(dialects: str | Collection[str] | None = None) -> frozenset[str]:
    """``dialects`` given (``"openinference"``, a comma list, or a collection of names),
    else ``SENTRIAL_DIALECTS``; a name we do not know is dropped with a warning."""
    raw = dialects if dialects is not None else _env(env.SENTRIAL_DIALECTS) or ""
    given = raw.split(",") if isinstance(raw, str) else raw
    names = frozenset(str(name).strip().lower() for name in given if str(name).strip())
    unknown = names - set(KNOWN_DIALECTS)
    if unknown:
        logger.warning(
            "sentrial: unknown dialect(s) %s ignored (known: %s)",
            ", ".join(sorted(unknown)), ", ".join(KNOWN_DIALECTS),
        )
    return names - unknown


def capture_content_from_env(default: bool = True) -> bool:
    """``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``: enum or legacy boolean."""
    return parse_bool(_env(env.OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT), default)


def genai_latest_from_env() -> bool:
    """Whether ``OTEL_SEMCONV_STABILITY_OPT_IN`` (a comma list, as in
    opentelemetry-python-contrib) asks for ``gen_ai_latest_experimental``: the GenAI
    conventions v0.1.0 where they differ from what opentelemetry-util-genai emits."""
    value = _env(env.OTEL_SEMCONV_STABILITY_OPT_IN) or ""
    return any(
        part.strip().lower() == SEMCONV_OPT_IN_GENAI_LATEST for part in value.split(",")
    )


def _resolve_batch(batching: Any) -> BatchSettings:
    defaults = BatchSettings(
        schedule_delay_s=_float(env.OTEL_BSP_SCHEDULE_DELAY, 5000.0) / 1000.0,
        max_export_batch_size=_int(env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE, 512),
        max_queue_size=_int(env.OTEL_BSP_MAX_QUEUE_SIZE, 2048),
    )
    if batching is None or batching is False or batching is True:
        # True means "the Sentrial batcher's defaults": a one second flush.
        if batching is True:
            return BatchSettings(1.0, defaults.max_export_batch_size, defaults.max_queue_size)
        return defaults
    if getattr(batching, "enabled", True) is False:
        return defaults
    delay = getattr(batching, "flush_interval", defaults.schedule_delay_s)
    size = getattr(batching, "flush_threshold", defaults.max_export_batch_size)
    queue = getattr(batching, "max_queue_size", defaults.max_queue_size)
    try:
        return BatchSettings(
            schedule_delay_s=max(float(delay), 0.0),
            max_export_batch_size=max(int(size), 1),
            max_queue_size=max(int(queue), max(int(size), 1)),
        )
    except Exception:  # noqa: BLE001 - fields that are not numbers
        logger.warning("sentrial: batching fields must be numbers; using the defaults")
        return defaults


def _checked_argument(value: Any, argument: str, kinds: tuple[type, ...], strict: bool) -> Any:
    """``value`` if it is None or one of ``kinds`` (a bool is no number), else None, reported."""
    if value is None or (
        isinstance(value, kinds) and (bool in kinds or not isinstance(value, bool))
    ):
        return value
    names = " or ".join(kind.__name__ for kind in kinds)
    message = f"{argument} must be {names}, not {type(value).__name__}; ignored"
    if strict:
        raise TypeError(message)
    logger.warning("sentrial: %s", message)
    return None


class _Threshold(NamedTuple):
    """One detector threshold: its argument, its variable, its range and default."""

    argument: str
    variable: str
    default: float | None
    integer: bool
    minimum: float
    maximum: float | None = None

    def problem(self, value: Any) -> str | None:
        """Why ``value`` cannot be this threshold, or None."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return "not a number"
        if not math.isfinite(value):
            return "not a finite number"
        if self.integer and value != int(value):
            return "not a whole number"
        if value < self.minimum:
            return f"must be at least {self.minimum:g}"
        if self.maximum is not None and value > self.maximum:
            return f"must be at most {self.maximum:g}"
        return None

    def resolve(self, given: Any, strict: bool) -> Any:
        """The argument when usable, else the variable when usable, else the default. A
        bad argument raises in strict mode; otherwise each bad value is one warning."""
        if given is not None:
            problem = self.problem(given)
            if problem is None:
                return int(given) if self.integer else float(given)
            message = f"{self.argument}={given!r} {problem}"
            if strict:
                raise (TypeError if problem == "not a number" else ValueError)(message)
            logger.warning("sentrial: %s; using the default", message)
        raw = _env(self.variable)
        if raw is None:
            return self.default
        try:
            value: Any = float(raw)
        except ValueError:
            value = raw
        problem = self.problem(value)
        if problem is not None:
            logger.warning("sentrial: %s=%r %s; using %s", self.variable, raw, problem,
                           "none" if self.default is None else f"{self.default:g}")
            return self.default
        return int(value) if self.integer else float(value)


_TOOL_LOOP = _Threshold("tool_loop_repeats", env.SENTRIAL_TOOL_LOOP_REPEATS,
                        DEFAULT_TOOL_LOOP_REPEATS, integer=True, minimum=2)
_TOOL_ERRORS = _Threshold("tool_error_streak", env.SENTRIAL_TOOL_ERROR_STREAK,
                          DEFAULT_TOOL_ERROR_STREAK, integer=True, minimum=1)
_LOW_CONFIDENCE = _Threshold("low_confidence", env.SENTRIAL_LOW_CONFIDENCE,
                             DEFAULT_LOW_CONFIDENCE, integer=False, minimum=0, maximum=1)
_BUDGET = _Threshold("budget_usd", env.SENTRIAL_BUDGET_USD, None, integer=False, minimum=0)
_SLOW_STEP = _Threshold("slow_step_seconds", env.SENTRIAL_SLOW_STEP_SECONDS, None,
                        integer=False, minimum=0)


def resolve_issue_settings(
    *,
    strict: bool = False,
    detect_issues: bool | None = None,
    tool_loop_repeats: int | None = None,
    tool_error_streak: int | None = None,
    low_confidence: float | None = None,
    budget_usd: float | None = None,
    slow_step_seconds: float | None = None,
    detectors: Iterable[Callable[..., Any]] | None = None,
) -> IssueSettings:
    """The detectors' settings: argument, then ``SENTRIAL_*`` variable, then default."""
    if detect_issues is not None and not isinstance(detect_issues, bool):
        message = f"detect_issues must be a bool, not {type(detect_issues).__name__}"
        if strict:
            raise TypeError(message)
        logger.warning("sentrial: %s; using the default", message)
        detect_issues = None
    own: list[Callable[..., Any]] = []
    for detector in detectors or ():
        if callable(detector):
            own.append(detector)
        elif strict:
            raise TypeError(f"a detector must be callable, not {type(detector).__name__}")
        else:
            logger.warning("sentrial: ignoring detector %r: not callable", detector)
    return IssueSettings(
        enabled=(
            detect_issues if detect_issues is not None
            else parse_bool(_env(env.SENTRIAL_DETECT_ISSUES), True)
        ),
        tool_loop_repeats=_TOOL_LOOP.resolve(tool_loop_repeats, strict),
        tool_error_streak=_TOOL_ERRORS.resolve(tool_error_streak, strict),
        low_confidence=_LOW_CONFIDENCE.resolve(low_confidence, strict),
        budget_usd=_BUDGET.resolve(budget_usd, strict),
        slow_step_s=_SLOW_STEP.resolve(slow_step_seconds, strict),
        detectors=tuple(own),
    )


def resolve_settings(
    *,
    api_url: str | None = None,
    api_key: str | None = None,
    protocol: str | None = None,
    capture_content: bool | None = None,
    fail_silently: bool | None = None,
    batching: Any = None,
    home: str | os.PathLike[str] | None = None,
    shutdown_timeout: float | None = None,
    max_content_length: int | None = None,
    handle_sigterm: bool | None = None,
    instrument_executors: bool | None = None,
    defer_root_span: bool | None = None,
    dialects: str | Collection[str] | None = None,
    detect_issues: bool | None = None,
    tool_loop_repeats: int | None = None,
    tool_error_streak: int | None = None,
    low_confidence: float | None = None,
    budget_usd: float | None = None,
    slow_step_seconds: float | None = None,
    detectors: Iterable[Callable[..., Any]] | None = None,
) -> Settings:
    """Resolve every setting: argument, then ``SENTRIAL_*``, then ``OTEL_*``, then default.

    An argument of the wrong type is ignored (the variable or the default is used) with one
    warning, or raises ``TypeError`` naming it when ``fail_silently=False``.
    ``detect_issues`` ... ``detectors``: the detectors that judge each session at its end
    (``resolve_issue_settings``, docs/issues.md)."""
    strict = fail_silently is False
    check = functools.partial(_checked_argument, strict=strict)
    fail_silently = check(fail_silently, "fail_silently", (bool,))
    api_url = check(api_url, "api_url", (str,))
    api_key = check(api_key, "api_key", (str,))
    protocol = check(protocol, "protocol", (str,))
    capture_content = check(capture_content, "capture_content", (bool,))
    home = check(home, "home", (str, os.PathLike))
    shutdown_timeout = check(shutdown_timeout, "shutdown_timeout", (int, float))
    max_content_length = check(max_content_length, "max_content_length", (int,))
    handle_sigterm = check(handle_sigterm, "handle_sigterm", (bool,))
    instrument_executors = check(instrument_executors, "instrument_executors", (bool,))
    defer_root_span = check(defer_root_span, "defer_root_span", (bool,))
    if batching is not None and not isinstance(batching, bool) and not any(
        hasattr(batching, name) for name in ("enabled", "flush_interval", "flush_threshold")
    ):
        batching = check(batching, "batching", (bool,))  # not a BatcherConfig: reported
    proto = _resolve_protocol(protocol)
    endpoint, source = _resolve_endpoint(api_url, proto)
    exporter = _resolve_exporter(endpoint)
    if exporter == EXPORTER_OTLP and endpoint is None:
        # OTEL_TRACES_EXPORTER=otlp without an endpoint: the OTLP default address.
        endpoint = traces_url(default_otlp_endpoint(proto), proto)
        source = "OTLP default"
    fallback = None
    if exporter == EXPORTER_OTLP and (compression := unsupported_compression()):
        fallback = f"{compression} is not one of {', '.join(COMPRESSIONS)}"
        logger.warning("sentrial: %s; spans go to the local store instead", fallback)
        exporter = EXPORTER_STORE
    headers = parse_headers(_env(env.OTEL_EXPORTER_OTLP_HEADERS))
    headers.update(parse_headers(_env(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS)))
    # Seconds, as the Python OTLP exporters read these variables.
    timeout = _float(env.OTEL_EXPORTER_OTLP_TIMEOUT, DEFAULT_EXPORT_TIMEOUT)
    timeout = _float(env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT, timeout)
    silent = (
        fail_silently if fail_silently is not None
        else parse_bool(_env(env.SENTRIAL_FAIL_SILENTLY), True)
    )
    return Settings(
        exporter=exporter,
        exporter_fallback=fallback,
        endpoint=endpoint,
        endpoint_source=source,
        protocol=proto,
        headers=headers,
        api_key=api_key or _env(env.SENTRIAL_API_KEY),
        capture_content=(
            capture_content if capture_content is not None else capture_content_from_env()
        ),
        max_content_length=(
            max_content_length
            if max_content_length and max_content_length > 0
            else _int(env.SENTRIAL_MAX_CONTENT_LENGTH, DEFAULT_MAX_CONTENT_LENGTH)
        ),
        fail_silently=silent,
        home=Path(home) if home is not None else Path(_env(env.SENTRIAL_HOME) or DEFAULT_HOME),
        shutdown_timeout_s=(
            shutdown_timeout
            if shutdown_timeout is not None and shutdown_timeout >= 0
            else _float(env.SENTRIAL_SHUTDOWN_TIMEOUT, DEFAULT_SHUTDOWN_TIMEOUT)
        ),
        export_timeout_s=timeout,
        batch=_resolve_batch(batching),
        handle_sigterm=(
            handle_sigterm
            if handle_sigterm is not None
            else parse_bool(_env(env.SENTRIAL_HANDLE_SIGTERM), True)
        ),
        instrument_executors=(
            instrument_executors
            if instrument_executors is not None
            else parse_bool(_env(env.SENTRIAL_INSTRUMENT_EXECUTORS), True)
        ),
        defer_root_span=(
            defer_root_span
            if defer_root_span is not None
            else parse_bool(_env(env.SENTRIAL_DEFER_ROOT_SPAN), True)
        ),
        dialects=resolve_dialects(dialects),
        issues=resolve_issue_settings(
            strict=not silent,
            detect_issues=detect_issues,
            tool_loop_repeats=tool_loop_repeats,
            tool_error_streak=tool_error_streak,
            low_confidence=low_confidence,
            budget_usd=budget_usd,
            slow_step_seconds=slow_step_seconds,
            detectors=detectors,
        ),
    )
