"""The BotClient port over HTTP: one signed JSON POST per customer message (docs/bots.md)."""

from __future__ import annotations

import httpx
from pydantic import ValidationError

from shared.domain.bots import (
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    BotAnswer,
    BotRequest,
    signature,
)
from shared.domain.routing_config import BotConfig
from shared.ports import BotFailed

# Throttled or failing on the bot's side: worth another try after a pause.
_TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class HttpBotClient:
    def __init__(self, client: httpx.AsyncClient | None = None) -> None:
        # One pooled client for every bot: connections are reused across calls.
        self._client = client or httpx.AsyncClient(follow_redirects=False)

    async def close(self) -> None:
        await self._client.aclose()

    async def converse(self, bot: BotConfig, request: BotRequest) -> BotAnswer:
        if not bot.secret:
            raise BotFailed(f"bot {bot.id} has no signing secret", permanent=True)
        body = request.model_dump_json().encode()
        try:
            response = await self._client.post(
                bot.endpoint,
                content=body,
                headers={
                    "Content-Type": "application/json",
                    SIGNATURE_HEADER: signature(bot.secret, body),
                    IDEMPOTENCY_HEADER: request.message.id,
                },
                timeout=bot.timeout_seconds,
            )
        except httpx.TimeoutException as exc:
            # The customer has waited the whole timeout already: a human takes over now.
            raise BotFailed(
                f"no answer within {bot.timeout_seconds:g} s ({type(exc).__name__})",
                permanent=True,
            ) from exc
        except httpx.HTTPError as exc:
            raise BotFailed(f"{type(exc).__name__}: {exc}", permanent=False) from exc
        if not response.is_success:
            raise BotFailed(
                f"the bot answered HTTP {response.status_code}",
                permanent=response.status_code not in _TRANSIENT_STATUSES,
            )
        try:
            return BotAnswer.model_validate_json(response.content)
        except ValidationError as exc:
            raise BotFailed(
                f"the bot's answer is off the contract: {exc.errors()[0]['msg']}", permanent=True
            ) from exc
