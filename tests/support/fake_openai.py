"""An OpenAI-compatible chat completions server on 127.0.0.1, for the real ``openai`` client.

``POST /v1/chat/completions`` answers with a fixed reply and fixed usage (``prompt_tokens``
``INPUT_TOKENS``, ``completion_tokens`` ``OUTPUT_TOKENS``), as JSON, or as server-sent
events when the request says ``"stream": true``: content chunks, a finish chunk, then (only
with ``stream_options={"include_usage": true}``, as the real API) a last chunk with
``choices: []`` and the usage, then ``data: [DONE]``. A request that offers tools and
whose last message is not a tool result gets a call of its first tool with
``tool_arguments`` instead (finish reason ``tool_calls``), so an agent runs model, tool,
model. Requests are kept in ``requests``. The server runs in a thread and is stopped when
the ``with`` block ends.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

INPUT_TOKENS = 1000
OUTPUT_TOKENS = 100
RESPONSE_MODEL = "gpt-4o-2024-08-06"
REPLY = "The answer is 42."


class FakeOpenAI:
    """``with FakeOpenAI() as server: OpenAI(base_url=server.base_url, api_key="x")``."""

    def __init__(self, tool_arguments: dict[str, Any] | None = None) -> None:
        self.tool_arguments = tool_arguments or {}
        self.requests: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append(body)
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, "application/json", b'{"error": "not found"}')
                    return
                completion_id = f"chatcmpl-{next(server._ids)}"
                tool_call = server._tool_call(body, completion_id)
                if body.get("stream"):
                    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
                    events = _events(completion_id, include_usage, tool_call)
                    self._send(200, "text/event-stream", events)
                else:
                    completion = _completion(completion_id, tool_call)
                    self._send(200, "application/json", json.dumps(completion).encode())

            def _send(self, status: int, content_type: str, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler

    def _tool_call(self, body: dict[str, Any], completion_id: str) -> dict[str, Any] | None:
        tools = body.get("tools") or []
        messages = body.get("messages") or [{}]
        if not tools or messages[-1].get("role") == "tool":
            return None
        return {
            "id": f"call_{completion_id}",
            "type": "function",
            "function": {
                "name": tools[0]["function"]["name"],
                "arguments": json.dumps(self.tool_arguments),
            },
        }


def _usage() -> dict[str, Any]:
    return {
        "prompt_tokens": INPUT_TOKENS,
        "completion_tokens": OUTPUT_TOKENS,
        "total_tokens": INPUT_TOKENS + OUTPUT_TOKENS,
    }


def _completion(completion_id: str, tool_call: dict[str, Any] | None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": None if tool_call else REPLY}
    if tool_call:
        message["tool_calls"] = [tool_call]
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": RESPONSE_MODEL,
        "choices": [
            {"index": 0, "message": message, "finish_reason": "tool_calls" if tool_call else "stop"}
        ],
        "usage": _usage(),
    }


def _events(completion_id: str, include_usage: bool, tool_call: dict[str, Any] | None) -> bytes:
    def chunk(choices: list[dict[str, Any]], usage: Any = None) -> dict[str, Any]:
        return {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": RESPONSE_MODEL,
            "choices": choices,
            "usage": usage,
        }

    chunks = [chunk([{"index": 0, "delta": {"role": "assistant", "content": ""},
                      "finish_reason": None}])]
    if tool_call:
        delta = {"tool_calls": [{"index": 0, **tool_call}]}
        chunks.append(chunk([{"index": 0, "delta": delta, "finish_reason": None}]))
    else:
        for i, word in enumerate(REPLY.split(" ")):
            text = word if i == 0 else " " + word
            chunks.append(chunk([{"index": 0, "delta": {"content": text}, "finish_reason": None}]))
    reason = "tool_calls" if tool_call else "stop"
    chunks.append(chunk([{"index": 0, "delta": {}, "finish_reason": reason}]))
    if include_usage:
        chunks.append(chunk([], _usage()))
    lines = [f"data: {json.dumps(c)}\n\n" for c in chunks] + ["data: [DONE]\n\n"]
    return "".join(lines).encode()
