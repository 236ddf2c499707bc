"""CampaignStore on Cosmos DB: templates and bulk outbound jobs."""

from __future__ import annotations

from collections.abc import Sequence

from shared.adapters.cosmos.containers import CosmosBase, load_record
from shared.adapters.cosmos.documents import (
    Doc,
    create_if_absent,
    delete_if_present,
    read_or_none,
    update,
)
from shared.adapters.cosmos.layout import document, model_json
from shared.domain.campaigns import OutboundJob, Recipient, Template


class CosmosCampaigns(CosmosBase):
    async def put_template(self, template: Template) -> None:
        await self._put_config("template", template.id, template)

    async def get_template(self, template_id: str) -> Template | None:
        return await self._get_config(Template, "template", template_id)

    async def list_templates(self, *, after: str | None, limit: int) -> Sequence[Template]:
        return await self._list_config(Template, "template", after, limit)

    async def delete_template(self, template_id: str) -> bool:
        return await delete_if_present(self._config, template_id, "template")

    async def create_outbound_job(self, job: OutboundJob) -> tuple[OutboundJob, bool]:
        if await create_if_absent(self._jobs, document(job.id, job.id, "job", job)):
            return job, True
        return load_record(OutboundJob, await self._jobs.read(job.id, job.id)), False

    async def get_outbound_job(self, job_id: str) -> OutboundJob | None:
        doc = await read_or_none(self._jobs, job_id, job_id)
        return None if doc is None else load_record(OutboundJob, doc)

    async def set_recipient(self, job_id: str, recipient: Recipient) -> OutboundJob | None:
        def with_recipient(doc: Doc) -> Doc:
            job = load_record(OutboundJob, doc)
            recipients = tuple(
                recipient if r.customer_id == recipient.customer_id else r for r in job.recipients
            )
            return {**doc, "data": model_json(job.model_copy(update={"recipients": recipients}))}

        updated = await update(self._jobs, job_id, job_id, with_recipient)
        return None if updated is None else load_record(OutboundJob, updated)
