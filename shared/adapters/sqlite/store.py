"""The embedded store: every SQLite port over one database, one transaction per call."""

from __future__ import annotations

from shared.adapters.sqlite.agent_states import SqliteAgentStates
from shared.adapters.sqlite.campaigns import SqliteCampaigns
from shared.adapters.sqlite.channels import SqliteChannels
from shared.adapters.sqlite.collaboration import SqliteCollaboration
from shared.adapters.sqlite.conversations import SqliteConversations
from shared.adapters.sqlite.customers import SqliteCustomers
from shared.adapters.sqlite.figures import SqliteFigures
from shared.adapters.sqlite.outbox import SqliteOutbox
from shared.adapters.sqlite.outcomes import SqliteOutcomes
from shared.adapters.sqlite.quick_replies import SqliteQuickReplies
from shared.adapters.sqlite.read_marks import SqliteReadMarks
from shared.adapters.sqlite.routing_config import SqliteRoutingConfig
from shared.adapters.sqlite.routing_log import SqliteRoutingLog
from shared.adapters.sqlite.search import SqliteConversationSearch
from shared.adapters.sqlite.settings import SqliteSettings
from shared.adapters.sqlite.work_items import SqliteWorkItems


class SqliteStore(
    SqliteAgentStates,
    SqliteCampaigns,
    SqliteChannels,
    SqliteCollaboration,
    SqliteConversations,
    SqliteConversationSearch,
    SqliteCustomers,
    SqliteFigures,
    SqliteOutbox,
    SqliteQuickReplies,
    SqliteReadMarks,
    SqliteOutcomes,
    SqliteRoutingConfig,
    SqliteRoutingLog,
    SqliteSettings,
    SqliteWorkItems,
):
    """The whole Store port on one SQLite database, assembled from one class per port."""
