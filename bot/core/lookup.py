"""The one lookup path: a meeting reference and a creator's userid → a `LookupResult`.

The slash command, mentions, the share button, digests and the CLI all come through here. Identical
look-ups that arrive together share one Tencent call (coalescing) and a short cache answers repeats;
`fresh=True` is the explicit refresh. Cache keys include the userid, because Tencent answers only the
creator: a result fetched for one person is never handed to another. A shared call waits in the call
budget's people lane as soon as one of its callers is a person (`bot.core.lanes.SharedLane`): a
person asking what a digest is looking up right now never waits behind other digests.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from bot.core import correlation
from bot.core.failures import Failure, MeetingServiceError
from bot.core.lanes import SharedLane, current_lane, in_lane
from bot.core.meetings import Meeting, MeetingRef
from bot.core.memo import Memo
from bot.core.outcomes import LookupProblem, LookupResult, problem_for
from bot.core.sources import ReplaySource

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CachePolicy:
    """How long answers are reused. Empty replay lists live shorter: replays appear after a while."""

    with_replays: float = 60.0
    without_replays: float = 15.0
    #: "not the creator" never changes for a meeting and a userid; a code names another meeting
    #: only once it is recycled, 30 days after its meeting's scheduled start
    not_creator: float = 3600.0
    #: the cache is for bursts and second looks within a minute, not an archive: 2,000 distinct
    #: meetings asked about in one minute is far beyond one workspace, and memory stays flat
    max_entries: int = 2_000

    def ttl(self, found: Found) -> float:
        if isinstance(found, LookupProblem):
            return self.not_creator
        has_replays = any(meeting.has_replays for meeting in found)
        return self.with_replays if has_replays else self.without_replays


#: what one Tencent query found: the meetings, or that the asker is not their creator (an answer
#: kept like meetings are, so that hundreds asking about someone else's meeting cost one call each)
Found = tuple[Meeting, ...] | Literal[LookupProblem.NOT_CREATOR]


class ReplayLookup:
    def __init__(
        self,
        source: ReplaySource,
        *,
        cache: CachePolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        policy = cache or CachePolicy()
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
        try:
            if ref.kind == "id":
                found = await self._source.replays_by_id(ref.value, userid=userid)
            else:
                found = await self._source.replays_by_code(ref.value, userid=userid)
        except MeetingServiceError as error:
            if error.failure is not Failure.NOT_CREATOR:
                raise
            log.info("lookup of %s %s: %s is not its creator", ref.kind, ref.value, userid)
            return LookupProblem.NOT_CREATOR
        return tuple(found)


def _result(ref: MeetingRef, found: Found) -> LookupResult:
    if isinstance(found, LookupProblem):
        return LookupResult(ref=ref, problem=found)
    return LookupResult(ref=ref, meetings=found)
