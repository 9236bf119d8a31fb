"""The client side: every ``tools/call`` carries the session to the server.

``ClientSession.call_tool(name, arguments, ..., meta=...)`` is the one call every client
makes for a tool, on both SDK lines and through ``mcp.Client`` or langchain-mcp-adapters.
Its wrapper adds to ``meta`` what ``_carrier.outgoing_meta`` gives: the session's identity,
and on mcp 1.x (which propagates nothing itself) the W3C trace context.
"""

from __future__ import annotations

from typing import Any

from sentrial_otel.instrumentation.mcp._carrier import outgoing_meta
from sentrial_otel.misuse import logger


class CallTool:
    """Wrapper of ``ClientSession.call_tool``.

    Args:
        inject_trace_context: put ``traceparent`` into ``_meta`` ourselves (mcp 1.x; mcp 2.x
            injects it when it sends, from its own client span).
    """

    def __init__(self, *, inject_trace_context: bool) -> None:
        self.inject_trace_context = inject_trace_context

    async def __call__(self, wrapped: Any, instance: Any, args: Any, kwargs: Any) -> Any:
        try:
            meta = outgoing_meta(kwargs.get("meta"), trace_context=self.inject_trace_context)
            if meta is not None:
                kwargs = {**kwargs, "meta": meta}
        except Exception:  # noqa: BLE001 - never fail a tool call for our sake
            logger.warning("sentrial: internal error in adding an MCP request's _meta", exc_info=True)
        return await wrapped(*args, **kwargs)
