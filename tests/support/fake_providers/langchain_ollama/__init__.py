"""A stand-in for the ``langchain-ollama`` package, on the ``PYTHONPATH`` of test processes
only: what ``langchain.chat_models.init_chat_model("ollama:MODEL")`` imports and builds.

``ChatOllama`` is langchain-core's ``FakeListChatModel`` (a real chat model of LangChain's,
offline). It writes what it was sent to ``$FAKE_MODEL_RECORD`` (JSON), waits
``$FAKE_MODEL_SLEEP`` seconds, and answers with a short markdown diagnosis that quotes the
first line of the brief, so a test sees the whole round trip.
"""

from __future__ import annotations

import json
import os
from typing import Any

from langchain_core.language_models.fake_chat_models import FakeListChatModel


class ChatOllama(FakeListChatModel):
    model: str = ""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("responses", ["(unused)"])
        kwargs.setdefault("sleep", float(os.environ.get("FAKE_MODEL_SLEEP", "0")) or None)
        super().__init__(**kwargs)

    def _call(self, messages: list[Any], *args: Any, **kwargs: Any) -> str:
        super()._call(messages, *args, **kwargs)  # the sleep
        record = os.environ.get("FAKE_MODEL_RECORD")
        if record:
            with open(record, "w", encoding="utf-8") as handle:
                json.dump({"model": self.model,
                           "messages": [[m.type, m.content] for m in messages]}, handle)
        brief = str(messages[-1].content)
        return (f"## Diagnosis by {self.model}\n\n"
                f"Read `{brief.splitlines()[0]}`: the agent **looped** on one tool.")
