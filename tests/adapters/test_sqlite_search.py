"""The SQLite search's two ways of asking FTS5 for a word (shared/adapters/sqlite/search.py):
from its matches when it is rare, per conversation when it is common. The contract suite's
words are all rare; here every word is treated as common, and the same searches find the same
conversations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from shared.adapters.sqlite import search
from shared.ports import Store
from tests.adapters.migrating import opened_before, opened_now, write_item_as_before
from tests.contract import test_conversation_search as contract
from tests.contract.builders import T0, agent, item, message
from tests.contract.conftest import sqlite_store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with sqlite_store(tmp_path) as opened:
        yield opened


@pytest.fixture(params=[0, search.SELECTIVE], ids=["every-word-common", "as-configured"])
def selective(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "SELECTIVE", request.param)


async def test_words_match_whole_words_either_way(store: Store, selective: None) -> None:
    await contract.test_words_of_messages_find_their_conversation_whole_word_and_accents_aside(
        store
    )


async def test_notes_are_searched_only_when_asked_either_way(store: Store, selective: None) -> None:
    await contract.test_internal_notes_are_searched_only_when_asked(store)


async def test_a_words_matches_stay_in_their_conversation(store: Store, selective: None) -> None:
    """Rowid ranges: a conversation's neighbour's messages never count as its own."""
    first = await contract.opened(store, "+14155550101", days=0)
    second = await contract.opened(store, "+14155550102", days=0)
    for n in range(3):
        await store.append_message(message(first.id, f"alpha {n}"))
    await store.append_message(message(second.id, "beta"))
    assert await contract.found(store, words=("alpha",)) == [first.id]
    assert await contract.found(store, words=("beta",)) == [second.id]
    assert await contract.found(store, words=("alpha", "beta")) == []


async def test_the_migration_indexes_what_was_stored_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database from before the search migration: its customers, conversations, items and
    messages are found once it is opened by this version."""
    from shared.adapters.sqlite.store import SqliteStore
    from shared.domain.customers import Customer
    from shared.domain.search import agent_party

    old = await opened_before(tmp_path / "old.db", monkeypatch, "TABLE conversation_search")
    await old.atomic(
        lambda db: db.execute(
            "INSERT INTO customers (id, mobile_phone, doc) VALUES (?, ?, ?)",
            ("c1", "+14155550101", Customer(id="c1", display_name="Ádám Lovász").model_dump_json()),
        )
    )
    conversation = await contract.opened(SqliteStore(old), "+14155550101", days=0, customer="c1")
    store_before = SqliteStore(old)
    await store_before.append_message(message(conversation.id, "parcel missing"))
    await store_before.append_message(message(conversation.id, "call back", internal=True))
    await agent(store_before, "a9", queues=("q9",))
    await old.atomic(
        lambda db: write_item_as_before(
            db, item(conversation.id, queue="q9").given_to("a9", T0, offer_until=None)
        )
    )
    await old.close()

    store = await opened_now(tmp_path / "old.db", monkeypatch)
    try:
        assert [c.id for c in await store.list_customers(name="adam", after=None, limit=5)] == [
            "c1"
        ]
        assert await contract.found(store, words=("parcel",)) == [conversation.id]
        assert await contract.found(store, words=("call",)) == []
        assert await contract.found(store, words=("call",), include_notes=True) == [conversation.id]
        assert await contract.found(store, customer_id="c1", queue_id="q9", agent_id="a9") == [
            conversation.id
        ]
        assert await contract.found(store, visible_to=(agent_party("a9"),)) == [conversation.id]
        # And what is written from now on is indexed by the triggers.
        await store.append_message(message(conversation.id, "found it"))
        assert await contract.found(store, words=("found", "parcel")) == [conversation.id]
    finally:
        await store.close()
