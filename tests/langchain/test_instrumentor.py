"""``LangChainInstrumentor``: dependencies, idempotence, full restore, bounds (its entry point:
tests/test_packaging.py)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import langchain_core.runnables.base as runnables_base
import langchain_core.tools.base as tools_base
import langgraph._internal._runnable as langgraph_runnable
from langchain_core.callbacks.base import BaseCallbackManager
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import StatusCode

from sentrial_otel import semconv as sc
from sentrial_otel._internal.content.policy import ContentPolicy
from sentrial_otel.instrumentation.langchain import (
    LangChainInstrumentor,
    OpenTelemetryCallbackHandler,
    RunRegistry,
)
from sentrial_otel.instrumentation.langchain._runs import RunRecord
from sentrial_otel.instrumentation.langchain.package import _instruments
from tests.langchain.conftest import Spans, attrs
from tests.langchain.test_agent import AGENT_TREE, QUESTION, weather_agent


def _originals() -> list[Any]:
    return [
        BaseCallbackManager.__dict__["__init__"],
        runnables_base.set_config_context,
        tools_base.set_config_context,
        langgraph_runnable.set_config_context,
    ]


def test_declares_the_supported_range() -> None:
    assert LangChainInstrumentor().instrumentation_dependencies() == _instruments
    assert _instruments == ("langchain-core >= 0.3.0, < 2",)


def test_instrument_twice_then_uninstrument_restores_everything(
    lc_provider: TracerProvider, lc_spans: Spans
) -> None:
    before = _originals()
    instrumentor = LangChainInstrumentor()
    instrumentor.instrument(tracer_provider=lc_provider)
    instrumentor.instrument(tracer_provider=lc_provider)  # harmless
    assert not any(a is b for a, b in zip(_originals(), before))
    weather_agent().invoke(QUESTION)
    assert lc_spans.tree() == AGENT_TREE  # one handler, not two

    instrumentor.uninstrument()
    instrumentor.uninstrument()
    assert all(a is b for a, b in zip(_originals(), before))
    lc_spans.exporter.clear()
    weather_agent().invoke(QUESTION)
    assert [s.name for s in lc_spans.all()] == ["weather-api GET"]  # the tool's own span only


def test_registry_is_bounded_and_sweeps_abandoned_runs(lc_provider: TracerProvider, lc_spans: Spans) -> None:
    registry = RunRegistry(max_runs=3, ttl_s=0.05)
    tracer = lc_provider.get_tracer("t")

    def record() -> RunRecord:
        span = tracer.start_span("abandoned stream")
        return RunRecord(uuid.uuid4(), owner=None, kind="llm", span=span, child_context=trace.set_span_in_context(span))

    for _ in range(5):
        assert registry.claim(record())
    assert len(registry) == 3  # the two oldest were evicted...
    assert len(lc_spans.all()) == 2  # ...and ended, so they are exported, not lost
    time.sleep(0.06)
    assert registry.sweep() == 3
    assert len(registry) == 0
    for span in lc_spans.all():
        assert span.status.status_code is StatusCode.ERROR
        assert attrs(span)[sc.ERROR_TYPE] == sc.ERROR_TYPE_ABANDONED


def test_abandoned_stream_is_cleaned_by_the_sweep(lc_provider: TracerProvider, lc_spans: Spans) -> None:
    registry = RunRegistry(ttl_s=0.0)
    handler = OpenTelemetryCallbackHandler(
        lc_provider.get_tracer("t"), ContentPolicy(), registry=registry
    )
    stream = weather_agent().stream(QUESTION, {"callbacks": [handler]})
    next(stream)  # started, never finished, never closed
    assert len(registry) > 0
    registry.sweep()
    assert len(registry) == 0
    assert lc_spans.one("invoke_agent weather_agent").status.status_code is StatusCode.ERROR
    stream.close()  # LangChain's own cleanup afterwards finds nothing to end: no error


def test_instrumentor_restores_what_it_found_while_a_manual_handler_holds_the_hooks(
    lc_provider: TracerProvider,
) -> None:
    """The hooks are shared and counted: the instrumentor leaving does not pull them from
    under a live SentrialCallbackHandler, and they go when the last user goes."""
    import gc

    import sentrial
    from sentrial.langchain import SentrialCallbackHandler

    pristine = _originals()
    client = sentrial.SentrialClient(tracer_provider=lc_provider)
    handler = SentrialCallbackHandler(client, client.create_session(name="s", agent_name="a", user_id="u"))
    hooked = _originals()
    # The handler hooks set_config_context (its tool spans stay current), not the managers.
    assert hooked[0] is pristine[0]
    assert not any(a is b for a, b in zip(hooked[1:], pristine[1:]))

    instrumentor = LangChainInstrumentor()
    instrumentor.instrument(tracer_provider=lc_provider)
    instrumentor.uninstrument()
    assert all(a is b for a, b in zip(_originals(), hooked))  # still the handler's

    del handler
    gc.collect()
    assert all(a is b for a, b in zip(_originals(), pristine))
