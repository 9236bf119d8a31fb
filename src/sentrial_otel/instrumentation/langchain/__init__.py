"""OpenTelemetry instrumentation for LangChain and LangGraph.

Every LangChain / LangGraph run becomes a span, with no change to the application::

    from sentrial_otel.instrumentation.langchain import LangChainInstrumentor

    LangChainInstrumentor().instrument(tracer_provider=provider)  # provider: optional
    agent.invoke({"messages": [{"role": "user", "content": "hi"}]})

or with no code at all: ``opentelemetry-instrument python app.py`` (registered under the
``opentelemetry_instrumentor`` entry point as ``langchain``).

Span shapes (SEMCONV.md, "LangChain runs"): agents ``invoke_agent {name}``, the top-level
chain or graph ``invoke_workflow {name}``, nodes of user-built LangGraph graphs a plain span
named after the node, chat models ``chat {model}``, tools ``execute_tool {name}``,
retrievers ``retrieval {source}``; inner plumbing chains (and a ``create_agent`` agent's own
``model``/``tools`` loop nodes) are suppressed unless ``emit_plumbing_spans=True``.

How: ``BaseCallbackManager.__init__`` is wrapped so that every callback manager LangChain
builds carries our :class:`OpenTelemetryCallbackHandler` (unless one of ours, e.g. a
``SentrialCallbackHandler``, is already there), and LangChain's ``set_config_context`` is
wrapped so that a tool's or node's span is current while its body runs (see ``_context``).
``uninstrument()`` restores both. Runs still open when the instrumentor is removed or its
tracer provider shuts down are ended then (``sentrial.abandoned``), so no span stays open.

Options of ``instrument()``: ``tracer_provider``, ``meter_provider`` (LLM and tool
metrics; default the global one), ``capture_content`` (default from
``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``), ``emit_plumbing_spans``,
``dialects`` (default from ``SENTRIAL_DIALECTS``).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from opentelemetry import trace
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.utils import unwrap
from wrapt import wrap_function_wrapper

from sentrial_otel._internal.content.policy import ContentPolicy
from sentrial_otel._internal.logs import logger
from sentrial_otel._internal.spans.limits import limits_of
from sentrial_otel._internal.spans.metrics import AgentMetrics
from sentrial_otel._internal.spans.stamping import install_session_stamping
from sentrial_otel.config import capture_content_from_env, resolve_dialects
from sentrial_otel.instrumentation.langchain import _context
from sentrial_otel.instrumentation.langchain._handler import (
    OpenTelemetryCallbackHandler,
)
from sentrial_otel.instrumentation.langchain._runs import (
    RUNS,
    RunRegistry,
    end_open_runs_at_shutdown,
)
from sentrial_otel.instrumentation.langchain.package import _instruments
from sentrial_otel.instrumentation.langchain.version import __version__

__all__ = ["LangChainInstrumentor", "OpenTelemetryCallbackHandler", "RUNS", "RunRegistry"]


class _AddHandler:
    """Wrapper of ``BaseCallbackManager.__init__``: every manager gets our handler.

    Child managers copy their parent's inheritable handlers (``get_child`` ->
    ``set_handlers``), so adding it as inheritable reaches every nested run. A manager that
    already has one of our handlers (a ``SentrialCallbackHandler`` the user passed) is left
    alone: one handler per run, no duplicate spans.
    """

    def __init__(self, handler: OpenTelemetryCallbackHandler) -> None:
        self.handler = handler

    def __call__(self, wrapped: Any, instance: Any, args: Any, kwargs: Any) -> None:
        wrapped(*args, **kwargs)
        # A plain try, not handle_internal_errors' with-block (two Python calls): this runs
        # for each of the dozens of callback managers LangChain builds per agent run.
        try:
            # Plain loops, no list copies.
            for present in instance.inheritable_handlers:
                if isinstance(present, OpenTelemetryCallbackHandler):
                    return
            for present in instance.handlers:
                if isinstance(present, OpenTelemetryCallbackHandler):
                    return
            instance.add_handler(self.handler, inherit=True)
        except Exception:  # noqa: BLE001 - never break LangChain for our sake
            logger.debug("sentrial: could not add the LangChain handler", exc_info=True)


class LangChainInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Traces every LangChain / LangGraph run in the process (an OpenTelemetry instrumentor)."""

    _handler: OpenTelemetryCallbackHandler | None = None
    _provider: Any = None

    def instrumentation_dependencies(self) -> Collection[str]:
        return _instruments

    @property
    def handler(self) -> OpenTelemetryCallbackHandler | None:
        """The handler in use while instrumented (None otherwise)."""
        return self._handler

    def _instrument(self, **kwargs: Any) -> None:
        from langchain_core.callbacks import BaseCallbackManager  # noqa: F401 - fail early

        provider = kwargs.get("tracer_provider")
        tracer = trace.get_tracer(__name__, __version__, provider)
        self._provider = provider if provider is not None else trace.get_tracer_provider()
        install_session_stamping(self._provider)
        capture = kwargs.get("capture_content")
        content = ContentPolicy(
            capture=capture_content_from_env() if capture is None else bool(capture),
            limits=limits_of(provider if provider is not None else trace.get_tracer_provider()),
        )
        self._handler = OpenTelemetryCallbackHandler(
            tracer,
            content,
            emit_plumbing_spans=bool(kwargs.get("emit_plumbing_spans", False)),
            metrics=AgentMetrics(kwargs.get("meter_provider")),
            dialects=resolve_dialects(kwargs.get("dialects")),
        )
        wrap_function_wrapper(
            "langchain_core.callbacks.base", "BaseCallbackManager.__init__", _AddHandler(self._handler)
        )
        _context.acquire()
        end_open_runs_at_shutdown(self._provider, self._handler)

    def _uninstrument(self, **kwargs: Any) -> None:
        from langchain_core.callbacks.base import BaseCallbackManager

        unwrap(BaseCallbackManager, "__init__")
        _context.release()
        if self._handler is not None:
            RUNS.end_owned(self._handler, "LangChain run still open when uninstrumented")
            end_open_runs_at_shutdown(self._provider, None)
        self._handler = None
        self._provider = None
