"""What every store adapter must do as a CampaignStore: templates and outbound jobs."""

from __future__ import annotations

from shared.domain.campaigns import OutboundJob, Recipient, RecipientState, Template
from shared.ports import Store
from tests.contract.builders import T0


async def test_templates_round_trip(store: Store) -> None:
    for n in range(3):
        await store.put_template(Template(id=f"t{n}", name=f"T{n}", body="Hi {first_name}"))
    assert await store.get_template("t1") == Template(id="t1", name="T1", body="Hi {first_name}")
    assert [t.id for t in await store.list_templates(after="t0", limit=5)] == ["t1", "t2"]
    assert await store.delete_template("t1")
    assert await store.get_template("t1") is None


async def test_outbound_jobs_are_created_once_and_track_recipients(store: Store) -> None:
    job = OutboundJob(
        id="job1",
        template_id="t1",
        channel_id="ch",
        recipients=(Recipient(customer_id="c1"), Recipient(customer_id="c2")),
        created_at=T0,
    )
    assert await store.create_outbound_job(job) == (job, True)
    assert await store.create_outbound_job(job.model_copy(update={"template_id": "other"})) == (
        job,
        False,
    )
    done = Recipient(customer_id="c2", state=RecipientState.QUEUED, message_id="m2")
    updated = await store.set_recipient("job1", done)
    assert updated is not None
    assert updated.recipients == (Recipient(customer_id="c1"), done)
    assert await store.get_outbound_job("job1") == updated
    assert await store.set_recipient("missing", done) is None
