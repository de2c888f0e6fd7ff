"""Digests: after a meeting ends, post its replays to the channels that asked and to its creator.

The webhook only records a durable job per occurrence of a meeting (idempotent, so Tencent's
repeated `meeting.end` deliveries collapse into one; a recurring meeting's occurrences share a
meeting_id but get a job each). Without a webhook, `bot.core.poller` creates the jobs instead.
Workers in any number of instances claim due jobs under a lease, look up the replays with the
creator's userid, look again at growing intervals while there is no new replay, give up at the
configured time, and record each delivery so that no recipient gets a digest twice. A crashed
worker's lease expires and another instance finishes the job.

"New" replays: a recurring meeting's replay list still holds the replays of earlier occurrences,
so a job posts only the replays that no other job of the same meeting has posted.

Delivery is at least once per message and exactly once per recipient in the normal case: a
recipient's delivery is recorded only after all of its messages were posted, so a digest of several
messages that fails half-way is posted again from its first message on the next attempt (the
alternative, recording each message, would need a row per message for a rare failure).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

from bot.core.group_commit import GroupCommit
from bot.core.lookup import ReplayLookup
from bot.core.outcomes import LookupProblem
from bot.core.parsing import MeetingRef
from bot.meeting.models import LiveReplay, MeetingReplays
from bot.store import ROW_ERRORS, DigestJob, NewDigest, Store

log = logging.getLogger(__name__)

#: Problems that more waiting can fix; anything else ends the job.
_WORTH_RETRYING = {
    None,
    LookupProblem.NOT_FOUND,
    LookupProblem.BUSY,
    LookupProblem.UNAVAILABLE,
    LookupProblem.MALFORMED,
}


@dataclass(frozen=True)
class Recipient:
    kind: Literal["channel", "dm"]
    id: str
    #: whose Slack locale the digest is worded in
    reader: str | None = None

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"


class DeliveryRefused(Exception):
    """Slack refused a recipient for good (archived channel, bot not invited): do not try again."""


class DigestSink(Protocol):
    """Where digests go (Slack). Raises DeliveryRefused for a permanent refusal, anything else when
    the delivery should be tried again later."""

    async def deliver(self, recipient: Recipient, meeting: MeetingReplays) -> None: ...


@dataclass(frozen=True)
class DigestTiming:
    delay: float = 120.0
    give_up: float = 21600.0
    max_interval: float = 1800.0
    lease: float = 300.0
    poll: float = 1.0
    #: jobs processed at once by one instance (each mostly waits on Tencent and Slack)
    concurrency: int = 10

    def next_look(self, attempts: int) -> float:
        """Seconds until the next look-up: the initial delay, doubling, capped."""
        base = max(self.delay, 0.05)
        return float(min(base * 2 ** max(attempts - 1, 0), self.max_interval))


def _utcnow() -> datetime:
    return datetime.now(UTC)


def replay_key(replay: LiveReplay) -> str:
    """What tells replays of one meeting apart: Tencent gives them no id of their own."""
    return f"{replay.live_room_id} {replay.video_url}"


def only_new_replays(meeting: MeetingReplays, posted: set[str]) -> MeetingReplays:
    """`meeting` with just the replays whose keys are not in `posted`."""
    fresh = [r for r in meeting.live_replay_list if replay_key(r) not in posted]
    return meeting.model_copy(update={"live_replay_list": fresh})


class Digests:
    def __init__(
        self,
        store: Store,
        lookup: ReplayLookup,
        sink: DigestSink,
        *,
        timing: DigestTiming | None = None,
        worker_id: str | None = None,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._store = store
        self._lookup = lookup
        self._sink = sink
        self._timing = timing or DigestTiming()
        self._worker_id = worker_id or f"worker-{uuid.uuid4().hex[:12]}"
        self._clock = clock
        self._wake = asyncio.Event()
        #: when the worker plans to look for due jobs next, unless woken (None: it is looking now)
        self._next_round: datetime | None = None
        # A burst of meeting.end deliveries shares transactions instead of queueing for one each.
        self._intake = GroupCommit(store.enqueue_digests, split_on=ROW_ERRORS)

    async def meeting_ended(
        self,
        *,
        occurrence_key: str,
        meeting_id: str,
        meeting_code: str,
        subject: str,
        creator_userid: str,
        team_id: str | None = None,
    ) -> bool:
        """Record the durable job for one ended occurrence of a meeting; False when it existed.

        `occurrence_key` is equal for redeliveries of one end and differs between occurrences of a
        recurring meeting (`EndedMeeting.dedupe_key`).
        """
        due_at = self._clock() + timedelta(seconds=self._timing.delay)
        created = await self._intake.submit(
            NewDigest(
                occurrence_key=occurrence_key,
                meeting_id=meeting_id,
                meeting_code=meeting_code,
                subject=subject,
                creator_userid=creator_userid,
                team_id=team_id,
                due_at=due_at,
            )
        )
        if created:
            log.info("digest job created for meeting %s (creator %s)", meeting_id, creator_userid)
            self._wake_for(due_at)
        return created

    async def replays_appeared(
        self,
        *,
        occurrence_key: str,
        meeting_id: str,
        meeting_code: str,
        subject: str,
        creator_userid: str,
    ) -> bool:
        """Record a job due now for replays found without a `meeting.end` (the poller); False
        when a job with this key existed."""
        created = await self._store.enqueue_digest(
            NewDigest(
                occurrence_key=occurrence_key,
                meeting_id=meeting_id,
                meeting_code=meeting_code,
                subject=subject,
                creator_userid=creator_userid,
                team_id=None,
                due_at=self._clock(),
            )
        )
        if created:
            self._wake.set()
        return created

    def _wake_for(self, due_at: datetime) -> None:
        # Only when the job falls due before the worker's next round anyway: during a burst of
        # meeting.end events (due minutes later) a round per event would be wasted queries.
        if self._next_round is None or due_at < self._next_round:
            self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Process due jobs, up to `concurrency` at a time, until `stop` is set; jobs under way
        then finish (their leases would otherwise hold them for `lease` seconds).

        A job is claimed as soon as a slot is free, not once a whole batch is done, so one slow
        meeting never holds up the others. A failing round is logged and retried.
        """
        running: dict[int, asyncio.Task[None]] = {}
        while not stop.is_set():
            # Cleared before the round: a job enqueued (or finished) meanwhile wakes the wait at once.
            self._wake.clear()
            free = self._timing.concurrency - len(running)
            pause = self._timing.poll
            try:
                if free > 0:
                    claimed = await self._claim(free)
                    for job in claimed:
                        # A job still running here whose lease ran out comes back with a fresh
                        # lease: it is ours already, and a second run would post it twice.
                        if job.id not in running:
                            running[job.id] = asyncio.create_task(self._process(job))
                            running[job.id].add_done_callback(self._job_done(running, job.id))
                    if len(claimed) < free:
                        pause = await self._until_next_due()
                # else (or all slots now taken): wait for a slot; a finishing job wakes us
            except Exception:
                log.exception("digest round failed; trying again shortly")
            self._next_round = self._clock() + timedelta(seconds=pause)
            waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wake.wait())]
            await asyncio.wait(waiters, timeout=pause, return_when="FIRST_COMPLETED")
            for waiter in waiters:
                waiter.cancel()
            self._next_round = None
        if running:
            await asyncio.gather(*running.values(), return_exceptions=True)

    def _job_done(
        self, running: dict[int, asyncio.Task[None]], job_id: int
    ) -> Callable[[asyncio.Task[None]], None]:
        def done(task: asyncio.Task[None]) -> None:
            running.pop(job_id, None)
            self._wake.set()  # a slot is free
            if not task.cancelled() and (error := task.exception()) is not None:
                # Its lease runs out and another round (here or elsewhere) takes the job again.
                log.error("digest job %d crashed", job_id, exc_info=error)

        return done

    async def _until_next_due(self) -> float:
        """Seconds to sleep: until this database's next job falls due, at most `poll` (jobs that
        other instances enqueue or release are seen within `poll`)."""
        due = await self._store.next_digest_due()
        if due is None:
            return self._timing.poll
        # A floor, so that a job due "now" but leased elsewhere cannot make the loop spin.
        return min(max((due - self._clock()).total_seconds(), 0.01), self._timing.poll)

    async def _claim(self, limit: int) -> list[DigestJob]:
        return await self._store.claim_due_digests(
            worker_id=self._worker_id,
            now=self._clock(),
            lease_seconds=self._timing.lease,
            limit=limit,
        )

    async def recipients(self, job: DigestJob) -> list[Recipient]:
        found: dict[str, Recipient] = {}
        for sub in await self._store.subscriptions_for_meeting(
            job.creator_userid, job.meeting_code
        ):
            found.setdefault(
                f"channel:{sub.channel_id}", Recipient("channel", sub.channel_id, sub.created_by)
            )
        for link in await self._store.links_for_tencent_user(job.creator_userid):
            if await self._store.dm_digests_enabled(link.team_id, link.slack_user_id):
                found.setdefault(
                    f"dm:{link.slack_user_id}",
                    Recipient("dm", link.slack_user_id, link.slack_user_id),
                )
        return list(found.values())

    async def _process(self, job: DigestJob) -> None:
        keeping = asyncio.create_task(self._keep_lease(job))
        try:
            await self._attempt(job)
        except Exception:
            if self._past_give_up(job):
                log.exception("digest for meeting %s failed for good", job.meeting_id)
                await self._finish(job, "failed")
            else:
                log.exception("digest for meeting %s failed; will retry", job.meeting_id)
                await self._retry_later(job)
        finally:
            keeping.cancel()

    async def _keep_lease(self, job: DigestJob) -> None:
        """Renew the job's lease every third of it while the job runs, so that a slow job (Slack
        asking to wait, the Tencent budget full) is not taken up by another instance meanwhile."""
        while True:
            await asyncio.sleep(self._timing.lease / 3)
            until = self._clock() + timedelta(seconds=self._timing.lease)
            try:
                if not await self._store.renew_lease(
                    job.id, worker_id=self._worker_id, until=until
                ):
                    # Finished a moment ago, or (rarely) taken over after a renewal came too late.
                    log.info("digest job %d: its lease is no longer this worker's", job.id)
                    return
            except Exception:
                log.warning("digest job %d: could not renew its lease", job.id, exc_info=True)

    async def _attempt(self, job: DigestJob) -> None:
        recipients = await self.recipients(job)
        if not recipients:
            log.info("digest for meeting %s has no recipients", job.meeting_id)
            await self._finish(job, "no_recipients")
            return
        ref = MeetingRef("id", job.meeting_id)
        result = await self._lookup.lookup(ref, job.creator_userid, fresh=True)
        posted = await self._store.replays_posted_for_meeting(job.meeting_id, excluding_job=job.id)
        found = (only_new_replays(m, posted) for m in result.meetings)
        meeting = next((m for m in found if m.live_replay_list), None)
        if meeting is None:
            if result.problem not in _WORTH_RETRYING:
                log.warning("digest for meeting %s stopped: %s", job.meeting_id, result.problem)
                await self._finish(job, "failed")
            elif self._past_give_up(job):
                log.info("no replay appeared for meeting %s; giving up", job.meeting_id)
                await self._finish(job, "gave_up")
            else:
                await self._retry_later(job)
            return
        delivered = await self._store.deliveries(job.id)
        for recipient in recipients:
            if recipient.key in delivered:
                continue
            try:
                # Recorded below only once every message of the digest went out (module docstring).
                await self._sink.deliver(recipient, meeting)
            except DeliveryRefused as refusal:
                log.warning(
                    "digest for meeting %s not delivered to %s: %s",
                    job.meeting_id,
                    recipient.key,
                    refusal,
                )
            await self._store.record_delivery(job.id, recipient.key)
        log.info("digest for meeting %s posted to %d recipients", job.meeting_id, len(recipients))
        keys = [replay_key(replay) for replay in meeting.live_replay_list]
        await self._finish(job, "posted", posted_replays=keys)

    def _give_up_at(self, job: DigestJob) -> datetime:
        return job.created_at + timedelta(seconds=self._timing.give_up)

    def _past_give_up(self, job: DigestJob) -> bool:
        return self._clock() >= self._give_up_at(job)

    async def _retry_later(self, job: DigestJob) -> None:
        attempts = job.attempts + 1
        due = self._clock() + timedelta(seconds=self._timing.next_look(attempts))
        # The last look happens at the give-up time, not up to one (long) interval after it.
        due = min(due, self._give_up_at(job))
        await self._store.reschedule_digest(
            job.id, worker_id=self._worker_id, due_at=due, attempts=attempts
        )

    async def _finish(
        self, job: DigestJob, outcome: str, *, posted_replays: list[str] | None = None
    ) -> None:
        await self._store.finish_digest(
            job.id, worker_id=self._worker_id, outcome=outcome, posted_replays=posted_replays or ()
        )
