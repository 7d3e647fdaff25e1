"""`LlmBrain`: asks a model for a proposal, validates it (once more with the error when it is
invalid), and makes it a decision the stages after it ground; when the model cannot be used
it hands the request to the rules brain, or fails closed, by setting."""

from __future__ import annotations

import logging
from typing import Any, Literal

from opsconductor.brain.base import Brain, BrainRequest
from opsconductor.brain.llm import grounding, prompt
from opsconductor.brain.llm.breaker import CircuitBreaker
from opsconductor.brain.llm.client import ChatClient, ModelUnavailable
from opsconductor.brain.llm.proposal import TOOL_NAME, InvalidProposal, Proposal, parse_proposal
from opsconductor.catalog.loader import Catalog
from opsconductor.config import Settings
from opsconductor.errors import BrainUnavailable, ConfigurationError
from opsconductor.schemas.decision import DecisionV1, ModelProposal

logger = logging.getLogger(__name__)

MAX_KEPT_PROPOSAL = 4000  # characters of the raw proposal kept for the audit trail


class LlmBrain:
    """A model proposes; the catalog, the inventory and the approval rules decide."""

    def __init__(
        self,
        catalog: Catalog,
        client: ChatClient,
        fallback: Brain,
        *,
        on_failure: Literal["rules", "fail"] = "rules",
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self.catalog = catalog
        self.client = client
        self.fallback = fallback
        self.on_failure = on_failure
        self.breaker = breaker or CircuitBreaker()

    async def understand(self, request: BrainRequest) -> DecisionV1:
        if not self.breaker.allows():
            return await self._fall_back(request, "the model failed repeatedly and is skipped")
        raw = ""
        try:
            proposal, raw = await self._ask(request)
        except ModelUnavailable as exc:
            self.breaker.failed()
            return await self._fall_back(request, str(exc))
        except InvalidProposal as exc:
            self.breaker.failed()
            return await self._fall_back(request, f"its proposal was invalid twice ({exc})", raw)
        self.breaker.succeeded()
        return grounding.decide(request, proposal, self.catalog, self._note(raw, used=True))

    async def aclose(self) -> None:
        await self.client.aclose()

    async def _ask(self, request: BrainRequest) -> tuple[Proposal, str]:
        """The validated proposal and the raw text it came from; one retry that shows the
        model its validation error."""
        messages: list[dict[str, Any]] = prompt.messages(request, self.catalog)
        raw = await self.client.propose(messages)
        try:
            return parse_proposal(raw), raw
        except InvalidProposal as first:
            logger.info("model proposal invalid (%s); asking once more", first)
            messages += [
                {"role": "assistant", "content": raw[:MAX_KEPT_PROPOSAL]},
                {
                    "role": "user",
                    "content": f"Those {TOOL_NAME} arguments are invalid: {first}. "
                    f"Call {TOOL_NAME} again with valid arguments.",
                },
            ]
        raw = await self.client.propose(messages)
        return parse_proposal(raw), raw

    async def _fall_back(self, request: BrainRequest, why: str, raw: str = "") -> DecisionV1:
        logger.warning("LLM brain not used for request %s: %s", request.request_id, why)
        if self.on_failure == "fail":
            raise BrainUnavailable(
                f"The language model could not be used ({why}), and OPSCONDUCTOR_LLM_FALLBACK "
                "is 'fail': nothing was planned or run."
            )
        decision = await self.fallback.understand(request)
        reasons = [f"the model could not be used ({why}): read by the rules", *decision.reasons]
        note = self._note(raw, used=False)
        return decision.model_copy(update={"reasons": reasons, "proposed_by": note})

    def _note(self, raw: str, *, used: bool) -> ModelProposal:
        return ModelProposal(
            model=self.client.model,
            prompt_version=prompt.PROMPT_VERSION,
            proposal=raw[:MAX_KEPT_PROPOSAL],
            used=used,
        )


def llm_brain_from_settings(settings: Settings, catalog: Catalog, fallback: Brain) -> LlmBrain:
    """The LLM brain the settings describe; ConfigurationError when they cannot work."""
    if not settings.llm_base_url or not settings.llm_model:
        raise ConfigurationError(
            "OPSCONDUCTOR_BRAIN=llm needs OPSCONDUCTOR_LLM_BASE_URL (an OpenAI-compatible /v1) "
            "and OPSCONDUCTOR_LLM_MODEL"
        )
    if not settings.llm_base_url.startswith(("http://", "https://")):
        raise ConfigurationError("OPSCONDUCTOR_LLM_BASE_URL must start with http:// or https://")
    client = ChatClient(
        settings.llm_base_url, settings.llm_model, settings.llm_api_key, settings.llm_timeout_s
    )
    return LlmBrain(catalog, client, fallback, on_failure=settings.llm_fallback)
