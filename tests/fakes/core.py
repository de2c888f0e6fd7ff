"""Test doubles for the core's own edges, a pytest plugin: a Tencent replay source that answers
from a dict and counts its calls (`book`), a digest sink that records what it delivered, and clocks
the tests move by hand (`clock`, `wall`). With the in-memory storage, no database, no HTTP server."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.digest_sink import (
    DeliveryCutShort,
    DeliveryDeferred,
    DeliveryRefused,
    DigestAbout,
    PartPosted,
    Recipient,
    ReplyPosted,
)
from bot.core.failures import Failure, MeetingServiceError
from bot.core.lanes import Lane, SharedLane, current_claim
from bot.core.meetings import History, HistoryEntry, LiveReplay, Meeting
from bot.core.storage import PostedPart

#: the meetings of one page of Tencent's history
HISTORY_PAGE_SIZE = 20


class Clock:
    """A monotonic clock (seconds) the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class WallClock:
    """A UTC wall clock the test moves; it starts at the real time, which storages stamp rows with."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def replay(n: int) -> LiveReplay:
    return LiveReplay(room_id=str(n), url=f"https://meeting.tencent.com/l/{n}")


def meeting(meeting_id: str, code: str, *replays: LiveReplay, subject: str = "Weekly") -> Meeting:
    return Meeting(meeting_id=meeting_id, code=code, subject=subject, live_replays=replays)


@dataclass
class ReplayBook:
    """Tencent's replay queries, answered from `meetings` by creator; `calls` counts them. Only a
    meeting's creator sees it (everybody else gets Tencent's "not the creator" error)."""

    meetings: dict[str, tuple[str, Meeting]] = field(default_factory=dict)
    calls: int = 0
    gate: asyncio.Event | None = None
    failure: MeetingServiceError | None = None
    #: Tencent's history query: (who sees it in their history, the meeting as listed)
    history: list[tuple[frozenset[str], HistoryEntry]] = field(default_factory=list)
    history_calls: int = 0
    #: the meeting IDs asked about, in order
    asked: list[str] = field(default_factory=list)
    #: what each replay query would hand the call budget as its lane (`current_claim()`)
    claims: list[Lane | SharedLane] = field(default_factory=list)

    def add(self, creator: str, found: Meeting) -> None:
        self.meetings[found.meeting_id] = (creator, found)

    def add_ended(
        self,
        creator: str,
        found: Meeting,
        *,
        ended: datetime,
        attendees: tuple[str, ...] = (),
    ) -> None:
        """A meeting that ended at `ended`: in the history of its creator and its attendees."""
        self.add(creator, found)
        listed = HistoryEntry(
            meeting_id=found.meeting_id,
            code=found.code,
            subject=found.subject,
            start=ended - timedelta(hours=1),
            end=ended,
        )
        self.history.append((frozenset({creator, *attendees}), listed))

    async def ended_meetings(
        self, userid: str, *, start: datetime, end: datetime, max_pages: int = 10
    ) -> History:
        self.history_calls += 1
        if self.failure is not None:
            raise self.failure
        found = [
            m
            for users, m in self.history
            if userid in users and m.end is not None and start <= m.end <= end
        ]
        newest_first = sorted(found, key=lambda m: m.end or start, reverse=True)
        pages = min(len(found) // HISTORY_PAGE_SIZE + 1, max_pages)
        return History(tuple(newest_first[: HISTORY_PAGE_SIZE * max_pages]), calls=pages)

    async def replays_by_code(self, meeting_code: str, *, userid: str) -> list[Meeting]:
        return await self._answer(lambda m: m.code == meeting_code, userid)

    async def replays_by_id(self, meeting_id: str, *, userid: str) -> list[Meeting]:
        self.asked.append(meeting_id)
        return await self._answer(lambda m: m.meeting_id == meeting_id, userid)

    async def _answer(self, matches: object, userid: str) -> list[Meeting]:
        self.calls += 1
        self.claims.append(current_claim())
        if self.gate is not None:
            await self.gate.wait()
        if self.failure is not None:
            raise self.failure
        found = [(c, m) for c, m in self.meetings.values() if matches(m)]  # type: ignore[operator]
        if not found:
            raise MeetingServiceError(Failure.NOT_FOUND, "meeting not found")
        if any(creator != userid for creator, _ in found):
            raise MeetingServiceError(Failure.NOT_CREATOR, "not the creator")
        return [m for _, m in found]


@dataclass
class RecordingSink:
    """Delivers digests into `delivered`, one part per replay (ts = "<recipient key>/<n>");
    refuses the recipients in `refuse` for good, and defers those in `fail_once` once, after
    their first part. Updates go to `updates` (recipient key, message ts's, replay urls shown,
    new urls), give-up notes to `gave_up_notes`, rewrites after a removal to `removals`."""

    delivered: list[tuple[str, str]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    fail_once: set[str] = field(default_factory=set)
    updates: list[tuple[str, list[str], list[str], list[str]]] = field(default_factory=list)
    gave_up_notes: list[str] = field(default_factory=list)
    abouts: list[DigestAbout] = field(default_factory=list)
    #: (recipient key, message ts's, keys still shown) of each rewrite after a removal
    removals: list[tuple[str, list[str], list[str]]] = field(default_factory=list)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    #: `cut_short` itself once this many parts were delivered (shutdown in mid-digest)
    cut_after: int | None = None

    def cut_short(self) -> None:
        self.stopping.set()

    async def deliver(
        self,
        recipient: Recipient,
        found: Meeting,
        *,
        about: DigestAbout,
        posted: frozenset[int],
        record: PartPosted,
        look_first: bool,
    ) -> None:
        if recipient.key in self.refuse:
            raise DeliveryRefused("channel_not_found")
        self.abouts.append(about)
        for part, replay in enumerate(found.live_replays):
            if part in posted:
                continue
            if self.stopping.is_set():
                raise DeliveryCutShort("shutting down")
            if part > 0 and recipient.key in self.fail_once:
                self.fail_once.discard(recipient.key)
                raise DeliveryDeferred("Slack did not answer")
            self.delivered.append((recipient.key, replay.url))
            await record(part, recipient.key, f"{recipient.key}/{len(self.delivered)}")
            if self.cut_after is not None and len(self.delivered) >= self.cut_after:
                self.cut_short()

    async def update(
        self,
        recipient: Recipient,
        messages: Sequence[PostedPart],
        meeting: Meeting,
        new: Meeting,
        *,
        about: DigestAbout,
        record_reply: ReplyPosted,
    ) -> None:
        self.updates.append(
            (
                recipient.key,
                [m.ts for m in messages],
                [r.url for r in meeting.live_replays],
                [r.url for r in new.live_replays],
            )
        )
        await record_reply(recipient.key, f"reply{len(self.updates)}")

    async def gave_up(self, recipient: Recipient, *, about: DigestAbout, waited: float) -> None:
        self.gave_up_notes.append(recipient.key)

    async def removed(
        self,
        recipient: Recipient,
        messages: Sequence[PostedPart],
        meeting: Meeting,
        *,
        about: DigestAbout,
    ) -> None:
        self.removals.append((recipient.key, [m.ts for m in messages], list(meeting.keys)))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def wall() -> WallClock:
    return WallClock()


@pytest.fixture
def book() -> ReplayBook:
    return ReplayBook()
