"""Replay polling: digests for deployments that Tencent's webhook cannot reach.

Without a webhook (no public URL, as with Socket Mode behind a firewall, or no Token configured),
no `meeting.end` ever arrives. For every subscription that names a meeting code, the poller looks
the code up now and then with the subscriber's userid (the creator's: `subscribe <code>` checks
that) and, when a meeting of that code has replays that no digest has posted yet, creates a digest
job for them. The digest machinery does the rest: recipients, posting, deliveries, retries.

What it cannot see: subscriptions to *all* of someone's meetings. Tencent's API (as this app uses
it, spec §1) has no "meetings this user created that ended lately" endpoint, so without the webhook
only named codes can be watched. Codes are also recycled 30 days after a meeting's scheduled start,
after which a code names someone else's meeting and its look-up fails as "not the creator".

Replays that exist when the poller first watches a code are recorded as known (a 'skipped' job)
and never posted: subscribing, or turning polling on, must not flood a channel with old replays.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Iterable

from bot.core.digests import Digests, replay_key
from bot.core.lookup import ReplayLookup
from bot.core.parsing import MeetingRef
from bot.meeting.models import MeetingReplays
from bot.store import Store

log = logging.getLogger(__name__)

#: the share of the Tencent call budget the poller may use; look-ups people ask for need the rest
BUDGET_SHARE = 0.25


def poll_interval(delay: float, watched: int, calls_per_minute: int) -> float:
    """Seconds between two looks at one code: DIGEST_DELAY_SECONDS, stretched when there are so
    many codes to watch that looking that often would take more than BUDGET_SHARE of the budget."""
    budget_floor = 60.0 * watched / (calls_per_minute * BUDGET_SHARE)
    return max(delay, budget_floor, 0.05)


def _occurrence_key(meeting_id: str, keys: Iterable[str]) -> str:
    # The same new replays give the same key, so instances polling together make one job.
    digest = hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()[:16]
    return f"poll:{meeting_id}:{digest}"


class ReplayPoller:
    def __init__(
        self,
        store: Store,
        lookup: ReplayLookup,
        digests: Digests,
        *,
        delay: float,
        calls_per_minute: int,
    ) -> None:
        self._store = store
        self._lookup = lookup
        self._digests = digests
        self._delay = delay
        self._calls_per_minute = calls_per_minute

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
        """Look at every watched code once; returns how many (userid, code) pairs were watched."""
        watched = await self._store.code_subscriptions()
        for userid, code in watched:
            await self._poll(userid, code)
        return len(watched)

    async def _poll(self, userid: str, code: str) -> None:
        result = await self._lookup.lookup(MeetingRef("code", code), userid, fresh=True)
        if result.problem is not None:
            log.info("replay poll of %s for %s: %s", code, userid, result.problem)
            return
        # The first look at a code sets the baseline; one instance wins it, in any number. These
        # seen_events keys must outlive any purge of old events: a forgotten one would make the
        # next look a baseline again, and replays that appeared since the last look go unposted.
        first_look = await self._store.first_sighting(f"poller:watch:{userid}:{code}")
        for meeting in result.meetings:
            await self._new_replays(meeting, userid, code, baseline=first_look)

    async def _new_replays(
        self, meeting: MeetingReplays, userid: str, code: str, *, baseline: bool
    ) -> None:
        known = await self._store.replays_posted_for_meeting(meeting.meeting_id)
        new = [replay_key(r) for r in meeting.live_replay_list if replay_key(r) not in known]
        if not new:
            return
        key = _occurrence_key(meeting.meeting_id, new)
        if baseline:
            await self._store.record_known_replays(
                occurrence_key=key,
                meeting_id=meeting.meeting_id,
                meeting_code=code,
                subject=meeting.subject,
                creator_userid=userid,
                replay_keys=new,
            )
            log.info("replay poll: %d replays of %s were there already", len(new), code)
            return
        jobs = await self._store.digests_for_meeting(meeting.meeting_id)
        if any(job.state == "pending" for job in jobs):
            return  # a digest is on its way already (it posts whatever is new when it runs)
        if await self._digests.replays_appeared(
            occurrence_key=key,
            meeting_id=meeting.meeting_id,
            meeting_code=code,
            subject=meeting.subject,
            creator_userid=userid,
        ):
            log.info("replay poll: %d new replays of %s", len(new), code)
