"""`bot.core.storage.DigestJobStore` in memory: the digest_jobs table's rows as `JobRow`s, and
the deliveries recorded against each."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.core.clock import utcnow
from bot.core.records import DigestJob, EndedMeeting, JobState, NewDigest
from bot.core.storage import PostedPart, StorageRejected, created_in_order, require_finished
from bot.store.memory.utc import stored_utc


@dataclass(slots=True)
class JobRow:
    """A row of the digest_jobs table; `DigestJob` is its frozen snapshot."""

    id: int
    meeting: EndedMeeting
    state: JobState
    attempts: int
    created_at: datetime
    due_at: datetime
    lease_owner: str | None = None
    lease_until: datetime | None = None
    finished_at: datetime | None = None
    #: None where the table holds NULL: no list was ever recorded
    posted_replays: tuple[str, ...] | None = None
    deliveries: set[str] = field(default_factory=set)
    #: delivery key → (channel, ts) of the Slack message, when recorded
    messages: dict[str, tuple[str, str]] = field(default_factory=dict)

    def snapshot(self) -> DigestJob:
        return DigestJob(
            id=self.id,
            meeting=self.meeting,
            state=self.state,
            attempts=self.attempts,
            created_at=self.created_at,
            due_at=self.due_at,
            lease_owner=self.lease_owner,
            lease_until=self.lease_until,
            finished_at=self.finished_at,
            posted_replays=self.posted_replays or (),
        )

    def claimable(self, now: datetime) -> bool:
        """Due and held by no worker: what `claim_due` hands out (and the backlog counts)."""
        return (
            self.state is JobState.PENDING
            and self.due_at <= now
            and (self.lease_until is None or self.lease_until <= now)
        )


class MemoryDigestJobStore:
    """Jobs in a dict by id (ids count up from 1), with an index by occurrence key standing for
    the table's unique constraint."""

    def __init__(self) -> None:
        self._jobs: dict[int, JobRow] = {}
        self._by_key: dict[str, int] = {}
        self._last_id = 0

    def rows(self) -> list[JobRow]:
        """Every row, for `MemoryOpsStore`'s backlog (the SQL one reads the same table)."""
        return list(self._jobs.values())

    async def enqueue(self, jobs: Sequence[NewDigest]) -> list[bool]:
        # Check every value before changing anything: a refused batch leaves nothing behind.
        due = [stored_utc(job.due_at) for job in jobs]
        now = utcnow()
        created: set[str] = set()
        # Created in key order, as the SQL store inserts them: ids then ascend in the same order.
        for job, due_at in sorted(
            zip(jobs, due, strict=True), key=lambda p: p[0].meeting.occurrence_key
        ):
            key = job.meeting.occurrence_key
            if key in self._by_key:
                continue
            self._add(job.meeting, state=JobState.PENDING, created_at=now, due_at=due_at)
            created.add(key)
        return created_in_order(jobs, created)

    async def record_known_replays(self, meeting: EndedMeeting, replay_keys: Iterable[str]) -> bool:
        keys = tuple(replay_keys)
        if meeting.occurrence_key in self._by_key:
            return False
        now = utcnow()
        job = self._add(meeting, state=JobState.SKIPPED, created_at=now, due_at=now)
        job.finished_at = now
        job.posted_replays = keys
        return True

    async def claim_due(
        self, *, worker_id: str, now: datetime, lease_seconds: float, limit: int
    ) -> list[DigestJob]:
        if limit <= 0:
            return []
        now = stored_utc(now)
        picked = sorted(
            (job for job in self._jobs.values() if job.claimable(now)),
            key=lambda job: (job.due_at, job.id),
        )[:limit]
        for job in picked:
            job.lease_owner = worker_id
            job.lease_until = now + timedelta(seconds=lease_seconds)
        return [job.snapshot() for job in picked]

    async def next_due(self) -> datetime | None:
        due = [
            job.due_at
            for job in self._jobs.values()
            if job.state is JobState.PENDING and job.lease_owner is None
        ]
        return min(due, default=None)

    async def renew_lease(self, job_id: int, *, worker_id: str, until: datetime) -> bool:
        until = stored_utc(until)
        job = self._owned(job_id, worker_id)
        if job is None:
            return False
        job.lease_until = until
        return True

    async def reschedule(
        self,
        job_id: int,
        *,
        worker_id: str,
        due_at: datetime,
        attempts: int,
        posted_replays: Iterable[str] | None = None,
    ) -> bool:
        due_at = stored_utc(due_at)
        job = self._owned(job_id, worker_id)
        if job is None:
            return False
        job.due_at, job.attempts = due_at, attempts
        job.lease_owner = job.lease_until = None
        if posted_replays is not None:
            job.posted_replays = tuple(posted_replays) or None
        return True

    async def finish(
        self, job_id: int, *, worker_id: str, outcome: JobState, posted_replays: Iterable[str] = ()
    ) -> bool:
        require_finished(outcome)
        posted = tuple(posted_replays)
        job = self._owned(job_id, worker_id)
        if job is None:
            return False
        job.state = JobState(outcome)
        job.finished_at = utcnow()
        job.lease_owner = job.lease_until = None
        job.posted_replays = posted or None
        return True

    async def record_delivery(
        self, job_id: int, recipient: str, *, channel: str | None = None, ts: str | None = None
    ) -> bool:
        # A job that does not exist is refused, as the table's foreign key refuses it.
        job = self._jobs.get(job_id)
        if job is None:
            raise StorageRejected(f"no digest job {job_id} to record a delivery for")
        if recipient in job.deliveries:
            return False
        job.deliveries.add(recipient)
        if channel is not None and ts is not None:
            job.messages[recipient] = (channel, ts)
        return True

    async def place_messages(
        self, meeting_id: str, place_prefix: str, *, since: datetime
    ) -> list[PostedPart]:
        since = stored_utc(since)
        return [
            PostedPart(job.id, key, channel, ts)
            for _, job in sorted(self._jobs.items())
            if job.meeting.meeting_id == meeting_id and job.created_at >= since
            for key, (channel, ts) in sorted(job.messages.items())
            if key.startswith(place_prefix)
        ]

    async def deliveries(self, job_id: int) -> set[str]:
        job = self._jobs.get(job_id)
        return set(job.deliveries) if job else set()

    async def replays_posted_for_meeting(
        self, meeting_id: str, *, excluding_job: int | None = None
    ) -> set[str]:
        posted: set[str] = set()
        for job in self._jobs.values():
            if job.meeting.meeting_id == meeting_id and job.id != excluding_job:
                posted.update(job.posted_replays or ())
        return posted

    async def for_meeting(self, meeting_id: str) -> list[DigestJob]:
        return [
            job.snapshot()
            for _, job in sorted(self._jobs.items())
            if job.meeting.meeting_id == meeting_id
        ]

    async def get(self, job_id: int) -> DigestJob | None:
        job = self._jobs.get(job_id)
        return job.snapshot() if job else None

    def _add(
        self, meeting: EndedMeeting, *, state: JobState, created_at: datetime, due_at: datetime
    ) -> JobRow:
        self._last_id += 1
        job = JobRow(
            id=self._last_id,
            meeting=meeting,
            state=state,
            attempts=0,
            created_at=created_at,
            due_at=due_at,
        )
        self._jobs[job.id] = job
        self._by_key[meeting.occurrence_key] = job.id
        return job

    def _owned(self, job_id: int, worker_id: str) -> JobRow | None:
        """The job if `worker_id` holds its lease and it is PENDING, as the SQL WHERE tests."""
        job = self._jobs.get(job_id)
        if job is None or job.state is not JobState.PENDING or job.lease_owner != worker_id:
            return None
        return job
