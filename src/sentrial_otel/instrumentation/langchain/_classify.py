"""Which span a LangChain *chain* run becomes (SEMCONV.md, "LangChain runs").

* an agent (a ``create_agent`` graph, a classic ``AgentExecutor``, a run whose metadata says
  ``agent_name`` / ``otel_agent_span``, or a top-level run named like an agent)
  -> ``invoke_agent {name}``;
* any other top-level chain or graph -> ``invoke_workflow {name}``;
* a LangGraph node (the run LangGraph starts for a node, tagged ``graph:step:N``) of a
  graph the user built -> a plain INTERNAL span named after the node, so work inside it
  nests under it;
* everything else is plumbing, suppressed unless asked for: ``__start__``, routers,
  middleware hooks, the runnables inside a node, a subgraph's own root under its node, and
  the loop nodes of a ``create_agent`` agent (``model``, ``tools``). Those repeat what the
  agent span's children say already (each ``model`` step holds one ``chat`` span, each
  ``tools`` step its ``execute_tool`` spans), so the agent's chat and tool spans sit
  directly under ``invoke_agent``, as in the GenAI conventions' agent spans.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any

AGENT = "agent"
WORKFLOW = "workflow"
NODE = "node"
PLUMBING = "chain"

_CREATE_AGENT = "langchain_create_agent"
_DEFAULT_GRAPH_NAME = "LangGraph"


class ChainKind(str, Enum):
    """What a chain run becomes; the value is ``sentrial.langchain.run_type`` on plain spans."""

    AGENT = AGENT
    WORKFLOW = WORKFLOW
    NODE = NODE
    PLUMBING = PLUMBING


def run_name(serialized: Any, kwargs: Mapping[str, Any], default: str = "chain") -> str:
    """The run's name: the ``name`` LangChain passes, else the serialized class name."""
    name = kwargs.get("name")
    if isinstance(name, str) and name:
        return name[:128]
    if isinstance(serialized, Mapping):
        if isinstance(serialized.get("name"), str) and serialized["name"]:
            return str(serialized["name"])[:128]
        ids = serialized.get("id")
        if isinstance(ids, Sequence) and ids and isinstance(ids[-1], str):
            return ids[-1][:128]
    return default


def _says(metadata: Mapping[str, Any], key: str, text: str) -> bool:
    """Whether ``metadata[key]`` is the string ``text`` (metadata is the user's too: a value
    of any type, even one whose ``__eq__`` raises, just does not match)."""
    value = metadata.get(key)
    return type(value) is str and value == text


def is_node(name: str, tags: Sequence[str] | None, metadata: Mapping[str, Any]) -> bool:
    """The run LangGraph starts for one of its nodes (not a runnable inside the node)."""
    return _says(metadata, "langgraph_node", name) and any(
        isinstance(tag, str) and tag.startswith("graph:step:") for tag in tags or ()
    )


def is_plumbing_node(name: str) -> bool:
    """Nodes that are graph machinery: ``__start__``/``__end__`` and middleware hooks
    (``SummarizationMiddleware.before_model``)."""
    return name.startswith("__") or "." in name


def is_agent(name: str, metadata: Mapping[str, Any], top_level: bool) -> bool:
    if name == "AgentExecutor" or metadata.get("otel_agent_span") is True:
        return True
    if _says(metadata, "agent_name", name):
        return True
    if _says(metadata, "ls_integration", _CREATE_AGENT):
        # Every run inside a create_agent graph inherits this metadata; only the graph
        # itself is named after the agent (or "LangGraph" when the agent has no name).
        if "lc_agent_name" in metadata:
            return _says(metadata, "lc_agent_name", name)
        return name == _DEFAULT_GRAPH_NAME
    return top_level and name.lower().endswith("agent")


def is_agent_loop_node(metadata: Mapping[str, Any], parent_is_agent: bool) -> bool:
    """A node of ``create_agent``'s own graph (its parent run is the agent itself; a graph
    the user runs inside a tool inherits the metadata but not that parent)."""
    return parent_is_agent and _says(metadata, "ls_integration", _CREATE_AGENT)


def classify_chain(
    name: str,
    tags: Sequence[str] | None,
    metadata: Mapping[str, Any],
    top_level: bool,
    parent_is_agent: bool = False,
) -> ChainKind:
    if is_node(name, tags, metadata):
        if is_plumbing_node(name) or is_agent_loop_node(metadata, parent_is_agent):
            return ChainKind.PLUMBING
        return ChainKind.NODE
    if is_agent(name, metadata, top_level):
        return ChainKind.AGENT
    if top_level:
        return ChainKind.WORKFLOW
    return ChainKind.PLUMBING


def is_control_flow(error: BaseException) -> bool:
    """LangGraph's interrupts and ``Command`` bubbling (``GraphBubbleUp`` and subclasses)
    are control flow, not failures. Matched by name so LangGraph stays optional."""
    return any(cls.__name__ == "GraphBubbleUp" for cls in type(error).__mro__)


def is_interrupt(error: BaseException) -> bool:
    """A LangGraph interrupt (``interrupt()``, ``NodeInterrupt``): the run pauses, to be
    resumed from its checkpoint."""
    return any(cls.__name__ == "GraphInterrupt" for cls in type(error).__mro__)
