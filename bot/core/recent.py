"""The caller's own recent meetings that have replays: `/replays`, `/replays recent [days]` and
App Home.

Tencent's history query lists the meetings a user created *and* attended, newest first, without
saying who created them; only the replays query (by meeting ID, through `ReplayLookup`, the one
lookup path) tells: a "not the creator" answer means attended. That answer never changes for a
meeting and a userid, so it is kept in the database (`MeetingStore.note_not_creator`) and such a
meeting costs no replays call again, on any day, in any instance. A successful look-up teaches
the meeting's creator (used by `bot.core.visibility`).

One list costs one history call per page of meetings plus at most one replays call per
meeting not already known, checked newest first, a batch at a time, until `MAX_SHOWN` meetings
with replays are found: the meetings after those are announced, not looked at. Lists are kept
per person and window for a few minutes, and identical requests at once share their calls
(`Memo`). A list that Tencent could not complete (the call budget used up, Tencent down) is not
kept, and says so: the person is told rather than kept waiting.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.core.clock import utcnow
from bot.core.failures import MeetingServiceError
from bot.core.lookup import ReplayLookup
from bot.core.meetings import HistoryEntry, Meeting, MeetingRef
from bot.core.memo import Memo
from bot.core.outcomes import LookupProblem, problem_for
from bot.core.sources import HistorySource
from bot.core.storage import MeetingStore, StorageRejected, StorageUnavailable

log = logging.getLogger(__name__)

DEFAULT_DAYS = 7
MAX_DAYS = 90
#: the most meetings one answer shows (as many as one look-up command may name)
MAX_SHOWN = 10
#: history pages read per list (a call each): enough for any person's 90 days of meetings
HISTORY_PAGES = 10


@dataclass(frozen=True, slots=True)
class RecentMeeting:
    """One of the caller's meetings that has replays: when it was (`entry`, from the history
    query) and what was found for it (`meeting`, from the replays query)."""

    entry: HistoryEntry
    meeting: Meeting


@dataclass(frozen=True, slots=True)
class RecentList:
    """The caller's meetings with replays among those that ended in the last `days` days."""

    days: int
    #: newest first, at most MAX_SHOWN
    shown: tuple[RecentMeeting, ...] = ()
    #: how many distinct meetings ended in the window (created or attended)
    ended: int = 0
    #: meetings of the window not looked at (beyond the shown ones, or failed), newest first
    unchecked: tuple[HistoryEntry, ...] = ()
    #: the list could not be made at all (the history query failed)
    problem: LookupProblem | None = None
    #: some meetings could not be checked (they are in `unchecked`)
    incomplete: LookupProblem | None = None
    made_at: datetime | None = None

    @property
    def complete(self) -> bool:
        return self.problem is None and self.incomplete is None


class RecentMeetings:
    def __init__(
        self,
        history: HistorySource,
        lookup: ReplayLookup,
        meetings: MeetingStore,
        *,
        ttl: float = 180.0,
        max_entries: int = 5_000,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = utcnow,
    ) -> None:
        self._history = history
        self._lookup = lookup
        self._meetings = meetings
        self._wall = wall
        # Only complete lists are kept: a list cut short by a busy Tencent is made again next time.
        self._lists: Memo[tuple[str, int], RecentList] = Memo(
            ttl=lambda made: ttl if made.complete else 0.0, max_entries=max_entries, clock=clock
        )

    def cached(self, userid: str, days: int = DEFAULT_DAYS) -> RecentList | None:
        """The kept list, without any call (App Home shows it while it is fresh)."""
        return self._lists.get((userid, days))

    async def recent(
        self, userid: str, days: int = DEFAULT_DAYS, *, fresh: bool = False
    ) -> RecentList:
        if not 1 <= days <= MAX_DAYS:
            raise ValueError(f"days must be between 1 and {MAX_DAYS}")
        return await self._lists.fetch(
            (userid, days), lambda: self._make(userid, days), fresh=fresh
        )

    async def _make(self, userid: str, days: int) -> RecentList:
        end = self._wall()
        start = end - timedelta(days=days)
        try:
            history = await self._history.ended_meetings(
                userid, start=start, end=end, max_pages=HISTORY_PAGES
            )
        except MeetingServiceError as error:
            log.info("history of %s could not be read: %s", userid, error)
            return RecentList(days, problem=problem_for(error.failure), made_at=end)
        newest_first = sorted(
            history.entries,
            key=lambda m: m.end or datetime.min.replace(tzinfo=UTC),
            reverse=True,
        )
        # Occurrences of a recurring meeting share its ID and its replays: listed once.
        unique: dict[str, HistoryEntry] = {}
        for meeting in newest_first:
            unique.setdefault(meeting.meeting_id, meeting)
        attended = await self._known_attended(userid, list(unique))
        candidates = [m for meeting_id, m in unique.items() if meeting_id not in attended]
        shown: list[RecentMeeting] = []
        failed: list[HistoryEntry] = []
        incomplete: LookupProblem | None = None
        checked = 0
        while checked < len(candidates) and len(shown) < MAX_SHOWN and incomplete is None:
            batch = candidates[checked : checked + MAX_SHOWN - len(shown)]
            checked += len(batch)
            outcomes = await asyncio.gather(*(self._replays_of(m, userid) for m in batch))
            for meeting, outcome in zip(batch, outcomes, strict=True):
                if isinstance(outcome, LookupProblem):
                    incomplete = incomplete or outcome
                    failed.append(meeting)
                elif outcome is not None and outcome.has_replays:
                    shown.append(RecentMeeting(meeting, outcome))
        return RecentList(
            days,
            shown=tuple(shown),
            ended=len(unique),
            unchecked=(*failed, *candidates[checked:]),
            incomplete=incomplete,
            made_at=end,
        )

    async def _known_attended(self, userid: str, meeting_ids: list[str]) -> set[str]:
        try:
            return await self._meetings.not_creator_of(userid, meeting_ids)
        except StorageUnavailable as error:
            # Without the memory the list still works; it only costs more calls.
            log.warning("could not read which meetings %s attended: %r", userid, error)
            return set()

    async def _replays_of(
        self, meeting: HistoryEntry, userid: str
    ) -> Meeting | LookupProblem | None:
        """The meeting's replays when `userid` created it; None when not (or it is gone); the
        problem when Tencent could not tell."""
        result = await self._lookup.lookup(MeetingRef("id", meeting.meeting_id), userid)
        try:
            if result.problem is LookupProblem.NOT_CREATOR:
                await self._meetings.note_not_creator(meeting.meeting_id, userid)
                return None
            if result.problem is LookupProblem.NOT_FOUND:
                return None
            if result.problem is not None:
                return result.problem
            for found in result.meetings:
                await self._meetings.learn_creator(found.meeting_id, found.code, userid)
        except (StorageUnavailable, StorageRejected) as error:
            log.warning("could not keep what Tencent said of %s: %r", meeting.meeting_id, error)
        same = [m for m in result.meetings if m.meeting_id == meeting.meeting_id]
        matching = same or list(result.meetings)
        return matching[0] if matching else None
