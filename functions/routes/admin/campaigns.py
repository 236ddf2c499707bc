"""Message templates and bulk outbound SMS."""

from __future__ import annotations

from fastapi import Response, status

from functions.dependencies import PageSize, Services
from functions.problems import problem_responses
from functions.routes.admin import admin_router
from shared.domain.campaigns import Template
from shared.services.campaigns import BulkOutboundRequest, JobProgress, TemplateInput
from shared.services.listing import Page

router = admin_router("campaigns")


@router.get("/templates")
async def list_templates(
    services: Services, cursor: str | None = None, limit: PageSize = 100
) -> Page[Template]:
    return await services.campaigns.list_templates(after=cursor, limit=limit)


@router.get("/templates/{template_id}", responses=problem_responses(404))
async def get_template(template_id: str, services: Services) -> Template:
    return await services.campaigns.get_template(template_id)


@router.put("/templates/{template_id}")
async def put_template(template_id: str, given: TemplateInput, services: Services) -> Template:
    return await services.campaigns.put_template(template_id, given)


@router.delete(
    "/templates/{template_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404),
)
async def delete_template(template_id: str, services: Services) -> Response:
    await services.campaigns.delete_template(template_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


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
