"""The client side: every ``tools/call`` is a tool call of the session, and carries the
session to the server.

``ClientSession.call_tool(name, arguments, ..., meta=...)`` is the one call every client
makes for a tool, on both SDK lines and through langchain-mcp-adapters; on mcp 2.x
``Client.call_tool`` sits on top of it (and may call it more than once: a resend after a
``HEADER_MISMATCH``, input-required rounds), so it is wrapped too, with the same wrapper.

Each call goes through the engine's tool invocation (``ToolCall``): an ``execute_tool
{name}`` span (``gen_ai.tool.type=extension``, ``mcp.method.name=tools/call``) in the
current session, counted in its totals, metrics and steps like any tool call, with the
arguments and the result as content. A result that says ``isError`` ends it as a reported
tool error (``error.type=tool_error``); an exception fails it and is re-raised unchanged.

When the current span already is this tool's ``execute_tool`` span (a LangChain tool
running an MCP tool, as langchain-mcp-adapters' tools do, or ``Client.call_tool`` around
``ClientSession.call_tool``), no second span is made: that call is the tool call (the MCP
conventions: "SHOULD NOT create a separate span").

Either way ``meta`` gets what ``_carrier.outgoing_meta`` adds: the session's identity, and
on mcp 1.x (which propagates nothing itself) the W3C trace context of the tool's span.

On mcp 2.x's streamable HTTP, every request of a client also carries the W3C trace context
as HTTP headers (:class:`TraceHeaders`), for what traces the HTTP hop (a gateway, the
server's ASGI instrumentation): the SDK's HTTP client, httpx2, is instrumented by nobody.
The MCP server span's parent stays the one in ``_meta``, as the MCP conventions say.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from opentelemetry import propagate, trace

from sentrial_otel import semconv as sc
from sentrial_otel._internal.errors import handle_internal_errors
from sentrial_otel._internal.spans.invocations import ToolCall
from sentrial_otel._internal.spans.recording import Recording
from sentrial_otel._internal.spans.session import current_session
from sentrial_otel.instrumentation.mcp._carrier import outgoing_meta

_STARTING = handle_internal_errors("starting an MCP tool call")
_ADDING_META = handle_internal_errors("adding an MCP request's _meta")
_ENDING = handle_internal_errors("ending an MCP tool call")


class CallTool:
    """Wrapper of ``ClientSession.call_tool`` and ``Client.call_tool``.

    Args:
        recording: where a tool call outside any session records (the instrumentor's
            tracer, content policy and metrics); a session's own calls use the session's.
        inject_trace_context: put ``traceparent`` into ``_meta`` ourselves (mcp 1.x; mcp 2.x
            injects it when it sends, from its own client span under ours).
    """

    def __init__(self, recording: Recording, *, inject_trace_context: bool) -> None:
        self.recording = recording
        self.inject_trace_context = inject_trace_context

    async def __call__(self, wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        call: ToolCall | None = None
        with _STARTING:
            name, arguments = _name_and_arguments(args, kwargs)
            if not _is_current_tool_call(name):
                call = self._tool_call(name, arguments)
        with call if call is not None else contextlib.nullcontext():
            with _ADDING_META:
                meta = outgoing_meta(kwargs.get("meta"), trace_context=self.inject_trace_context)
                if meta is not None:
                    kwargs = {**kwargs, "meta": meta}
            try:
                result = await wrapped(*args, **kwargs)
            except BaseException as error:
                if call is not None and call.span is not None:
                    with _ENDING:
                        _note_error_code(call.span, error)
                raise  # the with-block fails the call
            if call is not None:
                with _ENDING:
                    _stop(call, result)
            return result

    def _tool_call(self, name: str, arguments: Any) -> ToolCall:
        session = current_session()
        if session is not None:
            recording, context = session.recording, session.parent_context()[0]
        else:
            recording, context = self.recording, None
        call = ToolCall(
            recording,
            session,
            name=name,
            agent_name=session.agent_name if session is not None else None,
            context=context,
            arguments=arguments,
            tool_type=sc.TOOL_TYPE_EXTENSION,
        )
        call.start()
        if call.span is not None:
            call.span.set_attribute(sc.MCP_METHOD_NAME, sc.MCP_TOOLS_CALL)
        return call


class TraceHeaders:
    """Wrapper of mcp 2.x ``JSONRPCDispatcher.send_raw_request(method, params, opts)``: the
    HTTP headers of a client's request (``opts["headers"]``, which ``ClientSession`` always
    passes and only streamable HTTP sends) get the current W3C trace context. Headers
    already there win."""

    async def __call__(self, wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        with _ADDING_META:
            opts = args[2] if len(args) > 2 else kwargs.get("opts")
            headers = opts.get("headers") if isinstance(opts, dict) else None
            if isinstance(headers, dict) and trace.get_current_span().get_span_context().is_valid:
                carrier: dict[str, str] = {}
                propagate.inject(carrier)
                for key, value in carrier.items():
                    headers.setdefault(key, value)
        return await wrapped(*args, **kwargs)


def _name_and_arguments(args: Any, kwargs: Mapping[str, Any]) -> tuple[str, Any]:
    name = args[0] if args else kwargs["name"]
    arguments = args[1] if len(args) > 1 else kwargs.get("arguments")
    return str(name), arguments


def _is_current_tool_call(name: str) -> bool:
    """Whether the current span is already an ``execute_tool`` span of this tool."""
    span = trace.get_current_span()
    if not span.is_recording():
        return False
    attributes = getattr(span, "attributes", None) or {}
    return bool(
        attributes.get(sc.GEN_AI_OPERATION_NAME) == sc.OP_EXECUTE_TOOL
        and attributes.get(sc.GEN_AI_TOOL_NAME) == name
    )


def _stop(call: ToolCall, result: Any) -> None:
    """End the call with the server's answer: its result, or its ``isError`` as an error."""
    # mcp 2.x names the fields in snake case, 1.x in camel case.
    structured = _field(result, "structured_content", "structuredContent")
    content = _content(_field(result, "content", "content"))
    if _field(result, "is_error", "isError") is True:
        message = content if isinstance(content, str) else str(content or "")
        call.stop(error={"type": sc.ERROR_TYPE_MCP_TOOL_ERROR, "message": message})
    else:
        call.stop(structured if structured is not None else content)


def _field(result: Any, modern: str, legacy: str) -> Any:
    value = getattr(result, modern, None)
    return getattr(result, legacy, None) if value is None else value


def _content(blocks: Any) -> Any:
    """A result's content blocks as content: the text when it is one text block, else a
    list of texts and, for other blocks (images, audio, resources), their type only."""
    if not isinstance(blocks, list) or not blocks:
        return None
    parts: list[Any] = []
    for block in blocks:
        text = getattr(block, "text", None)
        parts.append(text if isinstance(text, str) else {"type": getattr(block, "type", "unknown")})
    return parts[0] if len(parts) == 1 else parts


def _note_error_code(span: trace.Span, error: BaseException) -> None:
    """The JSON-RPC error code of an error response (``McpError``/``MCPError``)."""
    code = getattr(getattr(error, "error", None), "code", None)
    if isinstance(code, int) and not isinstance(code, bool):
        span.set_attribute(sc.RPC_RESPONSE_STATUS_CODE, str(code))
