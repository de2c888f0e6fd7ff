"""The caller's recent meetings: only their own with replays, newest first, attended meetings
remembered for good, lists kept a few minutes and shared by identical requests."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.core.failures import Failure, MeetingServiceError
from bot.core.lookup import ReplayLookup
from bot.core.outcomes import LookupProblem
from bot.core.recent import MAX_SHOWN, RecentMeetings
from bot.core.storage import Storage
from tests.fakes.core import Clock, ReplayBook, meeting, replay

NOW = datetime(2025, 12, 1, 12, 0, tzinfo=UTC)


def recent_of(book: ReplayBook, storage: Storage, clock: Clock) -> RecentMeetings:
    lookup = ReplayLookup(book, clock=clock)
    return RecentMeetings(book, lookup, storage.meetings, clock=clock, wall=lambda: NOW)


def meeting_id(n: int) -> str:
    return f"{1900000000000000000 + n}"


def add(
    book: ReplayBook, n: int, creator: str, *, hours_ago: float, replays: int = 1, **kw: object
) -> None:
    found = meeting(
        meeting_id(n),
        f"{800000000 + n}",
        *(replay(n * 10 + r) for r in range(replays)),
        subject=f"M{n}",
    )
    book.add_ended(creator, found, ended=NOW - timedelta(hours=hours_ago), **kw)  # type: ignore[arg-type]


async def test_only_the_callers_meetings_with_replays_newest_first(
    book: ReplayBook, storage: Storage, clock: Clock
) -> None:
    add(book, 1, "alice", hours_ago=30)
    add(book, 2, "alice", hours_ago=2)
    add(book, 3, "alice", hours_ago=50)
    add(book, 4, "bob", hours_ago=1, attendees=("alice",))
    add(book, 5, "bob", hours_ago=3, attendees=("alice",))
    add(book, 6, "alice", hours_ago=5, replays=0)
    add(book, 7, "alice", hours_ago=24 * 8)  # outside the 7 days

    listed = await recent_of(book, storage, clock).recent("alice")

    assert [item.entry.meeting_id for item in listed.shown] == [
        meeting_id(2),
        meeting_id(1),
        meeting_id(3),
    ]
    assert listed.ended == 6
    assert listed.unchecked == ()
    assert listed.complete


async def test_a_second_request_is_served_from_the_cache(
    book: ReplayBook, storage: Storage, clock: Clock
) -> None:
    add(book, 1, "alice", hours_ago=1)
    recent = recent_of(book, storage, clock)
    await recent.recent("alice")
    calls = (book.history_calls, book.calls)

    await recent.recent("alice")
    assert (book.history_calls, book.calls) == calls
    assert recent.cached("alice") is not None

    clock.now += 181
    await recent.recent("alice")
    assert book.history_calls == calls[0] + 1


async def test_attended_meetings_cost_no_replays_call_again_even_with_a_new_cache(
    book: ReplayBook, storage: Storage, clock: Clock
) -> None:
    add(book, 1, "alice", hours_ago=1)
    add(book, 2, "bob", hours_ago=2, attendees=("alice",))
    await recent_of(book, storage, clock).recent("alice")
    assert meeting_id(2) in book.asked

    book.asked.clear()
    # another instance, or the next day: nothing in memory, the storage remembers
    await recent_of(book, storage, clock).recent("alice")
    assert book.asked == [meeting_id(1)]


async def test_identical_requests_at_once_share_their_calls(
    book: ReplayBook, storage: Storage, clock: Clock
) -> None:
    add(book, 1, "alice", hours_ago=1)
    add(book, 2, "alice", hours_ago=2)
    book.gate = asyncio.Event()
    recent = recent_of(book, storage, clock)
    pending = [asyncio.ensure_future(recent.recent("alice")) for _ in range(50)]
    await asyncio.sleep(0.01)
    book.gate.set()
    lists = await asyncio.gather(*pending)

    assert book.history_calls == 1
    assert book.calls == 2
    assert all(len(listed.shown) == 2 for listed in lists)


async def test_at_most_ten_are_shown_and_the_rest_are_not_looked_at(
    book: ReplayBook, storage: Storage, clock: Clock
) -> None:
    for n in range(30):
        add(book, n, "alice", hours_ago=n + 1)

    listed = await recent_of(book, storage, clock).recent("alice", 30)

    assert len(listed.shown) == MAX_SHOWN
    assert book.calls == MAX_SHOWN
    assert [m.meeting_id for m in listed.unchecked] == [meeting_id(n) for n in range(10, 30)]


async def test_a_busy_tencent_is_said_and_not_kept(
    book: ReplayBook, storage: Storage, clock: Clock
) -> None:
    add(book, 1, "alice", hours_ago=1)
    book.failure = MeetingServiceError(Failure.BUSY, "budget")
    recent = recent_of(book, storage, clock)

    listed = await recent.recent("alice")
    assert listed.problem is LookupProblem.BUSY
    assert recent.cached("alice") is None

    book.failure = None
    assert len((await recent.recent("alice")).shown) == 1


async def test_a_creators_look_up_teaches_the_creator(
    book: ReplayBook, storage: Storage, clock: Clock
) -> None:
    add(book, 1, "alice", hours_ago=1)
    await recent_of(book, storage, clock).recent("alice")
    assert await storage.meetings.creator_by_id(meeting_id(1)) == "alice"
