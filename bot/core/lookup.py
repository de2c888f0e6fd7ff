"""The one lookup path: a meeting reference and a creator's userid → a `LookupResult`.

The slash command, mentions, the share button, digests and the CLI all come through here. Identical
look-ups that arrive together share one Tencent call (coalescing) and a short cache answers repeats;
`fresh=True` is the explicit refresh. Cache keys include the userid, because Tencent answers only the
creator: a result fetched for one person is never handed to another. A shared call waits in the call
budget's people lane as soon as one of its callers is a person (`bot.meeting.quota.SharedLane`): a
person asking what a digest is looking up right now never waits behind other digests.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

from bot.core import correlation
from bot.core.memo import Memo
from bot.core.outcomes import LookupProblem, LookupResult
from bot.core.parsing import MeetingRef
from bot.meeting import errors
from bot.meeting.models import MeetingReplays
from bot.meeting.quota import SharedLane, current_lane, in_lane

log = logging.getLogger(__name__)


class ReplaySource(Protocol):
    """What the lookup needs from the Tencent Meeting client."""

    async def replays_by_code(self, meeting_code: str, *, userid: str) -> list[MeetingReplays]: ...

    async def replays_by_id(self, meeting_id: str, *, userid: str) -> list[MeetingReplays]: ...


_PROBLEMS: tuple[tuple[type[errors.TencentMeetingError], LookupProblem], ...] = (
    (errors.NotCreatorError, LookupProblem.NOT_CREATOR),
    (errors.MeetingNotFoundError, LookupProblem.NOT_FOUND),
    (errors.UserNotRegisteredError, LookupProblem.USER_NOT_REGISTERED),
    (errors.QuotaExceededError, LookupProblem.BUSY),
    (errors.RateLimitTimeoutError, LookupProblem.BUSY),
    (errors.CredentialsError, LookupProblem.MISCONFIGURED),
    (errors.MalformedResponseError, LookupProblem.MALFORMED),
    (errors.UnavailableError, LookupProblem.UNAVAILABLE),
)


def problem_for(error: errors.TencentMeetingError) -> LookupProblem:
    """The user-facing category of a Tencent failure."""
    for kind, problem in _PROBLEMS:
        if isinstance(error, kind):
            return problem
    return LookupProblem.UNAVAILABLE


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
        has_replays = any(meeting.live_replay_list for meeting in found)
        return self.with_replays if has_replays else self.without_replays


#: what one Tencent query found: the meetings, or that the asker is not their creator (an answer
#: kept like meetings are, so that hundreds asking about someone else's meeting cost one call each)
Found = tuple[MeetingReplays, ...] | Literal[LookupProblem.NOT_CREATOR]


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
            except errors.TencentMeetingError as error:
                problem = problem_for(error)
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

    async def lookup_many(
        self, refs: Iterable[MeetingRef], userid: str, *, fresh: bool = False
    ) -> list[LookupResult]:
        return list(await asyncio.gather(*(self.lookup(r, userid, fresh=fresh) for r in refs)))

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
        except errors.NotCreatorError:
            log.info("lookup of %s %s: %s is not its creator", ref.kind, ref.value, userid)
            return LookupProblem.NOT_CREATOR
        return tuple(found)


def _result(ref: MeetingRef, found: Found) -> LookupResult:
    if isinstance(found, LookupProblem):
        return LookupResult(ref=ref, problem=found)
    return LookupResult(ref=ref, meetings=found)
