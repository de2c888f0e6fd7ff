"""Links: CRUD and the upsert on every backend; on SQL, that they survive a restart, and ping."""

from __future__ import annotations

import dataclasses
from datetime import UTC
from pathlib import Path

import pytest

from bot.core.records import Link, LinkMethod
from bot.core.storage import Storage
from bot.store import Database, open_database
from bot.store.engine import create_engine

ADMIN, SELF, EMAIL = LinkMethod.ADMIN, LinkMethod.SELF_VERIFIED, LinkMethod.EMAIL_MATCH


async def test_a_user_without_a_link_has_none(storage: Storage) -> None:
    assert await storage.links.get("T1", "U1") is None
    assert await storage.links.delete("T1", "U1") is None
    assert await storage.links.for_tencent_user("alice") == []


async def test_save_then_get_returns_the_same_link(storage: Storage) -> None:
    saved = await storage.links.save("T1", "U1", "alice", method=SELF, linked_by="U1")

    assert saved.tencent_userid == "alice"
    assert saved.method is LinkMethod.SELF_VERIFIED
    assert saved.linked_by == "U1"
    assert saved.created_at == saved.updated_at
    assert saved.created_at.tzinfo == UTC
    assert await storage.links.get("T1", "U1") == saved


async def test_saving_again_replaces_the_link_and_keeps_created_at(storage: Storage) -> None:
    first = await storage.links.save("T1", "U1", "alice", method=EMAIL, linked_by="U1")
    second = await storage.links.save("T1", "U1", "bob", method=ADMIN, linked_by="UADMIN")

    assert (second.tencent_userid, second.method, second.linked_by) == ("bob", ADMIN, "UADMIN")
    assert second.created_at == first.created_at
    assert second.updated_at >= first.updated_at
    assert await storage.links.get("T1", "U1") == second
    assert await storage.links.for_tencent_user("alice") == []


async def test_links_are_per_team(storage: Storage) -> None:
    await storage.links.save("T1", "U1", "alice", method=ADMIN, linked_by="UADMIN")
    await storage.links.save("T2", "U1", "bob", method=ADMIN, linked_by="UADMIN")

    one, two = await storage.links.get("T1", "U1"), await storage.links.get("T2", "U1")
    assert one is not None and one.tencent_userid == "alice"
    assert two is not None and two.tencent_userid == "bob"


async def test_delete_returns_what_was_removed(storage: Storage) -> None:
    saved = await storage.links.save("T1", "U1", "alice", method=ADMIN, linked_by="UADMIN")

    assert await storage.links.delete("T1", "U1") == saved
    assert await storage.links.get("T1", "U1") is None
    assert await storage.links.delete("T1", "U1") is None


async def test_links_for_tencent_user_finds_every_slack_account(storage: Storage) -> None:
    a = await storage.links.save("T1", "U2", "alice", method=ADMIN, linked_by="UADMIN")
    b = await storage.links.save("T1", "U1", "alice", method=SELF, linked_by="U1")
    await storage.links.save("T1", "U3", "bob", method=EMAIL, linked_by="U3")
    c = await storage.links.save("T0", "U9", "alice", method=ADMIN, linked_by="UADMIN")

    assert await storage.links.for_tencent_user("alice") == [c, b, a]


async def test_links_are_frozen_snapshots(storage: Storage) -> None:
    saved = await storage.links.save("T1", "U1", "alice", method=ADMIN, linked_by="UADMIN")
    await storage.links.save("T1", "U1", "bob", method=ADMIN, linked_by="UADMIN")

    assert isinstance(saved, Link)
    assert saved.tencent_userid == "alice"
    with pytest.raises(dataclasses.FrozenInstanceError):
        saved.tencent_userid = "mallory"  # type: ignore[misc]


async def test_a_new_database_on_the_same_url_keeps_every_link(database_url: str) -> None:
    first = await open_database(database_url)
    saved = [
        await first.storage.links.save("T1", f"U{i}", f"user{i}", method=ADMIN, linked_by="UA")
        for i in range(20)
    ]
    await first.close()

    restarted = await open_database(database_url)
    try:
        assert [await restarted.storage.links.get("T1", f"U{i}") for i in range(20)] == saved
    finally:
        await restarted.close()


async def test_ping_answers_while_the_database_is_usable(database: Database) -> None:
    assert await database.ping() is True


async def test_ping_is_false_when_the_database_is_unusable(tmp_path: Path) -> None:
    unusable = Database(create_engine(f"sqlite+aiosqlite:///{tmp_path / 'no-such-dir' / 'x.db'}"))
    try:
        assert await unusable.ping() is False
    finally:
        await unusable.close()
