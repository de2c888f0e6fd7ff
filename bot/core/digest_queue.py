"""The durable digest job queue: create jobs, claim due ones under a lease, keep the lease while a
job runs, and close or reschedule each as its work says.

What a job's work *is* (who receives it, what is new, when to give up) is `bot.core.digest_rules`'
business: the queue runs `work(job)` and applies the `Verdict` it returns. Jobs are claimed as soon
as a slot is free (up to `concurrency` at once), so one slow meeting never holds up the others; a
crashed worker's lease runs out and any instance takes the job up again. A job's Tencent calls
are background work in the call budget (`bot.core.lanes.Lane`): people's look-ups go first.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from bot.core import correlation
from bot.core.clock import utcnow
from bot.core.digest_sink import DeliveryCutShort
from bot.core.group_commit import GroupCommit
from bot.core.lanes import Lane, bind_lane
from bot.core.records import DigestJob, JobState, NewDigest
from bot.core.storage import DigestJobStore, StorageRejected, StorageUnavailable

log = logging.getLogger(__name__)

#: how long a job cut short by shutdown may take to hand its lease back
GIVE_BACK_SECONDS = 2.0
#: how often a job whose database failed tries to hand itself back
GIVE_BACK_RETRY_SECONDS = 1.0


@dataclass(frozen=True)
class DigestTiming:
    delay: float = 120.0
    give_up: float = 21600.0
    max_interval: float = 1800.0
    #: kept short and renewed every third of it while a job runs, so that a job whose worker
    #: died (or lost its database) is taken up again within this time, not minutes later
    lease: float = 30.0
    poll: float = 1.0
    #: jobs processed at once by one instance (each mostly waits on Tencent and Slack)
    concurrency: int = 10

    def next_look(self, attempts: int) -> float:
        """Seconds until the next look-up: the initial delay, doubling, capped."""
        base = max(self.delay, 0.05)
        return float(min(base * 2 ** max(attempts - 1, 0), self.max_interval))


@dataclass(frozen=True)
class Verdict:
    """What became of one run of a job: finished as `outcome` (noting the replays it posted), or,
    with `outcome` None, to be looked at again later (noting the replays posted so far, when
    any: a job following a meeting that went live keeps its message current)."""

    outcome: JobState | None
    posted_replays: tuple[str, ...] = field(default=())

    @classmethod
    def retry(cls) -> Verdict:
        return cls(None)


Work = Callable[[DigestJob], Awaitable[Verdict]]


class DigestObserver(Protocol):
    """Told how each run of a job ended (`bot.metrics.Metrics` counts them): a final `JobState`
    value, `retry` (to be looked at again), `interrupted` (the database failed under it) or
    `cut_short` (shutdown handed it back)."""

    def digest_ran(self, result: str) -> None: ...


class DigestQueue:
    def __init__(
        self,
        jobs: DigestJobStore,
        *,
        timing: DigestTiming | None = None,
        worker_id: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        observer: DigestObserver | None = None,
    ) -> None:
        self._jobs = jobs
        self._observer = observer
        self.timing = timing or DigestTiming()
        self._worker_id = worker_id or f"worker-{uuid.uuid4().hex[:12]}"
        self.clock = clock
        self._wake = asyncio.Event()
        #: when the worker plans to look for due jobs next, unless woken (None: it is looking now)
        self._next_round: datetime | None = None
        # A burst of meeting.end deliveries shares transactions instead of queueing for one each.
        self._intake = GroupCommit(jobs.enqueue, split_on=(StorageRejected,))

    async def enqueue(self, new: NewDigest) -> bool:
        """Create a job; False (and no change) when one with its occurrence key exists."""
        created = await self._intake.submit(new)
        if created:
            self._wake_for(new.due_at)
        return created

    def _wake_for(self, due_at: datetime) -> None:
        # Only when the job falls due before the worker's next round anyway: during a burst of
        # meeting.end events (due minutes later) a round per event would be wasted queries.
        if self._next_round is None or due_at < self._next_round:
            self._wake.set()

    async def run(self, work: Work, stop: asyncio.Event) -> None:
        """Run due jobs through `work`, up to `concurrency` at a time, until `stop` is set; jobs
        under way then finish (their leases would otherwise hold them for `lease` seconds). A
        failing round is logged and retried."""
        running: dict[int, asyncio.Task[None]] = {}
        while not stop.is_set():
            # Cleared before the round: a job enqueued (or finished) meanwhile wakes the wait at once.
            self._wake.clear()
            free = self.timing.concurrency - len(running)
            pause = self.timing.poll
            try:
                if free > 0:
                    claimed = await self._claim(free)
                    for job in claimed:
                        # A job still running here whose lease ran out comes back with a fresh
                        # lease: it is ours already, and a second run would post it twice.
                        if job.id not in running:
                            running[job.id] = asyncio.create_task(self._run_one(job, work))
                            running[job.id].add_done_callback(self._job_done(running, job.id))
                    if len(claimed) < free:
                        pause = await self._until_next_due()
                # else (or all slots now taken): wait for a slot; a finishing job wakes us
            except StorageUnavailable as error:
                # The outage itself is the storage's one WARNING (bot.core.outage); a round it
                # costs is a note.
                log.info("digest round skipped: the database is unavailable: %r", error)
            except Exception:
                log.exception("digest round failed; trying again shortly")
            self._next_round = self.clock() + timedelta(seconds=pause)
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
        due = await self._jobs.next_due()
        if due is None:
            return self.timing.poll
        # A floor, so that a job due "now" but leased elsewhere cannot make the loop spin.
        return min(max((due - self.clock()).total_seconds(), 0.01), self.timing.poll)

    async def _claim(self, limit: int) -> list[DigestJob]:
        return await self._jobs.claim_due(
            worker_id=self._worker_id,
            now=self.clock(),
            lease_seconds=self.timing.lease,
            limit=limit,
        )

    def _ran(self, result: str) -> None:
        if self._observer is not None:
            self._observer.digest_ran(result)

    async def _run_one(self, job: DigestJob, work: Work) -> None:
        # This task's own context: every line logged for the job, here or deeper, names it, and
        # every Tencent call it makes waits in the budget's background lane (people go first).
        correlation.bind(digest_job=job.id, meeting=job.meeting.meeting_id)
        bind_lane(Lane.BACKGROUND)
        keeping = asyncio.create_task(self._keep_lease(job))
        try:
            verdict = await work(job)
        except DeliveryCutShort:
            # Shutdown stopped it between two messages: hand it back so that the next instance
            # (or this one, restarted) takes it up at once instead of when the lease runs out.
            self._ran("cut_short")
            await self._give_back(job)
            return
        except asyncio.CancelledError:
            # Shutdown's last resort, for a job that reached no message in its grace period.
            self._ran("cut_short")
            await self._give_back(job)
            raise
        except StorageUnavailable as error:
            self._ran("interrupted")
            log.warning("digest job %d stopped: the database failed: %r", job.id, error)
            await self._give_back_when_possible(job)
            return
        except Exception:
            if self.past_give_up(job):
                log.exception("digest for meeting %s failed for good", job.meeting.meeting_id)
                verdict = Verdict(JobState.FAILED)
            else:
                log.exception("digest for meeting %s failed; will retry", job.meeting.meeting_id)
                verdict = Verdict.retry()
        finally:
            keeping.cancel()
        self._ran("retry" if verdict.outcome is None else verdict.outcome.value)
        try:
            if verdict.outcome is None:
                await self._retry_later(job, verdict.posted_replays)
            else:
                await self._finish(job, verdict.outcome, verdict.posted_replays)
        except StorageUnavailable as error:
            log.warning("digest job %d: could not record its outcome: %r", job.id, error)
            await self._give_back_when_possible(job)

    async def _give_back_when_possible(self, job: DigestJob) -> None:
        """Hand the job back as soon as the database answers again, while its lease still holds
        (afterwards any worker may take it up anyway): the digest then goes out within moments of
        the database's return rather than when the lease runs out. Its parts already posted are
        recorded, so nothing is posted twice."""
        deadline = self.clock() + timedelta(seconds=self.timing.lease)
        while self.clock() < deadline:
            await asyncio.sleep(GIVE_BACK_RETRY_SECONDS)
            try:
                await self._jobs.reschedule(
                    job.id, worker_id=self._worker_id, due_at=self.clock(), attempts=job.attempts
                )
            except StorageUnavailable:
                continue
            log.info("digest job %d handed back now that the database answers", job.id)
            self._wake.set()
            return

    async def _give_back(self, job: DigestJob) -> None:
        try:
            async with asyncio.timeout(GIVE_BACK_SECONDS):
                await self._jobs.reschedule(
                    job.id, worker_id=self._worker_id, due_at=self.clock(), attempts=job.attempts
                )
        except (StorageUnavailable, TimeoutError) as error:
            log.warning("digest job %d: could not hand it back: %r", job.id, error)
        else:
            log.info("digest job %d cut short and handed back", job.id)

    async def _keep_lease(self, job: DigestJob) -> None:
        """Renew the job's lease every third of it while the job runs, so that a slow job (Slack
        asking to wait, the Tencent budget full) is not taken up by another instance meanwhile."""
        while True:
            await asyncio.sleep(self.timing.lease / 3)
            until = self.clock() + timedelta(seconds=self.timing.lease)
            try:
                if not await self._jobs.renew_lease(job.id, worker_id=self._worker_id, until=until):
                    # Finished a moment ago, or (rarely) taken over after a renewal came too late.
                    log.info("digest job %d: its lease is no longer this worker's", job.id)
                    return
            except Exception:
                log.warning("digest job %d: could not renew its lease", job.id, exc_info=True)

    def first_look(self) -> datetime:
        """When a job made now is first looked at: after the delay."""
        return self.clock() + timedelta(seconds=self.timing.delay)

    @property
    def give_up_after(self) -> timedelta:
        """How long after its creation a job stops looking."""
        return timedelta(seconds=self.timing.give_up)

    def give_up_at(self, job: DigestJob) -> datetime:
        return job.created_at + self.give_up_after

    def past_give_up(self, job: DigestJob) -> bool:
        return self.clock() >= self.give_up_at(job)

    async def _retry_later(self, job: DigestJob, posted: tuple[str, ...] = ()) -> None:
        attempts = job.attempts + 1
        due = self.clock() + timedelta(seconds=self.timing.next_look(attempts))
        # The last look happens at the give-up time, not up to one (long) interval after it.
        due = min(due, self.give_up_at(job))
        await self._jobs.reschedule(
            job.id,
            worker_id=self._worker_id,
            due_at=due,
            attempts=attempts,
            posted_replays=posted or None,
        )

    async def _finish(self, job: DigestJob, outcome: JobState, posted: Iterable[str]) -> None:
        await self._jobs.finish(
            job.id, worker_id=self._worker_id, outcome=outcome, posted_replays=posted
        )
