"""Replay polling: digests for deployments that Tencent's webhook cannot reach.

Without a webhook (no public URL, as with Socket Mode behind a firewall, or no Token configured),
no `meeting.end` ever arrives. For every subscription that names a meeting code, the poller looks
the code up now and then with the subscriber's userid (the creator's: `subscribe <code>` checks
that) and, when a meeting of that code has replays that no digest has posted yet, creates a digest
job for them. The digest machinery does the rest: recipients, posting, deliveries, retries.

What it does not see yet: subscriptions to *all* of someone's meetings (that needs Tencent's
"ended meetings of a user" history query), so without the webhook only named codes are watched. Codes are also recycled 30 days after a meeting's scheduled start,
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

from bot.core.digest_rules import DigestRules, replay_key
from bot.core.lookup import ReplayLookup
from bot.core.parsing import MeetingRef
from bot.core.records import EndedMeeting
from bot.meeting.models import MeetingReplays

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
        lookup: ReplayLookup,
        digests: DigestRules,
        *,
        delay: float,
        calls_per_minute: int,
    ) -> None:
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
        watched = await self._digests.watched_codes()
        for userid, code in watched:
            await self._poll(userid, code)
        return len(watched)

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
