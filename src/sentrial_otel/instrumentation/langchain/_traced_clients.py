"""Whether another instrumentation traces the provider SDK a LangChain model calls.

The GenAI conventions' policy against duplicate inference spans: a framework emits no
inference span of its own when the provider call is instrumented. The official OpenAI
instrumentation (``opentelemetry-instrumentation-openai-v2``) and OpenLLMetry wrap the SDK's
``create`` methods with ``wrapt``; OpenInference wraps the client's ``request``. We never
wrap them ourselves, so a ``wrapt`` proxy in their place means someone traces the call.

Only SDK modules already imported are looked at (we never import a provider SDK), and the
check runs when a model run starts, so the order in which the instrumentors were turned on
does not matter. A provider missing here, or one that traces itself without wrapping (the
Anthropic SDK's own spans), is caught when its span appears under ours instead (the
handler's merge, ``_handler.on_llm_end``).
"""

from __future__ import annotations

import inspect
import sys
from typing import Final

import wrapt

# What wrap_function_wrapper leaves in place: a FunctionWrapper (whose base in wrapt 2 is
# BaseObjectProxy, not ObjectProxy); any other proxy there is someone's wrapper too.
_PROXIES: Final = tuple(
    {wrapt.FunctionWrapper, wrapt.ObjectProxy, getattr(wrapt, "BaseObjectProxy", wrapt.ObjectProxy)}
)

_OPENAI: Final = (
    ("openai.resources.chat.completions", "Completions", "create"),
    ("openai.resources.chat.completions", "AsyncCompletions", "create"),
    ("openai.resources.completions", "Completions", "create"),
    ("openai.resources.completions", "AsyncCompletions", "create"),
    ("openai", "OpenAI", "request"),
    ("openai", "AsyncOpenAI", "request"),
)
_ANTHROPIC: Final = (
    ("anthropic.resources.messages", "Messages", "create"),
    ("anthropic.resources.messages", "AsyncMessages", "create"),
)

TRACED_METHODS: Final[dict[str, tuple[tuple[str, str, str], ...]]] = {
    "openai": _OPENAI,
    "azure.ai.openai": _OPENAI,
    "anthropic": _ANTHROPIC,
}
"""``gen_ai.provider.name`` -> the SDK methods (module, class, method) another
instrumentation wraps to trace that provider's calls."""


def provider_call_traced(provider: str) -> bool:
    """Whether a call to ``provider`` through its SDK makes another instrumentation's span."""
    for module_name, class_name, method in TRACED_METHODS.get(provider, ()):
        module = sys.modules.get(module_name)
        owner = getattr(module, class_name, None) if module is not None else None
        if owner is None:
            continue
        try:
            if isinstance(inspect.getattr_static(owner, method), _PROXIES):
                return True
        except AttributeError:
            continue
    return False
