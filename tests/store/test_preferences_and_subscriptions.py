"""DM preferences and channel subscriptions."""

from __future__ import annotations

from bot.store import Store


async def test_dm_digests_are_on_until_turned_off(store: Store) -> None:
    assert await store.dm_digests_enabled("T1", "U1") is True

    await store.set_dm_digests("T1", "U1", False)
    assert await store.dm_digests_enabled("T1", "U1") is False
    assert await store.dm_digests_enabled("T1", "U2") is True

    await store.set_dm_digests("T1", "U1", True)
    assert await store.dm_digests_enabled("T1", "U1") is True


async def test_subscribe_is_idempotent(store: Store) -> None:
    assert await store.subscribe("T1", "C1", "alice", None, created_by="U1") is True
    assert await store.subscribe("T1", "C1", "alice", None, created_by="U2") is False
    assert await store.subscribe("T1", "C1", "alice", "123456789", created_by="U1") is True
    assert await store.subscribe("T1", "C1", "alice", "123456789", created_by="U1") is False

    subscriptions = await store.subscriptions_in_channel("T1", "C1")
    assert [(s.meeting_code, s.created_by) for s in subscriptions] == [
        (None, "U1"),
        ("123456789", "U1"),
    ]


async def test_empty_code_means_all_meetings(store: Store) -> None:
    assert await store.subscribe("T1", "C1", "alice", "", created_by="U1") is True
    assert await store.subscribe("T1", "C1", "alice", None, created_by="U1") is False

    (subscription,) = await store.subscriptions_in_channel("T1", "C1")
    assert subscription.meeting_code is None


async def test_unsubscribe_removes_only_the_named_subscription(store: Store) -> None:
    await store.subscribe("T1", "C1", "alice", None, created_by="U1")
    await store.subscribe("T1", "C1", "alice", "123456789", created_by="U1")

    assert await store.unsubscribe("T1", "C1", "alice", "123456789") is True
    assert await store.unsubscribe("T1", "C1", "alice", "123456789") is False
    assert [s.meeting_code for s in await store.subscriptions_in_channel("T1", "C1")] == [None]

    assert await store.unsubscribe("T1", "C1", "alice", None) is True
    assert await store.subscriptions_in_channel("T1", "C1") == []


async def test_subscriptions_for_meeting_are_the_all_meetings_ones_and_that_code(
    store: Store,
) -> None:
    await store.subscribe("T1", "C-all", "alice", None, created_by="U1")
    await store.subscribe("T1", "C-this", "alice", "111111111", created_by="U1")
    await store.subscribe("T1", "C-other", "alice", "222222222", created_by="U1")
    await store.subscribe("T1", "C-bob", "bob", None, created_by="U2")

    wanted = await store.subscriptions_for_meeting("alice", "111111111")

    assert [(s.channel_id, s.meeting_code) for s in wanted] == [
        ("C-all", None),
        ("C-this", "111111111"),
    ]
    assert {s.channel_id for s in await store.subscriptions_of("alice")} == {
        "C-all",
        "C-this",
        "C-other",
    }
    assert await store.subscriptions_in_channel("T1", "C-nobody") == []
