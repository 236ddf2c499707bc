"""What every store adapter must do as a RoutingConfigStore: workstreams, queues, rules, agents."""

from __future__ import annotations

from shared.domain.channels import Channel, ChannelKind, TwilioAccount
from shared.domain.presence import Presence
from shared.domain.routing_config import Queue, RoutingRule, Workstream
from shared.ports import Store
from tests.contract.builders import agent


async def test_configuration_records_round_trip(store: Store) -> None:
    channel = Channel(
        id="sms-1",
        kind=ChannelKind.SMS,
        addresses=("+12025550100", "+12025550101"),
        account=TwilioAccount(account_sid="AC" + "1" * 32, auth_token="secret"),
        workstream_id="ws",
    )
    workstream = Workstream(id="ws", name="SMS", channel=ChannelKind.SMS, fallback_queue_id="q1")
    queue = Queue(id="q1", name="General")
    await store.put_channel(channel)
    await store.put_workstream(workstream)
    await store.put_queue(queue)
    assert await store.get_channel("sms-1") == channel
    assert await store.find_channel(ChannelKind.SMS, "+12025550100") == channel
    assert await store.find_channel(ChannelKind.SMS, "+12025550101") == channel
    assert await store.get_workstream("ws") == workstream
    assert await store.get_queue("q1") == queue
    assert await store.find_channel(ChannelKind.CHAT, "+12025550100") is None
    assert await store.get_queue("missing") is None


async def test_put_replaces_the_whole_record(store: Store) -> None:
    await store.put_queue(Queue(id="q1", name="Old"))
    await store.put_queue(Queue(id="q1", name="New", priority=3))
    assert await store.get_queue("q1") == Queue(id="q1", name="New", priority=3)


async def test_rules_come_back_in_order_for_their_workstream_only(store: Store) -> None:
    for order, rule_id in ((20, "second"), (10, "first")):
        await store.put_rule(
            RoutingRule(id=rule_id, workstream_id="ws", order=order, name=rule_id, queue_id="q1")
        )
    await store.put_rule(
        RoutingRule(id="other", workstream_id="ws2", order=1, name="o", queue_id="q1")
    )
    assert [r.id for r in await store.list_rules("ws")] == ["first", "second"]


async def test_agent_membership_changes_with_its_record(store: Store) -> None:
    await agent(store, "a1", queues=("q1", "q2"))
    assert [s.agent.id for s in await store.queue_agents("q2")] == ["a1"]
    await agent(store, "a1", queues=("q1",))
    assert await store.queue_agents("q2") == []
    state = await store.agent_state("a1")
    assert state is not None
    assert (state.presence, state.used_capacity) == (Presence.AVAILABLE, 0)


async def test_routing_configuration_lists_by_cursor_and_deletes(store: Store) -> None:
    for n in range(3):
        await store.put_workstream(
            Workstream(id=f"ws{n}", name="W", channel=ChannelKind.SMS, fallback_queue_id="q0")
        )
        await store.put_queue(Queue(id=f"q{n}", name="Q"))
        await store.put_rule(
            RoutingRule(id=f"r{n}", workstream_id=f"ws{n}", order=n, name="R", queue_id="q0")
        )
        await agent(store, f"a{n}", queues=("q0",))
    listings = (
        store.list_workstreams,
        store.list_queues,
        store.list_all_rules,
        store.list_agents,
    )
    for listing in listings:
        first = await listing(after=None, limit=2)
        rest = await listing(after=first[-1].id, limit=2)
        assert [r.id[-1] for r in (*first, *rest)] == ["0", "1", "2"]
    assert await store.get_rule("r1") == (await store.list_all_rules(after="r0", limit=1))[0]
    deletions = (
        (store.delete_workstream, store.list_workstreams, "ws1"),
        (store.delete_queue, store.list_queues, "q1"),
        (store.delete_rule, store.list_all_rules, "r1"),
        (store.delete_agent, store.list_agents, "a1"),
    )
    for delete, listing, record_id in deletions:
        assert await delete(record_id)
        assert not await delete(record_id)
        assert record_id not in [r.id for r in await listing(after=None, limit=10)]
    assert [s.agent.id for s in await store.queue_agents("q0")] == ["a0", "a2"]
