"""Quick replies an admin writes for agents, per workstream and locale."""

from __future__ import annotations

from functions.routes.admin import Resource, admin_router, resource_routes
from shared.domain.quick_replies import QuickReply
from shared.services.quick_replies import QuickReplyInput

router = admin_router("quick replies")
resource_routes(
    router,
    Resource(
        name="quick_reply",
        plural="quick-replies",
        body=QuickReplyInput,
        view=QuickReply,
        list=lambda services: services.quick_replies.list_replies,
        get=lambda services: services.quick_replies.get_reply,
        put=lambda services: services.quick_replies.put_reply,
        delete=lambda services: services.quick_replies.delete_reply,
        put_problems=((422, "A placeholder the text may not use, or no such workstream"),),
    ),
)
