from __future__ import annotations

import pytest

from shared.domain.conversations import DeliveryStatus as S
from shared.domain.customers import ConsentAction
from shared.domain.messaging import advance_delivery, keyword_consent


@pytest.mark.parametrize(
    ("current", "reported", "after"),
    [
        (S.QUEUED, S.SENT, S.SENT),
        (S.QUEUED, S.DELIVERED, S.DELIVERED),
        (S.SENT, S.FAILED, S.FAILED),
        (S.DELIVERED, S.SENT, None),  # a late "sent" never overwrites "delivered"
        (S.DELIVERED, S.FAILED, None),  # final stays final
        (S.FAILED, S.DELIVERED, None),
        (S.SENT, S.SENT, None),  # a retried report changes nothing
        (S.SENT, S.QUEUED, None),
        (S.QUEUED, S.RECEIVED, None),  # an inbound message's status never applies to ours
        (None, S.SENT, None),  # internal notes have no delivery
    ],
)
def test_delivery_status_only_moves_forward(
    current: S | None, reported: S, after: S | None
) -> None:
    assert advance_delivery(current, reported) == after


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("STOP", ConsentAction.OPT_OUT),
        (" stop ", ConsentAction.OPT_OUT),
        ("Unsubscribe.", ConsentAction.OPT_OUT),
        ("START", ConsentAction.OPT_IN),
        ("help", ConsentAction.HELP),
        ("please stop texting me", None),
        ("", None),
    ],
)
def test_only_a_bare_keyword_is_a_consent_action(text: str, action: ConsentAction | None) -> None:
    assert keyword_consent(text) == action
