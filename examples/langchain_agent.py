"""A LangChain agent traced two ways, offline (a scripted chat model stands in for OpenAI).

1. Sentrial-compatible: ``SentrialCallbackHandler(client, session_id)`` in the call's
   callbacks; the handler's totals come from the model's usage data.
2. OpenTelemetry-native: ``LangChainInstrumentor().instrument()``; every run is traced with
   no callbacks passed, nested under the current Sentrial session.

Run: ``python examples/langchain_agent.py`` (spans go to the local store, or to the
collector named by ``OTEL_EXPORTER_OTLP_ENDPOINT``); then ``sentrial-otel sessions list``.
"""

from __future__ import annotations

from typing import Any

from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.tools import tool

from sentrial import SentrialClient
from sentrial.langchain import SentrialCallbackHandler
from sentrial_otel.instrumentation.langchain import LangChainInstrumentor


class ScriptedModel(GenericFakeChatModel):
    """Plays back AIMessages (with tool calls and usage) as an OpenAI model would."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedModel:
        return self

    def _get_ls_params(self, stop: Any = None, **kwargs: Any) -> Any:
        params = super()._get_ls_params(stop=stop, **kwargs)
        params.update(ls_provider="openai", ls_model_name="gpt-4o-mini")
        return params


def script() -> ScriptedModel:
    return ScriptedModel(
        messages=iter(
            [
                AIMessage(
                    content="",
                    tool_calls=[{"name": "search_kb", "args": {"query": "password reset"}, "id": "call_1"}],
                    usage_metadata={"input_tokens": 120, "output_tokens": 18, "total_tokens": 138},
                ),
                AIMessage(
                    content="Use the 'Forgot password' link (KB-001).",
                    usage_metadata={"input_tokens": 180, "output_tokens": 25, "total_tokens": 205},
                ),
            ]
        )
    )


@tool
def search_knowledge_base(query: str) -> list[str]:
    """Search the support knowledge base."""
    return ["KB-001", "KB-002"] if "password" in query else []


search_kb = search_knowledge_base.model_copy(update={"name": "search_kb"})


def with_the_sentrial_handler(client: SentrialClient) -> None:
    session_id = client.create_session(
        name="Password help", agent_name="support-agent", user_id="user_123"
    )
    agent_executor = create_agent(script(), [search_kb], name="support_agent")
    handler = SentrialCallbackHandler(client, session_id)
    user_query = "How do I reset my password?"
    handler.set_input(user_query)
    result = agent_executor.invoke(
        {"messages": [{"role": "user", "content": user_query}]}, {"callbacks": [handler]}
    )
    print(result["messages"][-1].content)
    print(f"Cost: ${handler.total_cost:.6f}")
    print(f"Tokens: {handler.total_tokens}")
    print(f"LLM calls: {handler.llm_calls}")
    handler.finish(success=True)


def with_auto_instrumentation(client: SentrialClient) -> None:
    LangChainInstrumentor().instrument()  # the global tracer provider
    try:
        with client.begin(user_id="user_456", event="support-agent", input="reset password") as interaction:
            agent = create_agent(script(), [search_kb], name="support_agent")
            result = agent.invoke({"messages": [{"role": "user", "content": "reset password"}]})
            interaction.set_output(result["messages"][-1].content)
    finally:
        LangChainInstrumentor().uninstrument()


if __name__ == "__main__":
    with SentrialClient() as sentrial_client:
        with_the_sentrial_handler(sentrial_client)
        with_auto_instrumentation(sentrial_client)
