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
from tests.contract import test_conversation_search as contract
from tests.contract.builders import message
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
