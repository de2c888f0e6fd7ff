"""The poller's reading of meeting histories, on the in-memory storage: which window it asks for,
which jobs it makes, and how many Tencent calls it counts against its share of the budget."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from bot.core.digest_queue import DigestQueue, DigestTiming
from bot.core.digest_rules import DigestRules
from bot.core.failures import Failure, MeetingServiceError
from bot.core.lookup import CachePolicy, ReplayLookup
from bot.core.meetings import History, HistoryEntry
from bot.core.poller import (
    BUDGET_SHARE,
    HISTORY_MAX_PAGES,
    HISTORY_OVERLAP,
    ReplayPoller,
    poll_interval,
)
from bot.core.storage import Storage
from tests.fakes.core import Clock, RecordingSink, ReplayBook, WallClock

GIVE_UP = 3600.0


@dataclass
class FakeHistory:
    """Tencent's history query: answers `meetings` (in pages of 20), notes every window asked
    for."""

    meetings: list[HistoryEntry] = field(default_factory=list)
    asked: list[tuple[str, datetime, datetime, int]] = field(default_factory=list)
    failing: bool = False

    async def ended_meetings(
        self, userid: str, *, start: datetime, end: datetime, max_pages: int = 10
    ) -> History:
        self.asked.append((userid, start, end, max_pages))
        if self.failing:
            raise MeetingServiceError(Failure.UNREACHABLE, "down")
        found = [m for m in self.meetings if m.end is not None and start <= m.end <= end]
        pages = min(max(math.ceil(len(found) / 20), 1), max_pages)
        return History(tuple(found[: 20 * pages]), calls=pages)


def ended(n: int, end: datetime, subject: str = "Weekly") -> HistoryEntry:
    return HistoryEntry(
        meeting_id=f"{n:019d}",
        code=f"{800_000_000 + n}",
        subject=subject,
        start=end - timedelta(hours=1),
        end=end,
    )


@pytest.fixture
def history() -> FakeHistory:
    return FakeHistory()


@pytest.fixture
def parts(
    storage: Storage, book: ReplayBook, wall: WallClock, history: FakeHistory
) -> tuple[ReplayPoller, DigestRules]:
    timing = DigestTiming(delay=120, give_up=GIVE_UP)
    queue = DigestQueue(storage.digest_jobs, timing=timing, worker_id="w", clock=wall)
    lookup = ReplayLookup(book, cache=CachePolicy(), clock=Clock())
    rules = DigestRules(storage, queue, lookup, RecordingSink())
    poller = ReplayPoller(
        lookup,
        rules,
        storage,
        delay=0.05,
        calls_per_minute=300,
        history=history,
        give_up=GIVE_UP,
        clock=wall,
    )
    return poller, rules


async def test_each_all_meetings_creator_is_read_from_where_the_last_round_stopped(
    storage: Storage,
    wall: WallClock,
    history: FakeHistory,
    parts: tuple[ReplayPoller, DigestRules],
) -> None:
    poller, _ = parts
    await storage.subscriptions.add("T1", "C1", "alice", None, created_by="U1")
    await storage.subscriptions.add("T1", "C1", "alice", None, created_by="U1", subject_match="x")
    await storage.subscriptions.add("T1", "C2", "bob", "111111111", created_by="U2")
    first = wall.now

    assert await poller.run_once() == 1 + 1  # bob's code, alice's one history page
    assert [(u, s, e, p) for u, s, e, p in history.asked] == [
        ("alice", first - timedelta(seconds=GIVE_UP), first, HISTORY_MAX_PAGES)
    ]
    assert await storage.poll_windows.window_end("alice") == first

    wall.advance(60)
    await poller.run_once()
    assert history.asked[-1][1:3] == (first - HISTORY_OVERLAP, wall.now)
    assert await storage.poll_windows.window_end("alice") == wall.now


async def test_a_meeting_found_in_overlapping_windows_is_one_job_with_the_webhooks_key(
    storage: Storage,
    wall: WallClock,
    history: FakeHistory,
    parts: tuple[ReplayPoller, DigestRules],
) -> None:
    poller, _ = parts
    await storage.subscriptions.add("T1", "C1", "alice", None, created_by="U1")
    meeting = ended(1, wall.now - timedelta(minutes=1))
    history.meetings.append(meeting)

    await poller.run_once()
    wall.advance(30)
    await poller.run_once()  # the overlap finds it again

    (job,) = await storage.digest_jobs.for_meeting(meeting.meeting_id)
    assert meeting.start is not None
    start = int(meeting.start.timestamp())
    assert job.meeting.occurrence_key == f"meeting.end:{meeting.meeting_id}:{start}"
    assert (job.meeting.creator_userid, job.meeting.subject) == ("alice", "Weekly")
    assert job.meeting.end_time == meeting.end


async def test_a_failed_history_query_keeps_the_window_for_the_next_round(
    storage: Storage,
    wall: WallClock,
    history: FakeHistory,
    parts: tuple[ReplayPoller, DigestRules],
) -> None:
    poller, _ = parts
    await storage.subscriptions.add("T1", "C1", "alice", None, created_by="U1")
    await poller.run_once()
    read = wall.now
    history.failing = True
    wall.advance(60)

    assert await poller.run_once() == 1
    assert await storage.poll_windows.window_end("alice") == read

    history.failing = False
    history.meetings.append(ended(2, wall.now - timedelta(seconds=30)))
    wall.advance(60)
    await poller.run_once()
    assert len(await storage.digest_jobs.for_meeting(f"{2:019d}")) == 1


async def test_a_long_stop_reads_back_the_give_up_time_at_most(
    storage: Storage,
    wall: WallClock,
    history: FakeHistory,
    parts: tuple[ReplayPoller, DigestRules],
) -> None:
    poller, _ = parts
    await storage.subscriptions.add("T1", "C1", "alice", None, created_by="U1")
    await storage.poll_windows.advance("alice", wall.now - timedelta(days=200))

    await poller.run_once()

    assert history.asked[-1][1] == wall.now - timedelta(seconds=GIVE_UP)


async def test_full_history_pages_count_as_calls_and_stretch_the_rounds(
    storage: Storage,
    wall: WallClock,
    history: FakeHistory,
    parts: tuple[ReplayPoller, DigestRules],
) -> None:
    poller, _ = parts
    for n in range(3):
        await storage.subscriptions.add("T1", "C1", f"user{n}", None, created_by="U1")
    history.meetings.extend(ended(n, wall.now - timedelta(minutes=1)) for n in range(25))

    # each creator's 25 meetings took two pages; no creator is charged more than the page cap
    calls = await poller.run_once()
    assert calls == 3 * 2
    pause = poll_interval(0.05, calls, 300)
    # calls per minute at that pace stay within the poller's share of the budget
    assert calls * 60 / pause <= 300 * BUDGET_SHARE + 1e-9
    assert pause > 0.05
