"""Links: CRUD, the upsert, and that they survive a restart."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

from bot.store import Link, Store
from bot.store.engine import create_engine


async def test_a_user_without_a_link_has_none(store: Store) -> None:
    assert await store.get_link("T1", "U1") is None
    assert await store.delete_link("T1", "U1") is None
    assert await store.links_for_tencent_user("alice") == []


async def test_save_then_get_returns_the_same_link(store: Store) -> None:
    saved = await store.save_link("T1", "U1", "alice", method="self_verified", linked_by="U1")

    assert saved.tencent_userid == "alice"
    assert saved.method == "self_verified"
    assert saved.linked_by == "U1"
    assert saved.created_at == saved.updated_at
    assert saved.created_at.tzinfo == UTC
    assert await store.get_link("T1", "U1") == saved


async def test_saving_again_replaces_the_link_and_keeps_created_at(store: Store) -> None:
    first = await store.save_link("T1", "U1", "alice", method="email_match", linked_by="U1")
    second = await store.save_link("T1", "U1", "bob", method="admin", linked_by="UADMIN")

    assert (second.tencent_userid, second.method, second.linked_by) == ("bob", "admin", "UADMIN")
    assert second.created_at == first.created_at
    assert second.updated_at >= first.updated_at
    assert await store.get_link("T1", "U1") == second
    assert await store.links_for_tencent_user("alice") == []


async def test_links_are_per_team(store: Store) -> None:
    await store.save_link("T1", "U1", "alice", method="admin", linked_by="UADMIN")
    await store.save_link("T2", "U1", "bob", method="admin", linked_by="UADMIN")

    one, two = await store.get_link("T1", "U1"), await store.get_link("T2", "U1")
    assert one is not None and one.tencent_userid == "alice"
    assert two is not None and two.tencent_userid == "bob"


async def test_delete_returns_what_was_removed(store: Store) -> None:
    saved = await store.save_link("T1", "U1", "alice", method="admin", linked_by="UADMIN")

    assert await store.delete_link("T1", "U1") == saved
    assert await store.get_link("T1", "U1") is None
    assert await store.delete_link("T1", "U1") is None


async def test_links_for_tencent_user_finds_every_slack_account(store: Store) -> None:
    a = await store.save_link("T1", "U2", "alice", method="admin", linked_by="UADMIN")
    b = await store.save_link("T1", "U1", "alice", method="self_verified", linked_by="U1")
    await store.save_link("T1", "U3", "bob", method="email_match", linked_by="U3")

    assert await store.links_for_tencent_user("alice") == [b, a]


async def test_links_are_frozen_snapshots(store: Store) -> None:
    saved = await store.save_link("T1", "U1", "alice", method="admin", linked_by="UADMIN")
    await store.save_link("T1", "U1", "bob", method="admin", linked_by="UADMIN")

    assert isinstance(saved, Link)
    assert saved.tencent_userid == "alice"


async def test_a_new_store_on_the_same_database_keeps_every_link(database_url: str) -> None:
    first = await Store.open(database_url)
    saved = [
        await first.save_link("T1", f"U{i}", f"user{i}", method="admin", linked_by="UADMIN")
        for i in range(20)
    ]
    await first.close()

    restarted = await Store.open(database_url)
    try:
        assert [await restarted.get_link("T1", f"U{i}") for i in range(20)] == saved
    finally:
        await restarted.close()


async def test_ping_answers_while_the_database_is_usable(store: Store) -> None:
    assert await store.ping() is True


async def test_ping_is_false_when_the_database_is_unusable(tmp_path: Path) -> None:
    unusable = Store(create_engine(f"sqlite+aiosqlite:///{tmp_path / 'no-such-dir' / 'x.db'}"))
    try:
        assert await unusable.ping() is False
    finally:
        await unusable.close()
