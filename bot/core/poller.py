"""Replay polling: digests for deployments that Tencent's webhook cannot reach.

Without a webhook (no public URL, as with Socket Mode behind a firewall, or no Token configured),
no `meeting.end` ever arrives. Each round the poller does two things:

- **Named codes.** For every subscription that names a meeting code, it looks the code up with the
  subscriber's userid (the creator's: `subscribe <code>` checks that) and, when a meeting of that
  code has replays that no digest has posted yet, creates a digest job for them. Replays that
  exist when the poller first watches a code are recorded as known (a 'skipped' job) and never
  posted: subscribing, or turning polling on, must not flood a channel with old replays. Codes are
  recycled 30 days after a meeting's scheduled start, after which a code names someone else's
  meeting and its look-up fails as "not the creator".
- **All my meetings.** For every creator with a subscription to all (or a filter) of their
  meetings, it reads Tencent's ended-meetings history (`GET /v1/history/meetings/{userid}`, both
  bounds sent) from where the last round stopped (`poll_windows`, kept in the database and only
  ever moved forward, so instances polling together agree) to now, and makes each meeting found an
  ordinary digest job, as a `meeting.end` would: same occurrence key
  (`meeting.end:{meeting_id}:{start_time}`), so a meeting found twice (by two instances, or in
  overlapping windows) is one job. The history lists meetings the user only attended too, without
  saying who created them: their jobs end when Tencent refuses the replay query ("not the
  creator") and post nothing. The first window reaches back `DIGEST_GIVE_UP_SECONDS`, and so
  does a window after a long stop, at most (older meetings are past their digests' give-up time).

The digest machinery does the rest: recipients (subject filters included), posting, deliveries,
retries; replays already posted are not posted again. The poller's Tencent calls (a look-up per
code, a history page or more per creator) wait in the budget's background lane, behind people's
look-ups (`bot.meeting.quota.Lane`), and stay within `BUDGET_SHARE` of the call budget: rounds
are spaced `DIGEST_DELAY_SECONDS` apart, or further when a round made more calls than that share
allows, and each creator's history costs at most `HISTORY_MAX_PAGES` calls per round.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from bot.core.digest_rules import DigestRules, replay_key
from bot.core.lookup import ReplayLookup
from bot.core.parsing import MeetingRef
from bot.core.records import EndedMeeting
from bot.meeting.errors import TencentMeetingError
from bot.meeting.models import HistoryMeeting, MeetingReplays
from bot.meeting.quota import Lane, in_lane

log = logging.getLogger(__name__)

#: the share of the Tencent call budget the poller may use; look-ups people ask for need the rest
BUDGET_SHARE = 0.25


#: history pages (of 20 meetings) read per creator and round, at most
HISTORY_MAX_PAGES = 3
#: each history window starts this much before the last one ended: a meeting Tencent lists a little
#: late is still found (found twice, it is still one job)
HISTORY_OVERLAP = timedelta(minutes=5)
#: Tencent's history page size: a full page means another call was made for the next one
_HISTORY_PAGE_SIZE = 20


def poll_interval(delay: float, watched: int, calls_per_minute: int) -> float:
    """Seconds between two rounds: DIGEST_DELAY_SECONDS, stretched when a round makes so many
    Tencent calls (`watched`: one per watched code, one or more per creator's history) that
    polling that often would take more than BUDGET_SHARE of the budget."""
    budget_floor = 60.0 * watched / (calls_per_minute * BUDGET_SHARE)
    return max(delay, budget_floor, 0.05)


class MeetingHistory(Protocol):
    """Tencent's ended-meetings query (`TencentMeetingClient.ended_meetings`)."""

    async def ended_meetings(
        self, userid: str, *, start: datetime, end: datetime, max_pages: int = 10
    ) -> list[HistoryMeeting]: ...


def history_occurrence_key(meeting: HistoryMeeting) -> str:
    """The occurrence key a `meeting.end` webhook gives this meeting (without a sub-meeting id,
    which the history does not tell), so that one ended meeting is one job however learnt of."""
    start = str(int(meeting.start_time.timestamp())) if meeting.start_time else ""
    return f"meeting.end:{meeting.meeting_id}:{start}"


def _pages_read(found: int) -> int:
    """How many history calls a query that found `found` meetings made (a full page asks for the
    next), within HISTORY_MAX_PAGES."""
    return min(found // _HISTORY_PAGE_SIZE + 1, HISTORY_MAX_PAGES)


def _occurrence_key(meeting_id: str, keys: Iterable[str]) -> str:
    # The same new replays give the same key, so instances polling together make one job.
    digest = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:16]
    return f"poll:{meeting_id}:{digest}"


class ReplayPoller:
    def __init__(
        self,
        lookup: ReplayLookup,
        digests: DigestRules,
        *,
        delay: float,
        calls_per_minute: int,
        history: MeetingHistory | None = None,
        give_up: float = 21600.0,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._lookup = lookup
        self._digests = digests
        self._delay = delay
        self._calls_per_minute = calls_per_minute
        self._history = history
        self._give_up = timedelta(seconds=give_up)
        self._clock = clock or (lambda: datetime.now(UTC))

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set; a failing round is logged and the next one comes anyway."""
        while not stop.is_set():
            watched = 1
            try:
                watched = max(await self.run_once(), 1)
            except Exception:
                log.exception("replay poll round failed; trying again later")
            pause = poll_interval(self._delay, watched, self._calls_per_minute)
            # A timeout is the normal way out: time for the next round.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)

    async def run_once(self) -> int:
        """Look at every watched code once and read the new history of every creator with an
        all-meetings subscription; returns how many Tencent calls that took (about). Its calls
        wait in the budget's background lane: people's look-ups go first."""
        with in_lane(Lane.BACKGROUND):
            watched = await self._digests.watched_codes()
            for userid, code in watched:
                await self._poll(userid, code)
            calls = len(watched)
            if self._history is not None:
                for userid in await self._digests.all_meetings_creators():
                    calls += await self._read_history(self._history, userid)
            return calls

    async def _read_history(self, history: MeetingHistory, userid: str) -> int:
        """Make a digest job of each meeting of `userid` that ended since the last window; returns
        the calls made. A failed query leaves the window where it was, for the next round."""
        now = self._clock()
        oldest = now - self._give_up
        read_until = await self._digests.history_read_until(userid)
        start = oldest if read_until is None else max(read_until - HISTORY_OVERLAP, oldest)
        try:
            ended = await history.ended_meetings(
                userid, start=start, end=now, max_pages=HISTORY_MAX_PAGES
            )
        except TencentMeetingError as error:
            log.info("history poll of %s: %s", userid, error)
            return 1
        created = 0
        for meeting in ended:
            job = EndedMeeting(
                occurrence_key=history_occurrence_key(meeting),
                meeting_id=meeting.meeting_id,
                meeting_code=meeting.meeting_code,
                subject=meeting.subject,
                creator_userid=userid,
                start_time=meeting.start_time,
                end_time=meeting.end_time,
                meeting_type=meeting.meeting_type,
            )
            created += await self._digests.meeting_ended(job)
        await self._digests.history_read(userid, now)
        if created:
            log.info("history poll of %s: %d ended meetings, %d new", userid, len(ended), created)
        return _pages_read(len(ended))

    async def _poll(self, userid: str, code: str) -> None:
        result = await self._lookup.lookup(MeetingRef("code", code), userid, fresh=True)
        if result.problem is not None:
            log.info("replay poll of %s for %s: %s", code, userid, result.problem)
            return
        # The first look at a code sets the baseline; one instance wins it, in any number.
        first_look = await self._digests.first_watch(userid, code)
        for meeting in result.meetings:
            await self._new_replays(meeting, userid, code, baseline=first_look)

    async def _new_replays(
        self, meeting: MeetingReplays, userid: str, code: str, *, baseline: bool
    ) -> None:
        known = await self._digests.known_replays(meeting.meeting_id)
        new = [replay_key(r) for r in meeting.live_replay_list if replay_key(r) not in known]
        if not new:
            return
        ended = EndedMeeting(
            occurrence_key=_occurrence_key(meeting.meeting_id, new),
            meeting_id=meeting.meeting_id,
            meeting_code=code,
            subject=meeting.subject,
            creator_userid=userid,
        )
        if baseline:
            await self._digests.never_post(ended, new)
            log.info("replay poll: %d replays of %s were there already", len(new), code)
            return
        if await self._digests.digest_pending(meeting.meeting_id):
            return  # a digest is on its way already (it posts whatever is new when it runs)
        if await self._digests.replays_appeared(ended):
            log.info("replay poll: %d new replays of %s", len(new), code)
