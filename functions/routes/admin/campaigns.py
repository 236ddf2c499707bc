"""Message templates and bulk outbound SMS."""

from __future__ import annotations

from fastapi import status

from functions.dependencies import Services
from functions.problems import problem_responses
from functions.routes.admin import Resource, admin_router, resource_routes
from shared.domain.campaigns import Template
from shared.services.campaigns import BulkOutboundRequest, JobProgress, TemplateInput

router = admin_router("campaigns")
resource_routes(
    router,
    Resource(
        name="template",
        plural="templates",
        body=TemplateInput,
        view=Template,
        list=lambda services: services.campaigns.list_templates,
        get=lambda services: services.campaigns.get_template,
        put=lambda services: services.campaigns.put_template,
        delete=lambda services: services.campaigns.delete_template,
    ),
)


@router.post(
    "/outbound",
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses((404, "No such template, or SMS channel")),
)
async def start_outbound(request: BulkOutboundRequest, services: Services) -> JobProgress:
    return await services.campaigns.start(request)


@router.get("/outbound/{job_id}", responses=problem_responses(404))
async def outbound_progress(job_id: str, services: Services) -> JobProgress:
    return await services.campaigns.progress(job_id)
