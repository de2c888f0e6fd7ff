"""DM preferences and channel subscriptions, on every backend."""

from __future__ import annotations

from bot.core.storage import Storage


async def test_dm_digests_are_on_until_turned_off(storage: Storage) -> None:
    prefs = storage.preferences
    assert await prefs.dm_digests_enabled("T1", "U1") is True

    await prefs.set_dm_digests("T1", "U1", False)
    assert await prefs.dm_digests_enabled("T1", "U1") is False
    assert await prefs.dm_digests_enabled("T1", "U2") is True
    assert await prefs.dm_digests_enabled("T2", "U1") is True

    await prefs.set_dm_digests("T1", "U1", True)
    assert await prefs.dm_digests_enabled("T1", "U1") is True


async def test_subscribe_is_idempotent(storage: Storage) -> None:
    subs = storage.subscriptions
    assert await subs.add("T1", "C1", "alice", None, created_by="U1") is True
    assert await subs.add("T1", "C1", "alice", None, created_by="U2") is False
    assert await subs.add("T1", "C1", "alice", "123456789", created_by="U1") is True
    assert await subs.add("T1", "C1", "alice", "123456789", created_by="U1") is False

    subscriptions = await subs.in_channel("T1", "C1")
    assert [(s.meeting_code, s.created_by) for s in subscriptions] == [
        (None, "U1"),
        ("123456789", "U1"),
    ]
    assert all(s.created_at.tzinfo is not None for s in subscriptions)


async def test_empty_code_means_all_meetings(storage: Storage) -> None:
    subs = storage.subscriptions
    assert await subs.add("T1", "C1", "alice", "", created_by="U1") is True
    assert await subs.add("T1", "C1", "alice", None, created_by="U1") is False

    (subscription,) = await subs.in_channel("T1", "C1")
    assert subscription.meeting_code is None
    assert await subs.remove("T1", "C1", "alice", "") is True
    assert await subs.in_channel("T1", "C1") == []


async def test_unsubscribe_removes_only_the_named_subscription(storage: Storage) -> None:
    subs = storage.subscriptions
    await subs.add("T1", "C1", "alice", None, created_by="U1")
    await subs.add("T1", "C1", "alice", "123456789", created_by="U1")

    assert await subs.remove("T1", "C1", "alice", "123456789") is True
    assert await subs.remove("T1", "C1", "alice", "123456789") is False
    assert [s.meeting_code for s in await subs.in_channel("T1", "C1")] == [None]

    assert await subs.remove("T1", "C1", "alice", None) is True
    assert await subs.in_channel("T1", "C1") == []


async def test_subscriptions_for_meeting_are_the_all_meetings_ones_and_that_code(
    storage: Storage,
) -> None:
    subs = storage.subscriptions
    await subs.add("T1", "C-all", "alice", None, created_by="U1")
    await subs.add("T1", "C-this", "alice", "111111111", created_by="U1")
    await subs.add("T1", "C-other", "alice", "222222222", created_by="U1")
    await subs.add("T1", "C-bob", "bob", None, created_by="U2")

    wanted = await subs.for_meeting("alice", "111111111")

    assert [(s.channel_id, s.meeting_code) for s in wanted] == [
        ("C-all", None),
        ("C-this", "111111111"),
    ]
    # The other code's subscription is stored all the same, for that code's meetings.
    assert [s.channel_id for s in await subs.for_meeting("alice", "222222222")] == [
        "C-all",
        "C-other",
    ]
    assert await subs.in_channel("T1", "C-nobody") == []


async def test_watched_codes_lists_each_code_once(storage: Storage) -> None:
    subs = storage.subscriptions
    assert await subs.watched_codes() == []
    await subs.add("T2", "C9", "bob", "222222222", created_by="U2")
    await subs.add("T1", "C1", "alice", "111111111", created_by="U1")
    await subs.add("T1", "C2", "alice", "111111111", created_by="U1")
    await subs.add("T1", "C2", "alice", None, created_by="U1")

    assert await subs.watched_codes() == [("alice", "111111111"), ("bob", "222222222")]


async def test_a_subject_filter_is_kept_and_is_part_of_the_key(storage: Storage) -> None:
    subs = storage.subscriptions
    assert await subs.add("T1", "C1", "alice", None, created_by="U1") is True
    assert await subs.add("T1", "C1", "alice", None, created_by="U1", subject_match="周会") is True
    assert await subs.add("T1", "C1", "alice", None, created_by="U2", subject_match="周会") is False
    assert await subs.add("T1", "C1", "alice", None, created_by="U1", subject_match="Sync") is True

    listed = [(s.meeting_code, s.subject_match) for s in await subs.in_channel("T1", "C1")]
    assert listed == [(None, ""), (None, "Sync"), (None, "周会")]
    # every filtered subscription of alice's meetings is a candidate; digest_rules filters
    wanted = await subs.for_meeting("alice", "111111111")
    assert sorted(s.subject_match for s in wanted) == ["", "Sync", "周会"]

    # removing is by the same filter: the others stay
    assert await subs.remove("T1", "C1", "alice", None, subject_match="sync") is False
    assert await subs.remove("T1", "C1", "alice", None, subject_match="Sync") is True
    assert await subs.remove("T1", "C1", "alice", None, subject_match="Sync") is False
    listed = [(s.meeting_code, s.subject_match) for s in await subs.in_channel("T1", "C1")]
    assert listed == [(None, ""), (None, "周会")]
    assert await subs.remove("T1", "C1", "alice", None) is True
    assert [s.subject_match for s in await subs.in_channel("T1", "C1")] == ["周会"]


async def test_a_filter_seen_by_another_instance(storage: Storage, other_storage: Storage) -> None:
    await storage.subscriptions.add("T1", "C1", "alice", None, created_by="U1", subject_match="x")
    (seen,) = await other_storage.subscriptions.for_meeting("alice", "111111111")
    assert seen.subject_match == "x"


async def test_all_meetings_creators_lists_each_userid_once(storage: Storage) -> None:
    subs = storage.subscriptions
    assert await subs.all_meetings_creators() == []
    await subs.add("T1", "C1", "carol", "111111111", created_by="U3")
    assert await subs.all_meetings_creators() == []
    await subs.add("T1", "C1", "bob", None, created_by="U2")
    await subs.add("T1", "C2", "bob", None, created_by="U2")
    await subs.add("T2", "C9", "alice", None, created_by="U1", subject_match="standup")

    assert await subs.all_meetings_creators() == ["alice", "bob"]
