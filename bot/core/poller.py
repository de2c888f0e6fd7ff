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
  (`bot.core.meetings.occurrence_key`), so a meeting found twice (by two instances, or in
  overlapping windows) is one job. The history lists meetings the user only attended too, without
  saying who created them: their jobs end when Tencent refuses the replay query ("not the
  creator") and post nothing. The first window reaches back `DIGEST_GIVE_UP_SECONDS`, and so
  does a window after a long stop, at most (older meetings are past their digests' give-up time).

The digest machinery does the rest: recipients (subject filters included), posting, deliveries,
retries; replays already posted are not posted again. A look-up finds a meeting's cloud recordings
too, so a watched code's new recording files are posted (or added to the place's digest) like late
replays, and a digest of the history whose meeting has a recording still being transcoded follows
it (`bot.core.digest_rules`, `follow_recordings`). The poller's Tencent calls (a look-up per
code, `calls_per_lookup` calls each; a history page or more per creator) wait in the budget's
background lane, behind people's look-ups (`bot.core.lanes.Lane`), and stay within
`BUDGET_SHARE` of the call budget: rounds are spaced `DIGEST_DELAY_SECONDS` apart, or further when a round made more calls than that share
allows, and each creator's history costs at most `HISTORY_MAX_PAGES` calls per round.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from bot.core.digest_rules import DigestRules
from bot.core.failures import MeetingServiceError
from bot.core.lanes import Lane, in_lane
from bot.core.lookup import ReplayLookup
from bot.core.meetings import HistoryEntry, Meeting, MeetingRef, occurrence_key
from bot.core.records import EndedMeeting, JobState
from bot.core.sources import HistorySource
from bot.core.storage import Storage, StorageUnavailable
from bot.core.waiting import wait_until_set

log = logging.getLogger(__name__)

#: the share of the Tencent call budget the poller may use; look-ups people ask for need the rest
BUDGET_SHARE = 0.25
#: Tencent calls one look-up of a code makes when it asks for cloud recordings too: its live
#: replays and (one page of) its recordings
CALLS_WITH_RECORDINGS = 2
#: seen-event keys of the poller's first looks, never purged
WATCH_KEY_PREFIX = "poller:watch:"

#: history pages (a Tencent call each) read per creator and round, at most
HISTORY_MAX_PAGES = 3
#: each history window starts this much before the last one ended: a meeting Tencent lists a little
#: late is still found (found twice, it is still one job)
HISTORY_OVERLAP = timedelta(minutes=5)


def poll_interval(delay: float, watched: int, calls_per_minute: int) -> float:
    """Seconds between two rounds: DIGEST_DELAY_SECONDS, stretched when a round makes so many
    Tencent calls (`watched`: one per watched code, one or more per creator's history) that
    polling that often would take more than BUDGET_SHARE of the budget."""
    budget_floor = 60.0 * watched / (calls_per_minute * BUDGET_SHARE)
    return max(delay, budget_floor, 0.05)


def _replays_key(meeting_id: str, keys: Iterable[str]) -> str:
    # The same new replays give the same key, so instances polling together make one job.
    digest = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:16]
    return f"poll:{meeting_id}:{digest}"


class ReplayPoller:
    def __init__(
        self,
        lookup: ReplayLookup,
        digests: DigestRules,
        storage: Storage,
        *,
        delay: float,
        calls_per_minute: int,
        history: HistorySource | None = None,
        give_up: float = 21600.0,
        calls_per_lookup: int = 1,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        #: what one look-up of a code costs (`CALLS_WITH_RECORDINGS` when recordings are asked)
        self._calls_per_lookup = calls_per_lookup
        self._lookup = lookup
        self._digests = digests
        self._storage = storage
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
            except StorageUnavailable:
                # The outage is logged once (bot.core.outage), not once per round.
                log.info("replay poll round skipped: the database is unavailable")
            except Exception:
                log.exception("replay poll round failed; trying again later")
            pause = poll_interval(self._delay, watched, self._calls_per_minute)
            await wait_until_set(stop, at_most=pause)

    async def run_once(self) -> int:
        """Look at every watched code once and read the new history of every creator with an
        all-meetings subscription; returns how many Tencent calls that took (about). Its calls
        wait in the budget's background lane: people's look-ups go first."""
        with in_lane(Lane.BACKGROUND):
            subscriptions = self._storage.subscriptions
            watched = await subscriptions.watched_codes()
            for userid, code in watched:
                await self._poll(userid, code)
            calls = len(watched) * self._calls_per_lookup
            if self._history is not None:
                for userid in await subscriptions.all_meetings_creators():
                    calls += await self._read_history(self._history, userid)
            return calls

    async def _read_history(self, history: HistorySource, userid: str) -> int:
        """Make a digest job of each meeting of `userid` that ended since the last window; returns
        the calls made. A failed query leaves the window where it was, for the next round."""
        now = self._clock()
        oldest = now - self._give_up
        # The window's end never moves back, so instances polling together agree on it.
        read_until = await self._storage.poll_windows.window_end(userid)
        start = oldest if read_until is None else max(read_until - HISTORY_OVERLAP, oldest)
        try:
            history_read = await history.ended_meetings(
                userid, start=start, end=now, max_pages=HISTORY_MAX_PAGES
            )
        except MeetingServiceError as error:
            log.info("history poll of %s: %s", userid, error)
            return 1
        ended = history_read.entries
        created = 0
        for entry in ended:
            created += await self._digests.meeting_ended(_ended(entry, userid))
        await self._storage.poll_windows.advance(userid, now)
        if created:
            log.info("history poll of %s: %d ended meetings, %d new", userid, len(ended), created)
        return history_read.calls

    async def _poll(self, userid: str, code: str) -> None:
        result = await self._lookup.lookup(MeetingRef("code", code), userid, fresh=True)
        if result.problem is not None:
            log.info("replay poll of %s for %s: %s", code, userid, result.problem)
            return
        # The first look at a code sets the baseline; one instance wins it, in any number.
        first_look = await self._first_watch(userid, code)
        for meeting in result.meetings:
            await self._new_replays(meeting, userid, code, baseline=first_look)

    async def _first_watch(self, userid: str, code: str) -> bool:
        """True for the very first look at this code for this creator, in any instance. These keys
        must outlive any purge of old events: a forgotten one would make the next look a first
        again, and replays that appeared since the last look would go unposted."""
        return await self._storage.events.first_sighting(f"{WATCH_KEY_PREFIX}{userid}:{code}")

    async def _digest_pending(self, meeting_id: str) -> bool:
        """Whether a digest of this meeting is on its way (it posts whatever is new when it runs)."""
        jobs = await self._storage.digest_jobs.for_meeting(meeting_id)
        return any(job.state is JobState.PENDING for job in jobs)

    async def _new_replays(
        self, meeting: Meeting, userid: str, code: str, *, baseline: bool
    ) -> None:
        jobs = self._storage.digest_jobs
        # Replays a digest posted, or that were there before anyone watched, are never posted.
        known = await jobs.replays_posted_for_meeting(meeting.meeting_id)
        new = list(meeting.without(known).keys)
        if not new:
            return
        ended = EndedMeeting(
            occurrence_key=_replays_key(meeting.meeting_id, new),
            meeting_id=meeting.meeting_id,
            meeting_code=code,
            subject=meeting.subject,
            creator_userid=userid,
        )
        if baseline:
            await jobs.record_known_replays(ended, new)
            log.info("replay poll: %d replays of %s were there already", len(new), code)
            return
        if await self._digest_pending(meeting.meeting_id):
            return  # a digest is on its way already (it posts whatever is new when it runs)
        if await self._digests.replays_appeared(ended):
            log.info("replay poll: %d new replays of %s", len(new), code)


def _ended(entry: HistoryEntry, creator_userid: str) -> EndedMeeting:
    """A history entry as the digest job a `meeting.end` of it would make."""
    return EndedMeeting(
        occurrence_key=occurrence_key(entry.meeting_id, start=entry.start),
        meeting_id=entry.meeting_id,
        meeting_code=entry.code,
        subject=entry.subject,
        creator_userid=creator_userid,
        start_time=entry.start,
        end_time=entry.end,
        meeting_type=int(entry.recurring),
    )
