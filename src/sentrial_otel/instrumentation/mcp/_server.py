"""The server side: a request joins the caller's trace and carries the caller's session.

* **mcp 2.x** traces every inbound request itself (its ``OpenTelemetryMiddleware``: a SERVER
  span ``{method} {target}`` parented to the trace context in ``params._meta``). We wrap
  ``ServerRunner._on_request``, which sees the raw params before that middleware runs, and
  register the session the request carries for the caller's trace while it is handled: the
  SDK's span and every span the tool's code starts then carry the session's attributes
  (``stamping.py`` adds them when each span starts). No second span of ours.
* **mcp 1.x** has no OpenTelemetry. We wrap ``Server._handle_request`` and give each
  ``tools/call`` the span mcp 2.x would have given it (``tools/call {name}``, SERVER,
  parented to the ``_meta`` trace context, ``error.type=tool_error`` for an ``isError``
  result), with the session registered the same way. Other requests get no span (low
  noise; mcp 2.x is the line that traces them).

A request without our ``_meta`` key (an uninstrumented client, or one outside a session) is
served exactly as before, and an error of ours never fails a request.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind

from sentrial_otel import semconv as sc
from sentrial_otel._internal.errors import handle_internal_errors
from sentrial_otel._internal.spans.attributes import Attributes
from sentrial_otel._internal.spans.failures import mark_error
from sentrial_otel._internal.spans.invocations import Invocation
from sentrial_otel._internal.spans.recording import Recording
from sentrial_otel._internal.spans.stamping import SESSION_INDEX
from sentrial_otel.instrumentation.mcp._carrier import parent_context_from, session_stamp_from

_READING = handle_internal_errors("reading an MCP request's _meta")
_ENDING = handle_internal_errors("ending an MCP server span")


class ServedSessions:
    """Sessions of other processes with a request being served here, by trace id.

    A session is registered in ``SESSION_INDEX`` while at least one of its requests runs
    (requests of one session may overlap), and left alone when the session is open in this
    very process (an in-process server): that session stamps its spans already.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[int, int] = {}

    @contextlib.contextmanager
    def serving(self, trace_id: int, stamp: Mapping[str, Any]) -> Iterator[None]:
        with self._lock:
            running = self._requests.get(trace_id)
            if running is None and SESSION_INDEX.attributes_for(trace_id) is not None:
                owned = False  # the session lives in this process
            else:
                owned = True
                self._requests[trace_id] = (running or 0) + 1
                if running is None:
                    SESSION_INDEX.register(trace_id, stamp)
        try:
            yield
        finally:
            if owned:
                with self._lock:
                    left = self._requests.pop(trace_id) - 1
                    if left:
                        self._requests[trace_id] = left
                    else:
                        SESSION_INDEX.forget(trace_id)


SERVED = ServedSessions()


def _joined(meta: Mapping[str, Any] | None) -> tuple[Any, contextlib.AbstractContextManager[None]]:
    """The caller's context (or None) and a context manager that registers the caller's
    session for the request's duration (a no-op when it sent none)."""
    with _READING:
        parent = parent_context_from(meta)
        stamp = session_stamp_from(meta)
        if parent is not None and stamp is not None:
            trace_id = trace.get_current_span(parent).get_span_context().trace_id
            return parent, SERVED.serving(trace_id, stamp)
        return parent, contextlib.nullcontext()
    return None, contextlib.nullcontext()


class OnRequest:
    """Wrapper of mcp 2.x ``ServerRunner._on_request(dctx, method, params)``."""

    async def __call__(self, wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        params = args[2] if len(args) > 2 else kwargs.get("params")
        meta = params.get("_meta") if isinstance(params, Mapping) else None
        _, joined = _joined(meta)
        with joined:
            return await wrapped(*args, **kwargs)


class _Responder:
    """A 1.x ``RequestResponder`` seen through, keeping the response the handler sends."""

    def __init__(self, message: Any) -> None:
        self._message = message
        self.response: Any = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._message, name)

    async def respond(self, response: Any) -> None:
        self.response = response
        await self._message.respond(response)


class HandleRequest:
    """Wrapper of mcp 1.x ``Server._handle_request(message, req, session, ...)``: a SERVER
    span for each ``tools/call``, through the engine's invocation lifecycle (no step of a
    session here: the tool call is counted by the client that made it)."""

    def __init__(self, recording: Recording) -> None:
        self.recording = recording

    async def __call__(self, wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        request = _tool_call_request(args)
        if request is None:
            return await wrapped(*args, **kwargs)
        name, attributes, meta = request
        parent, joined = _joined(meta)
        responder = _Responder(args[0])
        # Registered before the span starts, so the span is stamped when it starts.
        with joined:
            span = Invocation(
                self.recording, None, name=name, span_name=f"{sc.MCP_TOOLS_CALL} {name}",
                attributes=attributes, context=parent, span_kind=SpanKind.SERVER,
            )
            with span:  # current while the tool runs; an exception fails it
                result = await wrapped(responder, *args[1:], **kwargs)
                with _ENDING:
                    _note_response(span, responder.response)
            return result


def _note_response(invocation: Invocation, response: Any) -> None:
    """ERROR for an ``isError`` result (``tool_error``) or an error response (its code)."""
    span = invocation.span
    if span is None:
        return
    result = getattr(response, "root", response)
    if getattr(result, "isError", False) is True:
        mark_error(span, sc.ERROR_TYPE_MCP_TOOL_ERROR, None)
    elif hasattr(result, "code") and hasattr(result, "message"):  # ErrorData
        code = str(result.code)
        span.set_attribute(sc.RPC_RESPONSE_STATUS_CODE, code)
        mark_error(span, code, str(result.message))


@handle_internal_errors("reading an MCP request")
def _tool_call_request(args: Any) -> tuple[str, Attributes, Mapping[str, Any] | None] | None:
    """(tool name, start attributes, ``_meta``) of a 1.x ``tools/call``; None otherwise."""
    message, request = args[0], args[1]
    params = getattr(request, "params", None)
    if getattr(request, "method", None) != sc.MCP_TOOLS_CALL or params is None:
        return None
    meta_model = getattr(params, "meta", None)
    meta = meta_model.model_dump(by_alias=True) if meta_model is not None else None
    name = str(params.name)
    attributes = Attributes()
    attributes.values.update({
        sc.MCP_METHOD_NAME: sc.MCP_TOOLS_CALL,
        sc.GEN_AI_OPERATION_NAME: sc.OP_EXECUTE_TOOL,
        sc.GEN_AI_TOOL_NAME: name,
        sc.JSONRPC_REQUEST_ID: str(message.request_id),
    })
    return name, attributes, meta
