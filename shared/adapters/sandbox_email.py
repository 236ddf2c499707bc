"""The sandbox email sender: sends nothing, keeps the latest emails it would have sent in
memory (the local runtime is one process), visible at `GET /api/sandbox/email`."""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Sequence

from shared.domain.outcomes import Email, SentEmail
from shared.ports import Clock

KEPT = 200


class SandboxEmailSender:
    def __init__(self, clock: Clock, *, kept: int = KEPT) -> None:
        self._clock = clock
        self._sent: deque[SentEmail] = deque(maxlen=kept)

    async def send(self, email: Email) -> str:
        operation_id = "SB" + hashlib.sha256(email.key.encode()).hexdigest()[:32]
        self._sent.append(
            SentEmail(**email.model_dump(), operation_id=operation_id, sent_at=self._clock.now())
        )
        return operation_id

    def sent(self, *, limit: int) -> Sequence[SentEmail]:
        """Newest first."""
        return list(reversed(self._sent))[:limit]
