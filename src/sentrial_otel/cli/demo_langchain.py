"""The demo's LangChain part: a real ``create_agent`` loop on a scripted, offline chat model.

Runs only when ``langchain`` is installed. The model plays back OpenAI-shaped messages
(tool calls, usage metadata), so the spans, tokens and cost are what a real run records.
"""

from __future__ import annotations

from typing import Any


def langchain_available() -> bool:
    try:
        import langchain.agents  # noqa: F401
        import langchain_core  # noqa: F401
    except ImportError:
        return False
    return True


def run_langchain_agent(client: Any) -> str | None:
    """One support session answered by a LangChain agent, traced by SentrialCallbackHandler."""
    from langchain.agents import create_agent
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage
    from langchain_core.tools import tool

    from sentrial.langchain import SentrialCallbackHandler

    class ScriptedOpenAIModel(GenericFakeChatModel):
        """Answers from a script and reports itself as OpenAI gpt-4o-mini."""

        def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedOpenAIModel:
            return self  # the script already knows which tool it calls

        def _get_ls_params(self, stop: Any = None, **kwargs: Any) -> Any:
            params = super()._get_ls_params(stop=stop, **kwargs)
            params["ls_provider"] = "openai"
            params["ls_model_name"] = "gpt-4o-mini"
            return params

    @tool
    def lookup_invoice(invoice_id: str) -> dict[str, Any]:
        """Look an invoice up by id."""
        return {"invoice_id": invoice_id, "amount_usd": 42.0, "status": "paid"}

    model = ScriptedOpenAIModel(
        messages=iter(
            [
                AIMessage(
                    content="",
                    tool_calls=[{"name": "lookup_invoice", "args": {"invoice_id": "INV-7"}, "id": "call_1"}],
                    usage_metadata={"input_tokens": 210, "output_tokens": 22, "total_tokens": 232},
                    response_metadata={"model_name": "gpt-4o-mini", "finish_reason": "tool_calls"},
                ),
                AIMessage(
                    content="Invoice INV-7 for $42.00 is paid.",
                    usage_metadata={"input_tokens": 260, "output_tokens": 14, "total_tokens": 274},
                    response_metadata={"model_name": "gpt-4o-mini", "finish_reason": "stop"},
                ),
            ]
        )
    )
    session_id = client.create_session(
        name="Invoice question", agent_name="invoice-agent", user_id="demo-user"
    )
    agent = create_agent(model, [lookup_invoice], name="invoice_agent")
    handler = SentrialCallbackHandler(client, session_id)
    question = "Is invoice INV-7 paid?"
    handler.set_input(question)
    agent.invoke({"messages": [{"role": "user", "content": question}]}, {"callbacks": [handler]})
    handler.finish(success=True)
    return session_id
