"""Message ids that name their conversation: `<conversation id>.<random hex>`.

A store partitioned by conversation (Cosmos DB) finds such a message from its id alone, and
the id is unique within its conversation's partition, so no separate claim on the id is
written. Ids of other shapes (deterministic ones, which must stay unique across the
conversations a retry may land in, and every id stored before this scheme) contain no dot and
keep their claim.
"""

from __future__ import annotations

import uuid


def new_message_id(conversation_id: str) -> str:
    """A fresh message id of the conversation."""
    return f"{conversation_id}.{uuid.uuid4().hex}"


def conversation_named_by(message_id: str) -> str | None:
    """The conversation a message id names (the part before its last dot), or None for an
    id of another shape."""
    conversation_id, dot, suffix = message_id.rpartition(".")
    return conversation_id if dot and conversation_id and suffix else None
