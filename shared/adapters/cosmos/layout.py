"""Where every record lives in Azure Cosmos DB: containers, partition keys, ids, indexes, TTLs.

The one definition of the containers: the adapter creates them from here when it signs in with
a key (the local protocol server); for Azure, where data-plane RBAC cannot create containers,
infra/cosmos-containers.json declares the same (a test keeps the two equal) and docs/cosmos.md
explains them.

Every container is partitioned on `/pk`, and every document has the shape
`{"id", "pk", "type", "data": <the pydantic model as JSON>, ...fields queries need}`, so a
record round-trips exactly and only the fields a query filters or sorts on are indexed.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from shared.domain.channels import ChannelKind

PARTITION_KEY_PATH = "/pk"

PROVIDER_MESSAGE_TTL_SECONDS = 30 * 24 * 3600
"""Provider ids are dedupe keys: providers retry for hours and report delivery within ~72 h."""

SENT_SMS_TTL_SECONDS = 7 * 24 * 3600
"""The sandbox outbox is for a person or a test to look at, not a record to keep."""


class ContainerSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    indexed_paths: tuple[str, ...]
    """Paths queries filter or sort on; nothing else is indexed (the `data` blob least of all),
    which keeps writes cheap. Cosmos DB always indexes `id` and `_ts`."""
    composite_indexes: tuple[tuple[tuple[str, str], ...], ...] = ()
    """ORDER BY on several properties needs one, as (path, "ascending"|"descending") pairs."""
    unique_keys: tuple[str, ...] = ()
    default_ttl: int | None = None
    """None: TTL off; -1: on, but only documents with their own `ttl` expire."""

    def indexing_policy(self) -> dict[str, Any]:
        return {
            "indexingMode": "consistent",
            "automatic": True,
            "includedPaths": [{"path": f"{path}/?"} for path in self.indexed_paths],
            "excludedPaths": [{"path": "/*"}, {"path": '/"_etag"/?'}],
            "compositeIndexes": [
                [{"path": path, "order": order} for path, order in index]
                for index in self.composite_indexes
            ],
        }

    def unique_key_policy(self) -> dict[str, Any] | None:
        if not self.unique_keys:
            return None
        return {"uniqueKeys": [{"paths": [path]} for path in self.unique_keys]}

    def resource(self) -> dict[str, Any]:
        """The container as Azure Resource Manager declares it (the `resource` of
        Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers): what infra/ creates."""
        resource: dict[str, Any] = {
            "id": self.name,
            "partitionKey": {"paths": [PARTITION_KEY_PATH], "kind": "Hash"},
            "indexingPolicy": self.indexing_policy(),
        }
        unique_keys = self.unique_key_policy()
        if unique_keys is not None:
            resource["uniqueKeyPolicy"] = unique_keys
        if self.default_ttl is not None:
            resource["defaultTtl"] = self.default_ttl
        return resource


# Configuration an admin edits: small, read on every ingest by point reads.
# pk = the record type ("channel", "workstream", "queue", "rule", "template", "quick_reply"),
# id = record id. /search: a quick reply's folded title and text, which agents search.
CONFIG = ContainerSpec(
    name="config",
    indexed_paths=("/pk", "/workstream_id", "/rule_order", "/search"),
    composite_indexes=((("/rule_order", "ascending"), ("/id", "ascending")),),
)

# Deterministic keys: uniqueness claims and id -> partition pointers. pk = id = the key
# (one logical partition per key, found by a point read), except customer-email keys, which
# hold one document per customer (id = customer id). Creating a key that exists answers 409:
# already done.
LOOKUPS = ContainerSpec(name="lookups", indexed_paths=("/pk",), default_ttl=-1)

# One partition per customer: pk = id = customer id. Point reads, and the admin's and agents'
# listing and name search: a query across partitions on the indexed name key (off the hot
# path; docs/cosmos.md).
CUSTOMERS = ContainerSpec(name="customers", indexed_paths=("/name_key", "/merged"))

# One partition per conversation: the conversation document (seq 0) and its messages (seq 1..),
# so listing a conversation is one single-partition query and the next number is unique.
CONVERSATIONS = ContainerSpec(
    name="conversations",
    # /data/status: the supervisor's list of open conversations; /data/customer_id: a
    # customer's conversations in history.
    indexed_paths=("/pk", "/type", "/seq", "/internal", "/data/status", "/data/customer_id"),
    unique_keys=("/seq",),
)

# Routing state. pk "agents": every agent with its live state (presence, held capacity), so a
# queue's members are one single-partition query; pk "queue:<id>": that queue's work items, so
# its backlog is one single-partition query in priority then arrival order.
WORK = ContainerSpec(
    name="work",
    indexed_paths=(
        "/pk",
        "/type",
        "/status",
        "/queue_ids/[]",
        "/priority",
        "/enqueued_at",
        "/closed_at",  # the aggregates timer reads a day's items per queue
    ),
    composite_indexes=(
        (("/priority", "descending"), ("/enqueued_at", "ascending"), ("/id", "ascending")),
    ),
)

# Bulk SMS jobs: pk = id = job id. Point reads only.
JOBS = ContainerSpec(name="jobs", indexed_paths=())

# The sandbox sender's outbox: one partition ("sent-sms"), newest first, expiring.
OUTBOX = ContainerSpec(
    name="outbox",
    indexed_paths=("/pk", "/sent_at"),
    composite_indexes=((("/sent_at", "descending"), ("/id", "ascending")),),
    default_ttl=SENT_SMS_TTL_SECONDS,
)

# Conversation search (shared/domain/search.py): one projection document per conversation
# (id = conversation id) in the partition of its opening day, pk = "day:<yyyy-mm-dd>" (UTC):
# customer, address, channel, status, opening instant, every queue and agent its work had and
# the words of its messages (notes' apart). A search reads one partition per day of its range,
# newest first, on these indexes: never a scan across conversations.
SEARCH = ContainerSpec(
    name="search",
    indexed_paths=(
        "/pk",
        "/opened_ms",
        "/customer_id",
        "/customer_address",
        "/channel",
        "/status",
        "/queue_ids/[]",
        "/agent_ids/[]",
        "/words/[]",
        "/note_words/[]",
    ),
    composite_indexes=((("/opened_ms", "descending"), ("/id", "descending")),),
)

CONTAINERS = (CONFIG, LOOKUPS, CUSTOMERS, CONVERSATIONS, WORK, JOBS, OUTBOX, SEARCH)

AGENTS_PARTITION = "agents"
PRESENCE_SETTINGS_PARTITION = "presence-settings"
"""config: the admin's presence policy and custom presences, one document."""
SENTIMENT_SETTINGS_PARTITION = "sentiment-settings"
"""config: the admin's sentiment switch, one document."""
SENT_SMS_PARTITION = "sent-sms"


# --- keys ---------------------------------------------------------------------------------------


def channel_address_key(kind: ChannelKind, address: str) -> str:
    return f"channel-address:{kind}:{address}"


def open_conversation_key(channel_id: str, customer_address: str) -> str:
    return f"open-conversation:{channel_id}:{customer_address}"


def message_key(message_id: str) -> str:
    return f"message:{message_id}"


def provider_message_key(provider_message_id: str) -> str:
    return f"provider-message:{provider_message_id}"


def work_item_key(item_id: str) -> str:
    return f"work-item:{item_id}"


def customer_phone_key(e164: str) -> str:
    """One document (id = pk = the key) listing the customers with that number."""
    return f"customer-phone:{e164}"


def customer_email_key(email: str) -> str:
    """One document per customer with that (lower-cased) email (id = customer id)."""
    return f"customer-email:{email.lower()}"


def search_day_key(day: date) -> str:
    """The partition of `search` holding the conversations opened that day (UTC)."""
    return f"day:{day.isoformat()}"


def typing_key(conversation_id: str) -> str:
    """The partition of `lookups` holding who types in a conversation (id = the party)."""
    return f"typing:{conversation_id}"


def customer_read_key(conversation_id: str) -> str:
    """The document (and partition) of `lookups` holding when the customer last read the
    conversation."""
    return f"customer-read:{conversation_id}"


TYPING_TTL_SECONDS = 60
"""Typing records are read against their own `until`; the TTL only clears them away."""


def sms_consent_key(address: str) -> str:
    return f"sms-consent:{address}"


def queue_partition(queue_id: str) -> str:
    return f"queue:{queue_id}"


OPEN_ITEM_POINTER_ID = "open-item"
"""In each conversation's partition of `conversations`: `open_item`, the pointer to its
unclosed work item (with a copy to create the item from), and `last_item`. Its own small
document, so setting the pointer is a create (~5 RU) rather than a patch of the conversation
(~11 RU: a patch deletes and inserts the whole document)."""

OPEN_ITEM_POINTER_SEQ = -1
"""Its `seq` (the partition's unique key): the conversation is 0, its messages 1.."""

ROUND_ROBIN_CURSOR_ID = "round-robin-cursor"
"""In each queue's partition of `work`: the agent the queue assigned last."""

ROUTING_DECISION_TTL_SECONDS = 90 * 24 * 3600
"""Routing diagnostics answer "why did this go there" for recent conversations."""


def day_figures_key(day: date) -> str:
    """The partition of `lookups` holding one day's figures, one document per queue and per
    agent (id = "<scope>:<key>"): the figures API reads a day in one single-partition query."""
    return f"day-figures:{day.isoformat()}"


FIGURES_WATERMARK_KEY = "figures-watermark"


def presence_spans_key(day: date) -> str:
    """The partition of `lookups` holding one day's presence-span pieces (id = the span's):
    the aggregates timer reads a day's in one single-partition query."""
    return f"presence-spans:{day.isoformat()}"


"""In `lookups`: the first day the aggregates timer has not finalized yet."""


def csat_answers_key(day: date) -> str:
    """The partition of `lookups` holding the CSAT answers of one UTC day (id = the
    conversation's): the figures' fold reads a day's in one or two single-partition queries."""
    return f"csat-answers:{day.isoformat()}"


def routing_decisions_key(conversation_id: str) -> str:
    """The partition of `lookups` holding one conversation's routing decisions."""
    return f"routing-decisions:{conversation_id}"


# --- documents ----------------------------------------------------------------------------------


def document(
    doc_id: str, pk: str, doc_type: str, model: BaseModel | None = None, **fields: Any
) -> dict[str, Any]:
    """A document: its key, its type, the model's JSON under `data`, and query fields."""
    body: dict[str, Any] = {"id": doc_id, "pk": pk, "type": doc_type, **fields}
    if model is not None:
        body["data"] = model_json(model)
    return body


def model_json(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True)


def stored_fields(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The document as written: without the system properties (_etag, _ts, ...) a read adds."""
    return {key: value for key, value in doc.items() if not key.startswith("_")}


def epoch_micros(moment: datetime) -> int:
    """A sortable instant: ISO strings with different offsets do not sort by time."""
    return round(moment.timestamp() * 1_000_000)
