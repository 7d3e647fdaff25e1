"""One call to an OpenAI-compatible chat endpoint: `POST {base}/chat/completions`.

The call forces the `propose_plan` tool (`tool_choice`). A server that refuses tools (4xx) is
asked again with `response_format` and the JSON schema, and one that refuses that too with plain
JSON; the mode that worked is kept for the next call. The API key travels only in the
`Authorization` header and is never logged or put in a message."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
from pydantic import SecretStr

from opsconductor.brain.llm.proposal import TOOL_NAME, ProposalMode, parameters_schema

logger = logging.getLogger(__name__)

_MODES: tuple[ProposalMode, ...] = ("tools", "json_schema", "json")
# Statuses by which a server says it does not take a part of the request (tools, a schema).
_UNSUPPORTED = frozenset({400, 404, 415, 422, 501})
# A proposal is a few steps of JSON; a model that keeps generating past this is rambling (a
# small one under a JSON grammar can fill a string forever), and would only hit the timeout.
MAX_PROPOSAL_TOKENS = 512


class ModelUnavailable(Exception):
    """The model did not answer usably: timeout, connection refused, a 5xx, or a body that is
    no chat completion. The message names the kind, never the key."""


class ChatClient:
    """Asks one model for `propose_plan` arguments, as text."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: SecretStr | None,
        timeout_s: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.model = model
        self.mode: ProposalMode = "tools"
        headers = {"Content-Type": "application/json"}
        if api_key is not None and api_key.get_secret_value():
            headers["Authorization"] = f"Bearer {api_key.get_secret_value()}"
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/",
            headers=headers,
            timeout=timeout_s,
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def propose(self, messages: list[dict[str, Any]]) -> str:
        """The raw JSON arguments the model gave; ModelUnavailable when it gave none."""
        for mode in _MODES[_MODES.index(self.mode) :]:
            response = await self._post(self._body(messages, mode))
            if response.status_code in _UNSUPPORTED and mode != "json":
                logger.info("model server refused %s mode (%s); trying the next", mode, response)
                continue
            if response.status_code != 200:
                raise ModelUnavailable(f"the model server answered HTTP {response.status_code}")
            self.mode = mode
            return _arguments(response)
        raise ModelUnavailable("the model server refused every request shape")

    async def _post(self, body: dict[str, Any]) -> httpx.Response:
        try:
            return await self._http.post("chat/completions", json=body)
        except httpx.TimeoutException:
            raise ModelUnavailable("the model did not answer in time") from None
        except httpx.HTTPError as exc:
            raise ModelUnavailable(
                f"the model server cannot be reached ({type(exc).__name__})"
            ) from None

    def _body(self, messages: list[dict[str, Any]], mode: ProposalMode) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": 0,
            "max_tokens": MAX_PROPOSAL_TOKENS,
        }
        schema = parameters_schema()
        if mode == "tools":
            body["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": TOOL_NAME,
                        "description": "Propose a plan of catalog tools, or ask a question.",
                        "parameters": schema,
                    },
                }
            ]
            body["tool_choice"] = {"type": "function", "function": {"name": TOOL_NAME}}
        elif mode == "json_schema":
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": TOOL_NAME, "schema": schema, "strict": True},
            }
        if mode != "tools":
            messages[0] = {**messages[0], "content": messages[0]["content"] + _JSON_ONLY_HINT}
            body["messages"] = messages
        return body


_JSON_ONLY_HINT = "\nReply with the JSON object of propose_plan's arguments and nothing else."


def _arguments(response: httpx.Response) -> str:
    """The tool call's arguments, else the message's content (JSON modes)."""
    try:
        message = response.json()["choices"][0]["message"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise ModelUnavailable("the model server's answer is not a chat completion") from None
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        if function.get("name") == TOOL_NAME:
            arguments = function.get("arguments")
            return arguments if isinstance(arguments, str) else json.dumps(arguments)
    content = message.get("content")
    return _strip_fence(content) if isinstance(content, str) else ""


def _strip_fence(text: str) -> str:
    """Models often wrap JSON in a ``` fence; the JSON inside is what counts."""
    text = text.strip()
    if text.startswith("```"):
        text = text.strip("`")
        text = text[text.find("{") :] if "{" in text else text
    return text
