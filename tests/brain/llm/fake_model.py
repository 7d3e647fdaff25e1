"""A FAKE OpenAI-compatible chat server, at the boundary we cannot reach here (a real model
endpoint): it answers each `POST /v1/chat/completions` with the next scripted reply and
records what it received (headers and JSON body), so tests can check what was sent."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = Callable[[dict[str, Any]], tuple[int, dict[str, Any]]]


@dataclass
class Received:
    headers: dict[str, str]
    body: dict[str, Any]
    raw: str


@dataclass
class FakeModelServer:
    replies: list[Reply] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    url: str = ""

    def script(self, *replies: Reply) -> None:
        self.replies = list(replies)


def tool_call(arguments: dict[str, Any] | str) -> Reply:
    """A completion whose message calls propose_plan with `arguments`."""
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)

    def reply(_: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        call = {
            "id": "c1",
            "type": "function",
            "function": {"name": "propose_plan", "arguments": text},
        }
        message = {"role": "assistant", "content": None, "tool_calls": [call]}
        return 200, {"choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}]}

    return reply


def content(text: str) -> Reply:
    def reply(_: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        message = {"role": "assistant", "content": text}
        return 200, {"choices": [{"index": 0, "message": message, "finish_reason": "stop"}]}

    return reply


def status(code: int) -> Reply:
    return lambda _: (code, {"error": {"message": f"scripted {code}"}})


def slow(seconds: float, then: Reply) -> Reply:
    def reply(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        time.sleep(seconds)
        return then(body)

    return reply


def proposal(
    tool: str, targets: list[str], inputs: dict[str, Any] | None = None, risk: str = "medium"
) -> dict[str, Any]:
    step = {"tool": tool, "targets": targets, "inputs": inputs or {}}
    return {"steps": [step], "risk": risk, "question": None, "reason": "scripted"}


@contextmanager
def fake_model_server() -> Iterator[FakeModelServer]:
    fake = FakeModelServer()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length).decode("utf-8")
            body = json.loads(raw)
            fake.received.append(Received(dict(self.headers.items()), body, raw))
            if self.path != "/v1/chat/completions" or not fake.replies:
                code, answer = 404, {"error": "not scripted"}
            else:
                code, answer = fake.replies.pop(0)(body)
            data = json.dumps(answer).encode()
            try:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client gave up (a timeout scenario)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
