"""The one lookup path: a meeting reference and a creator's userid → a `LookupResult`.

The slash command, mentions, the share button, digests and the CLI all come through here. Identical
look-ups that arrive together share one Tencent call (coalescing) and a short cache answers repeats;
`fresh=True` is the explicit refresh. Cache keys include the userid, because Tencent answers only the
creator: a result fetched for one person is never handed to another.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.core.outcomes import LookupProblem, LookupResult
from bot.core.parsing import MeetingRef
from bot.meeting import errors
from bot.meeting.models import MeetingReplays

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
    #: the cache is for bursts and second looks within a minute, not an archive: 2,000 distinct
    #: meetings asked about in one minute is far beyond one workspace, and memory stays flat
    max_entries: int = 2_000


_Key = tuple[str, str, str]


class ReplayLookup:
    def __init__(
        self,
        source: ReplaySource,
        *,
        cache: CachePolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._policy = cache or CachePolicy()
        self._clock = clock
        self._cache: OrderedDict[_Key, tuple[float, tuple[MeetingReplays, ...]]] = OrderedDict()
        self._in_flight: dict[_Key, asyncio.Future[tuple[MeetingReplays, ...]]] = {}

    async def lookup(self, ref: MeetingRef, userid: str, *, fresh: bool = False) -> LookupResult:
        try:
            meetings = await self._meetings(ref, userid, fresh=fresh)
        except errors.TencentMeetingError as error:
            problem = problem_for(error)
            level = logging.ERROR if problem is LookupProblem.MISCONFIGURED else logging.INFO
            log.log(level, "lookup of %s %s failed: %s", ref.kind, ref.value, error)
            return LookupResult(ref=ref, problem=problem)
        return LookupResult(ref=ref, meetings=meetings)

    async def lookup_many(
        self, refs: Iterable[MeetingRef], userid: str, *, fresh: bool = False
    ) -> list[LookupResult]:
        return list(await asyncio.gather(*(self.lookup(r, userid, fresh=fresh) for r in refs)))

    def forget(self, refs: Sequence[MeetingRef], userid: str) -> None:
        for ref in refs:
            self._cache.pop((ref.kind, ref.value, userid), None)

    async def _meetings(
        self, ref: MeetingRef, userid: str, *, fresh: bool
    ) -> tuple[MeetingReplays, ...]:
        key: _Key = (ref.kind, ref.value, userid)
        if not fresh and (cached := self._cached(key)) is not None:
            return cached
        pending = self._in_flight.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._fetch(ref, userid))
            self._in_flight[key] = pending
            pending.add_done_callback(lambda done: self._settle(key, done))
        # shield: one impatient caller being cancelled must not cancel the call the others share
        return await asyncio.shield(pending)

    async def _fetch(self, ref: MeetingRef, userid: str) -> tuple[MeetingReplays, ...]:
        if ref.kind == "id":
            found = await self._source.replays_by_id(ref.value, userid=userid)
        else:
            found = await self._source.replays_by_code(ref.value, userid=userid)
        return tuple(found)

    def _settle(self, key: _Key, done: asyncio.Future[tuple[MeetingReplays, ...]]) -> None:
        self._in_flight.pop(key, None)
        if done.cancelled() or done.exception() is not None:
            return
        meetings = done.result()
        has_replays = any(m.live_replay_list for m in meetings)
        ttl = self._policy.with_replays if has_replays else self._policy.without_replays
        self._cache[key] = (self._clock() + ttl, meetings)
        self._cache.move_to_end(key)
        while len(self._cache) > self._policy.max_entries:
            self._cache.popitem(last=False)

    def _cached(self, key: _Key) -> tuple[MeetingReplays, ...] | None:
        entry = self._cache.get(key)
        if entry is None:
            return None
        expires, meetings = entry
        if self._clock() >= expires:
            del self._cache[key]
            return None
        return meetings
