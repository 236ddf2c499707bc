"""The Store on Azure Cosmos DB (NoSQL API), with the async SDK: one class per port over one
database's containers, assembled here, and the code that opens it.

Layout (containers, partition keys, ids, indexes): shared/adapters/cosmos/layout.py and
docs/cosmos.md. Three patterns carry the port's guarantees without multi-partition
transactions:

- Claims: uniqueness is a document with a deterministic id, created if absent; 409 means the
  key is taken (an open conversation per channel and number, a provider message id, a message
  id, a channel's number). A claim carries a snapshot of what it was taken for, so whoever
  finds a claim whose record is not written yet (its writer is in flight or died) writes that
  record itself; writes of one record are idempotent (same id, same partition: 409 = done).
- ETags: a read-modify-write replaces only the version it read (412 -> read again, retry).
- Assignment touches two partitions (the agent's held capacity, then the item): the hold is
  taken first under the agent's ETag, the item is then taken under its own ETag, a lost race
  releases the hold (compensation), and `reconcile_capacity` recomputes every agent's holds
  from the items, so a crash between the two writes heals.
"""

from __future__ import annotations

from datetime import timedelta

from azure.cosmos import PartitionKey
from azure.cosmos.aio import CosmosClient, DatabaseProxy
from azure.identity.aio import DefaultAzureCredential

from shared.adapters.cosmos import layout
from shared.adapters.cosmos.agent_states import CosmosAgentStates
from shared.adapters.cosmos.campaigns import CosmosCampaigns
from shared.adapters.cosmos.channels import CosmosChannels
from shared.adapters.cosmos.collaboration import CosmosCollaboration
from shared.adapters.cosmos.containers import HOLD_GRACE
from shared.adapters.cosmos.conversations import CosmosConversations
from shared.adapters.cosmos.customers import CosmosCustomers
from shared.adapters.cosmos.figures import CosmosFigures
from shared.adapters.cosmos.outbox import CosmosOutbox
from shared.adapters.cosmos.outcomes import CosmosOutcomes
from shared.adapters.cosmos.quick_replies import CosmosQuickReplies
from shared.adapters.cosmos.read_marks import CosmosReadMarks
from shared.adapters.cosmos.routing_config import CosmosRoutingConfig
from shared.adapters.cosmos.routing_log import CosmosRoutingLog
from shared.adapters.cosmos.search import CosmosConversationSearch
from shared.adapters.cosmos.settings import CosmosSettings
from shared.adapters.cosmos.work_items import CosmosWorkItems
from shared.settings import Settings


class CosmosStore(
    CosmosAgentStates,
    CosmosCampaigns,
    CosmosChannels,
    CosmosCollaboration,
    CosmosConversations,
    CosmosConversationSearch,
    CosmosCustomers,
    CosmosFigures,
    CosmosOutbox,
    CosmosQuickReplies,
    CosmosReadMarks,
    CosmosOutcomes,
    CosmosRoutingConfig,
    CosmosRoutingLog,
    CosmosSettings,
    CosmosWorkItems,
):
    """The whole Store port on Cosmos DB, assembled from one class per port."""


async def open_cosmos_store(
    settings: Settings, *, hold_grace: timedelta = HOLD_GRACE
) -> CosmosStore:
    """Sign in with the key (a local protocol server), which may also create the database
    and containers; or with the app's identity (Azure), where infrastructure created them."""
    credential: DefaultAzureCredential | None = None
    if settings.cosmos_key:
        client = CosmosClient(
            settings.cosmos_endpoint,
            credential=settings.cosmos_key,
            connection_verify=settings.cosmos_verify_tls,
        )
    else:
        credential = DefaultAzureCredential(
            managed_identity_client_id=settings.azure_client_id or None
        )
        client = CosmosClient(
            settings.cosmos_endpoint,
            credential=credential,
            connection_verify=settings.cosmos_verify_tls,
        )
    try:
        if settings.cosmos_key:
            database = await create_containers(client, settings.cosmos_database)
        else:
            database = client.get_database_client(settings.cosmos_database)
    except BaseException:
        await client.close()
        if credential is not None:
            await credential.close()
        raise
    return CosmosStore(client, database, credential=credential, hold_grace=hold_grace)


async def create_containers(client: CosmosClient, database_name: str) -> DatabaseProxy:
    """The database and every container of the layout, created where absent."""
    database = await client.create_database_if_not_exists(database_name)
    for spec in layout.CONTAINERS:
        await database.create_container_if_not_exists(
            spec.name,
            partition_key=PartitionKey(path=layout.PARTITION_KEY_PATH),
            indexing_policy=spec.indexing_policy(),
            unique_key_policy=spec.unique_key_policy(),
            default_ttl=spec.default_ttl,
        )
    return database
