"""What every store adapter must do as a QuickReplyStore: replies kept per workstream, searched
by a piece of their title or text, ignoring case."""

from __future__ import annotations

from shared.domain.quick_replies import QuickReply
from shared.ports import Store


def reply(reply_id: str, workstream_id: str, title: str, text: str) -> QuickReply:
    return QuickReply(id=reply_id, workstream_id=workstream_id, title=title, text=text)


async def test_quick_replies_round_trip(store: Store) -> None:
    for n in range(3):
        await store.put_quick_reply(reply(f"q{n}", "ws", f"Title {n}", "Hello {customer_name}"))
    assert await store.get_quick_reply("q1") == reply(
        "q1", "ws", "Title 1", "Hello {customer_name}"
    )
    assert [r.id for r in await store.list_quick_replies(after="q0", limit=5)] == ["q1", "q2"]
    changed = reply("q1", "other", "Renamed", "Bye").model_copy(update={"locale": "fr-CA"})
    await store.put_quick_reply(changed)
    assert await store.get_quick_reply("q1") == changed
    assert await store.delete_quick_reply("q1")
    assert not await store.delete_quick_reply("q1")
    assert await store.get_quick_reply("q1") is None


async def test_search_matches_title_or_text_within_the_workstreams_ignoring_case(
    store: Store,
) -> None:
    await store.put_quick_reply(reply("a", "sales", "Opening HOURS", "We open at nine."))
    await store.put_quick_reply(reply("b", "sales", "Refunds", "Refunds take five days."))
    await store.put_quick_reply(reply("c", "support", "Hours", "Support never sleeps."))
    await store.put_quick_reply(reply("d", "billing", "Straße", "Unsere Adresse."))

    async def ids(workstreams: list[str], text: str, limit: int = 10) -> list[str]:
        found = await store.search_quick_replies(workstreams, text, limit=limit)
        return [r.id for r in found]

    assert await ids(["sales"], "hours") == ["a"]
    assert await ids(["sales", "support"], "hours") == ["a", "c"]
    assert await ids(["sales"], "FIVE DAYS") == ["b"]
    assert await ids(["sales"], "") == ["a", "b"]
    assert await ids(["sales"], "", limit=1) == ["a"]
    assert await ids(["billing"], "STRASSE") == ["d"]
    assert await ids(["support"], "refunds") == []
    assert await ids([], "hours") == []
    await store.put_quick_reply(reply("a", "support", "Opening hours", "Moved."))
    assert await ids(["sales"], "hours") == []
    assert await ids(["support"], "moved") == ["a"]
