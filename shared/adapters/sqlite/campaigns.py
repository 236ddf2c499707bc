"""CampaignStore on SQLite: templates and bulk outbound jobs."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from shared.adapters.sqlite.tables import SqliteBase, doc_json, read_doc
from shared.domain.campaigns import OutboundJob, Recipient, Template


class SqliteCampaigns(SqliteBase):
    async def put_template(self, template: Template) -> None:
        await self._put_doc("templates", template.id, template)

    async def get_template(self, template_id: str) -> Template | None:
        return await self._get(Template, "templates", template_id)

    async def list_templates(self, *, after: str | None, limit: int) -> Sequence[Template]:
        return await self._list_docs(Template, "templates", after, limit)

    async def delete_template(self, template_id: str) -> bool:
        return await self._delete("templates", template_id)

    async def create_outbound_job(self, job: OutboundJob) -> tuple[OutboundJob, bool]:
        def create(db: sqlite3.Connection) -> tuple[OutboundJob, bool]:
            existing = read_doc(db, OutboundJob, "outbound_jobs", job.id)
            if existing is not None:
                return existing, False
            db.execute("INSERT INTO outbound_jobs (id, doc) VALUES (?, ?)", (job.id, doc_json(job)))
            return job, True

        return await self._db.atomic(create)

    async def get_outbound_job(self, job_id: str) -> OutboundJob | None:
        return await self._get(OutboundJob, "outbound_jobs", job_id)

    async def set_recipient(self, job_id: str, recipient: Recipient) -> OutboundJob | None:
        def update(db: sqlite3.Connection) -> OutboundJob | None:
            job = read_doc(db, OutboundJob, "outbound_jobs", job_id)
            if job is None:
                return None
            changed = job.model_copy(
                update={
                    "recipients": tuple(
                        recipient if r.customer_id == recipient.customer_id else r
                        for r in job.recipients
                    )
                }
            )
            db.execute("UPDATE outbound_jobs SET doc = ? WHERE id = ?", (doc_json(changed), job_id))
            return changed

        return await self._db.atomic(update)
