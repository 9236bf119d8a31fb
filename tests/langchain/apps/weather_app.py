"""A LangChain app with no tracing code at all: run under ``opentelemetry-instrument``."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the checkout, for tests.*

from langchain.agents import create_agent  # noqa: E402

from tests.langchain import fakes  # noqa: E402

model = fakes.ScriptedChatModel(
    [
        fakes.tool_call_message("get_weather", {"city": "Paris"}, "call_1", (10, 5)),
        fakes.answer_message("It is sunny", (20, 3)),
    ]
)
agent = create_agent(model, [fakes.get_weather], name="weather_agent")
result = agent.invoke({"messages": [{"role": "user", "content": "weather in Paris?"}]})
print(result["messages"][-1].content)
