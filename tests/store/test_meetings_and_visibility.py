"""Known creators, known non-creators, creators' visibility settings and a user's subscriptions,
on every backend."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.core.records import Visibility
from bot.core.storage import Storage


def long_ago() -> datetime:
    return datetime.now(UTC) - timedelta(days=30)


async def test_a_creator_is_found_by_id_and_by_code(storage: Storage) -> None:
    meetings = storage.meetings
    assert await meetings.creator_by_id("1900000000000000001") is None

    await meetings.learn_creator("1900000000000000001", "295150176", "alice")

    assert await meetings.creator_by_id("1900000000000000001") == "alice"
    assert await meetings.creator_by_code("295150176", learned_since=long_ago()) == "alice"
    assert await meetings.creator_by_code("111111111", learned_since=long_ago()) is None


async def test_a_code_learned_before_the_cutoff_is_not_trusted(storage: Storage) -> None:
    await storage.meetings.learn_creator("1900000000000000001", "295150176", "alice")

    future = datetime.now(UTC) + timedelta(seconds=5)
    assert await storage.meetings.creator_by_code("295150176", learned_since=future) is None
    # the ID never names another meeting: it is still known
    assert await storage.meetings.creator_by_id("1900000000000000001") == "alice"


async def test_a_recycled_code_names_the_newest_meeting(storage: Storage) -> None:
    await storage.meetings.learn_creator("1900000000000000001", "295150176", "alice")
    await storage.meetings.learn_creator("1900000000000000002", "295150176", "bob")

    assert await storage.meetings.creator_by_code("295150176", learned_since=long_ago()) == "bob"


async def test_learning_again_without_a_code_keeps_the_code(storage: Storage) -> None:
    await storage.meetings.learn_creator("1900000000000000001", "295150176", "alice")
    await storage.meetings.learn_creator("1900000000000000001", "", "alice")

    assert await storage.meetings.creator_by_code("295150176", learned_since=long_ago()) == "alice"


async def test_creators_learned_and_asked_for_together_are_each_right(storage: Storage) -> None:
    # Look-ups that arrive together share a transaction and a query (SqlMeetingStore).
    meetings = storage.meetings
    ids = [f"19000000000000001{i:02d}" for i in range(30)]
    await asyncio.gather(
        *(
            meetings.learn_creator(mid, f"2951501{i:02d}", f"user{i % 7}")
            for i, mid in enumerate(ids)
        )
    )
    asked = [*ids, "1900000000000000999", ids[3], "1900000000000000998"]
    found = await asyncio.gather(*(meetings.creator_by_id(mid) for mid in asked))
    assert found == [*(f"user{i % 7}" for i in range(30)), None, "user3", None]
    code = await meetings.creator_by_code("295150105", learned_since=long_ago())
    assert code == "user5"


async def test_one_meeting_learned_twice_at_once_ends_as_if_one_after_the_other(
    storage: Storage,
) -> None:
    meetings = storage.meetings
    await asyncio.gather(
        meetings.learn_creator("1900000000000000001", "295150176", "alice"),
        meetings.learn_creator("1900000000000000001", "", "bob"),
    )
    assert await meetings.creator_by_id("1900000000000000001") == "bob"
    assert await meetings.creator_by_code("295150176", learned_since=long_ago()) == "bob"


async def test_not_creator_is_remembered_per_meeting_and_user(storage: Storage) -> None:
    meetings = storage.meetings
    await meetings.note_not_creator("m1", "bob")
    await meetings.note_not_creator("m1", "bob")  # idempotent
    await meetings.note_not_creator("m2", "carol")

    assert await meetings.not_creator_of("bob", ["m1", "m2", "m3"]) == {"m1"}
    assert await meetings.not_creator_of("carol", ["m1", "m2"]) == {"m2"}
    assert await meetings.not_creator_of("bob", []) == set()


async def test_not_creator_of_many_meetings_at_once(storage: Storage) -> None:
    ids = [f"m{n}" for n in range(1200)]
    for meeting_id in ids[::2]:
        await storage.meetings.note_not_creator(meeting_id, "bob")

    assert await storage.meetings.not_creator_of("bob", ids) == set(ids[::2])


async def test_visibility_is_me_until_changed_per_workspace(storage: Storage) -> None:
    visibility = storage.visibility
    assert await visibility.get("T1", "alice") is Visibility.ME

    await visibility.set("T1", "alice", Visibility.WORKSPACE, set_by="U1")
    assert await visibility.get("T1", "alice") is Visibility.WORKSPACE
    assert await visibility.get("T2", "alice") is Visibility.ME
    assert await visibility.get("T1", "bob") is Visibility.ME

    await visibility.set("T1", "alice", Visibility.ME, set_by="U1")
    assert await visibility.get("T1", "alice") is Visibility.ME


async def test_visibility_set_in_one_process_is_read_in_another(
    storage: Storage, other_storage: Storage
) -> None:
    await storage.visibility.set("T1", "alice", Visibility.WORKSPACE, set_by="U1")
    assert await other_storage.visibility.get("T1", "alice") is Visibility.WORKSPACE


async def test_subscriptions_made_by_a_user(storage: Storage) -> None:
    subs = storage.subscriptions
    await subs.add("T1", "C2", "alice", None, created_by="U1")
    await subs.add("T1", "C1", "alice", "111111111", created_by="U1")
    await subs.add("T1", "C1", "bob", None, created_by="U2")
    await subs.add("T2", "C1", "alice", None, created_by="U1")

    made = await subs.made_by("T1", "U1")

    assert [(s.channel_id, s.meeting_code) for s in made] == [("C1", "111111111"), ("C2", None)]
    assert await subs.made_by("T1", "U3") == []
