"""The one lookup path: a meeting reference and a creator's userid → a `LookupResult`.

A look-up asks the live replays first and then the cloud recordings, both as the same userid, and
merges them into one `Meeting` per meeting ID (`_fetch`): a meeting only recorded, never streamed,
is found by the recordings alone. "Not the creator" from either query is the answer; the replays
query is asked first because it answers only the creator, so a refusal costs one call.

The slash command, mentions, the share button, digests and the CLI all come through here. Identical
look-ups that arrive together share one Tencent call (coalescing) and a short cache answers repeats;
`fresh=True` is the explicit refresh. Cache keys include the userid, because Tencent answers only the
creator: a result fetched for one person is never handed to another. A shared call waits in the call
budget's people lane as soon as one of its callers is a person (`bot.core.lanes.SharedLane`): a
person asking what a digest is looking up right now never waits behind other digests.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from bot.core import correlation
from bot.core.failures import Failure, MeetingServiceError
from bot.core.lanes import SharedLane, current_lane, in_lane
from bot.core.meetings import Meeting, MeetingRef, RecordingState
from bot.core.memo import Memo
from bot.core.outcomes import LookupProblem, LookupResult, problem_for
from bot.core.sources import Recorded, RecordingSource, ReplaySource

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CachePolicy:
    """How long answers are reused. Answers with nothing to watch yet live shorter: replays
    appear after a while, and a recording still processing will soon have its files."""

    with_replays: float = 60.0
    without_replays: float = 15.0
    #: "not the creator" never changes for a meeting and a userid; a code names another meeting
    #: only once it is recycled, 30 days after its meeting's scheduled start
    not_creator: float = 3600.0
    #: the cache is for bursts and second looks within a minute, not an archive: 2,000 distinct
    #: meetings asked about in one minute is far beyond one workspace, and memory stays flat
    max_entries: int = 2_000
    #: Tencent's player page of a recording file does not change; kept for the creator's next look
    player_pages: float = 600.0

    def ttl(self, found: Found) -> float:
        if isinstance(found, LookupProblem):
            return self.not_creator
        settled = any(m.has_replays for m in found) and not any(m.processing for m in found)
        return self.with_replays if settled else self.without_replays


#: what one Tencent query found: the meetings, or that the asker is not their creator (an answer
#: kept like meetings are, so that hundreds asking about someone else's meeting cost one call each)
Found = tuple[Meeting, ...] | Literal[LookupProblem.NOT_CREATOR]

#: the recording files of one answer whose player page is fetched at most (a call each)
PLAYER_PAGES_PER_ANSWER = 3


class ReplayLookup:
    def __init__(
        self,
        source: ReplaySource,
        *,
        recordings: RecordingSource | None = None,
        cache: CachePolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._recordings = recordings
        policy = cache or CachePolicy()
        self._player_pages: Memo[tuple[str, str], str] = Memo(
            ttl=lambda _page: policy.player_pages, max_entries=policy.max_entries, clock=clock
        )
        # Keyed by userid too: Tencent answers only the creator, so one person's answer is never
        # handed to another.
        self._answers: Memo[tuple[MeetingRef, str], Found] = Memo(
            ttl=policy.ttl, max_entries=policy.max_entries, clock=clock
        )
        # The budget lane of each Tencent query under way, shared by everybody waiting for it.
        self._lanes: dict[tuple[MeetingRef, str], SharedLane] = {}

    async def lookup(self, ref: MeetingRef, userid: str, *, fresh: bool = False) -> LookupResult:
        key = (ref, userid)
        # The meeting names the log lines of this look-up (the Tencent call's among them).
        with correlation.scope(meeting=ref.value):
            try:
                shared = self._lanes.get(key)
                if shared is not None and (fresh or self._answers.get(key) is None):
                    # This caller waits for the query under way: a person raises it to their lane.
                    shared.join(current_lane())
                found = await self._answers.fetch(key, lambda: self._load(key), fresh=fresh)
            except MeetingServiceError as error:
                problem = problem_for(error.failure)
                level = logging.ERROR if problem is LookupProblem.MISCONFIGURED else logging.INFO
                log.log(level, "lookup of %s %s failed: %s", ref.kind, ref.value, error)
                return LookupResult(ref=ref, problem=problem)
        return _result(ref, found)

    def kept(self, ref: MeetingRef, userid: str) -> LookupResult | None:
        """The answer kept from an earlier look-up, without any I/O; None when none is kept."""
        found = self._answers.get((ref, userid))
        if found is None:
            return None
        return _result(ref, found)

    def _load(self, key: tuple[MeetingRef, str]) -> Awaitable[Found]:
        """The one Tencent query for `key`, in a lane of its own that the callers who join it
        share (it starts in the lane of the caller who started it)."""
        shared = SharedLane(current_lane())
        self._lanes[key] = shared
        return self._fetch_in(shared, key)

    async def _fetch_in(self, shared: SharedLane, key: tuple[MeetingRef, str]) -> Found:
        try:
            with in_lane(shared):
                return await self._fetch(*key)
        finally:
            if self._lanes.get(key) is shared:
                del self._lanes[key]

    async def _fetch(self, ref: MeetingRef, userid: str) -> Found:
        replayed: Sequence[Meeting] | None
        try:
            replayed = await self._replays(ref, userid)
            missing = None
        except MeetingServiceError as error:
            if error.failure is Failure.NOT_CREATOR:
                return _not_creator(ref, userid)
            if error.failure is not Failure.NOT_FOUND or self._recordings is None:
                raise
            # A meeting that was only recorded may be unknown to the replays query.
            replayed, missing = None, error
        if self._recordings is None:
            return tuple(replayed or ())
        try:
            recorded = await self._recorded(self._recordings, ref, userid)
        except MeetingServiceError as error:
            if error.failure is Failure.NOT_CREATOR:
                return _not_creator(ref, userid)
            if error.failure is not Failure.NOT_FOUND:
                raise
            recorded = []
        if missing is not None and not recorded:
            raise missing
        vouched = {m.meeting_id for m in replayed or ()}
        if any(_someone_elses(r, userid) for r in recorded if r.meeting.meeting_id not in vouched):
            # Only the creator may read the replays, but admins may read the recordings: a
            # meeting the replays query did not vouch for, hosted by somebody else, is theirs.
            return _not_creator(ref, userid)
        return _merged(replayed or (), recorded)

    async def _replays(self, ref: MeetingRef, userid: str) -> Sequence[Meeting]:
        if ref.kind == "id":
            return await self._source.replays_by_id(ref.value, userid=userid)
        return await self._source.replays_by_code(ref.value, userid=userid)

    @staticmethod
    async def _recorded(
        source: RecordingSource, ref: MeetingRef, userid: str
    ) -> Sequence[Recorded]:
        if ref.kind == "id":
            return await source.recordings_by_id(ref.value, userid=userid)
        return await source.recordings_by_code(ref.value, userid=userid)

    async def player_pages(
        self, meetings: Iterable[Meeting], userid: str
    ) -> tuple[tuple[str, str], ...]:
        """Tencent's player page of the first few ready recording files nobody may open by a
        sharing link (`PLAYER_PAGES_PER_ANSWER`), as `userid` (the creator) may open them:
        (file_id, page) pairs. A page that cannot be had now is left out, not an error."""
        source = self._recordings
        if source is None:
            return ()

        async def page_of(file_id: str) -> tuple[str, str]:
            def load() -> Awaitable[str]:
                return source.player_page(file_id, userid=userid)

            try:
                return file_id, await self._player_pages.fetch((file_id, userid), load)
            except MeetingServiceError as error:
                log.info("player page of recording file %s: %s", file_id, error)
                return file_id, ""

        # Asked together: each is a call of its own, and the answer waits for the last.
        wanted = unshared_files(meetings)[:PLAYER_PAGES_PER_ANSWER]
        found = await asyncio.gather(*(page_of(file_id) for file_id in wanted))
        return tuple((file_id, page) for file_id, page in found if page)

    def kept_player_pages(
        self, meetings: Iterable[Meeting], userid: str
    ) -> tuple[tuple[str, str], ...] | None:
        """What `player_pages` would answer, from memory alone; None when it needs a call."""
        pages: list[tuple[str, str]] = []
        for file_id in unshared_files(meetings)[:PLAYER_PAGES_PER_ANSWER]:
            page = self._player_pages.get((file_id, userid))
            if page is None:
                return None
            if page:
                pages.append((file_id, page))
        return tuple(pages)


def unshared_files(meetings: Iterable[Meeting]) -> list[str]:
    """The ids of the ready recording files whose recording is not shared, in card order."""
    return [
        file.file_id
        for meeting in meetings
        for recording in meeting.recordings
        if recording.sharing is None and recording.state is RecordingState.READY
        for file in recording.files
    ]


def _not_creator(ref: MeetingRef, userid: str) -> Literal[LookupProblem.NOT_CREATOR]:
    log.info("lookup of %s %s: %s is not its creator", ref.kind, ref.value, userid)
    return LookupProblem.NOT_CREATOR


def _someone_elses(recorded: Recorded, userid: str) -> bool:
    return bool(recorded.host_userid) and recorded.host_userid != userid


def _merged(replayed: Sequence[Meeting], recorded: Sequence[Recorded]) -> tuple[Meeting, ...]:
    """One meeting per meeting ID: the replays query's meetings with their recordings added,
    then the meetings only the recordings query found."""
    recordings = {r.meeting.meeting_id: r.meeting for r in recorded}
    merged = []
    for meeting in replayed:
        extra = recordings.pop(meeting.meeting_id, None)
        if extra is not None:
            meeting = replace(
                meeting,
                code=meeting.code or extra.code,
                subject=meeting.subject or extra.subject,
                recordings=meeting.recordings + extra.recordings,
            )
        merged.append(meeting)
    return (*merged, *recordings.values())


def _result(ref: MeetingRef, found: Found) -> LookupResult:
    if isinstance(found, LookupProblem):
        return LookupResult(ref=ref, problem=found)
    return LookupResult(ref=ref, meetings=found)
