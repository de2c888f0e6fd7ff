"""`SqlDigestJobStore`: the durable queue of digests to post, and who got each one.

Several instances work the queue together: a job is leased (`lease_owner` until `lease_until`) by
the worker that claimed it, and only that worker may renew, reschedule or finish it while the lease
holds. Every step is one atomic statement guarded by its own WHERE, so no other lock is needed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bot.core.clock import utcnow
from bot.core.records import DigestJob, EndedMeeting, JobState, NewDigest
from bot.core.storage import PostedPart, created_in_order, require_finished
from bot.store import tables
from bot.store.sql import Sql


class SqlDigestJobStore:
    """`bot.core.storage.DigestJobStore` on SQL."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def enqueue(self, jobs: Sequence[NewDigest]) -> list[bool]:
        if not jobs:
            return []
        now = utcnow()
        statement = (
            self._sql.insert(tables.digest_jobs)
            .values(
                [
                    {
                        **_meeting_values(job.meeting),
                        "state": JobState.PENDING.value,
                        "attempts": 0,
                        "created_at": now,
                        "due_at": job.due_at,
                    }
                    # In key order: two instances inserting overlapping batches then take their
                    # row locks in the same order and cannot deadlock on PostgreSQL.
                    for job in sorted(jobs, key=lambda job: job.meeting.occurrence_key)
                ]
            )
            # DO NOTHING on the occurrence key: a redelivered meeting end, in this instance or
            # another, creates no second job, and only its first insert returns a row.
            .on_conflict_do_nothing(index_elements=[tables.digest_jobs.c.occurrence_key])
            .returning(tables.digest_jobs.c.occurrence_key)
        )
        created = {row.occurrence_key for row in await self._sql.write_all(statement)}
        return created_in_order(jobs, created)

    async def record_known_replays(self, meeting: EndedMeeting, replay_keys: Iterable[str]) -> bool:
        now = utcnow()
        statement = (
            self._sql.insert(tables.digest_jobs)
            .values(
                **_meeting_values(meeting),
                state=JobState.SKIPPED.value,
                attempts=0,
                created_at=now,
                due_at=now,
                finished_at=now,
                posted_replays=json.dumps(list(replay_keys)),
            )
            .on_conflict_do_nothing(index_elements=[tables.digest_jobs.c.occurrence_key])
            .returning(tables.digest_jobs.c.id)
        )
        return await self._sql.write_one(statement) is not None

    async def claim_due(
        self, *, worker_id: str, now: datetime, lease_seconds: float, limit: int
    ) -> list[DigestJob]:
        """One UPDATE whose WHERE repeats the claimable test: on PostgreSQL the picking SELECT skips
        rows another instance is claiming (FOR UPDATE SKIP LOCKED); SQLite runs one writer at a
        time. Either way no job is handed to two workers while its lease holds.
        """
        if limit <= 0:
            return []
        jobs = tables.digest_jobs
        claimable = claimable_at(now)
        # MATERIALIZED: as a plain `IN (subquery)` PostgreSQL may re-run the pick for each row
        # it updates, skipping the rows it just updated itself and so claiming more than `limit`.
        picked = (
            sa.select(jobs.c.id)
            .where(claimable)
            .order_by(jobs.c.due_at, jobs.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("picked")
            .prefix_with("MATERIALIZED")
        )
        statement = (
            sa.update(jobs)
            .where(jobs.c.id.in_(sa.select(picked.c.id)), claimable)
            .values(lease_owner=worker_id, lease_until=now + timedelta(seconds=lease_seconds))
            .returning(*jobs.c)
        )
        rows = await self._sql.write_all(statement)
        # RETURNING comes back in no particular order.
        return sorted((_digest(row) for row in rows), key=lambda job: (job.due_at, job.id))

    async def next_due(self) -> datetime | None:
        jobs = tables.digest_jobs
        query = sa.select(sa.func.min(jobs.c.due_at)).where(
            jobs.c.state == JobState.PENDING.value, jobs.c.lease_owner.is_(None)
        )
        due: datetime | None = await self._sql.scalar(query)  # min() keeps UTCDateTime
        return due

    async def renew_lease(self, job_id: int, *, worker_id: str, until: datetime) -> bool:
        return await self._update_owned(job_id, worker_id, lease_until=until)

    async def reschedule(
        self,
        job_id: int,
        *,
        worker_id: str,
        due_at: datetime,
        attempts: int,
        posted_replays: Iterable[str] | None = None,
    ) -> bool:
        values: dict[str, Any] = {}
        if posted_replays is not None:
            posted = list(posted_replays)
            values["posted_replays"] = json.dumps(posted) if posted else None
        return await self._update_owned(
            job_id,
            worker_id,
            due_at=due_at,
            attempts=attempts,
            lease_owner=None,
            lease_until=None,
            **values,
        )

    async def finish(
        self, job_id: int, *, worker_id: str, outcome: JobState, posted_replays: Iterable[str] = ()
    ) -> bool:
        require_finished(outcome)
        posted = list(posted_replays)
        return await self._update_owned(
            job_id,
            worker_id,
            state=JobState(outcome).value,
            finished_at=utcnow(),
            lease_owner=None,
            lease_until=None,
            posted_replays=json.dumps(posted) if posted else None,
        )

    async def _update_owned(self, job_id: int, worker_id: str, **values: Any) -> bool:
        # The WHERE is the ownership test: a worker whose lease ran out and was claimed by another
        # matches no row, so it cannot undo the new owner's work.
        jobs = tables.digest_jobs
        statement = (
            sa.update(jobs)
            .where(
                jobs.c.id == job_id,
                jobs.c.state == JobState.PENDING.value,
                jobs.c.lease_owner == worker_id,
            )
            .values(**values)
        )
        return await self._sql.write(statement) == 1

    async def record_delivery(
        self, job_id: int, recipient: str, *, channel: str | None = None, ts: str | None = None
    ) -> bool:
        """The foreign key refuses a job that does not exist."""
        statement = (
            self._sql.insert(tables.digest_deliveries)
            .values(
                job_id=job_id, recipient=recipient, delivered_at=utcnow(), channel=channel, ts=ts
            )
            .on_conflict_do_nothing()
            .returning(tables.digest_deliveries.c.job_id)
        )
        return await self._sql.write_one(statement) is not None

    async def deliveries(self, job_id: int) -> set[str]:
        query = sa.select(tables.digest_deliveries.c.recipient).where(
            tables.digest_deliveries.c.job_id == job_id
        )
        return {row.recipient for row in await self._sql.fetch_all(query)}

    async def place_messages(
        self, meeting_id: str, place_prefix: str, *, since: datetime
    ) -> list[PostedPart]:
        jobs, deliveries = tables.digest_jobs, tables.digest_deliveries
        key = deliveries.c.recipient
        query = (
            sa.select(deliveries.c.job_id, key, deliveries.c.channel, deliveries.c.ts)
            .join(jobs, jobs.c.id == deliveries.c.job_id)
            .where(
                jobs.c.meeting_id == meeting_id,
                jobs.c.created_at >= since,
                deliveries.c.ts.is_not(None),
                # substr, not LIKE: the prefix holds ':' and '#', and SQLite's LIKE ignores case
                sa.func.substr(key, 1, len(place_prefix)) == place_prefix,
            )
            .order_by(deliveries.c.job_id, key)
        )
        return [
            PostedPart(row.job_id, row.recipient, row.channel, row.ts)
            for row in await self._sql.fetch_all(query)
        ]

    async def replays_posted_for_meeting(
        self, meeting_id: str, *, excluding_job: int | None = None
    ) -> set[str]:
        jobs = tables.digest_jobs
        query = sa.select(jobs.c.posted_replays).where(
            jobs.c.meeting_id == meeting_id, jobs.c.posted_replays.is_not(None)
        )
        if excluding_job is not None:
            query = query.where(jobs.c.id != excluding_job)
        posted: set[str] = set()
        for row in await self._sql.fetch_all(query):
            posted.update(_replay_keys(row.posted_replays))
        return posted

    async def for_meeting(self, meeting_id: str) -> list[DigestJob]:
        query = (
            sa.select(tables.digest_jobs)
            .where(tables.digest_jobs.c.meeting_id == meeting_id)
            .order_by(tables.digest_jobs.c.id)
        )
        return [_digest(row) for row in await self._sql.fetch_all(query)]

    async def get(self, job_id: int) -> DigestJob | None:
        query = sa.select(tables.digest_jobs).where(tables.digest_jobs.c.id == job_id)
        row = await self._sql.fetch_one(query)
        return _digest(row) if row else None


def claimable_at(now: datetime) -> sa.ColumnElement[bool]:
    """The test of a job due at `now` and held by no worker: what `claim_due` takes, and what
    the ops store's backlog counts as due."""
    jobs = tables.digest_jobs.c
    return sa.and_(
        jobs.state == JobState.PENDING.value,
        jobs.due_at <= now,
        sa.or_(jobs.lease_until.is_(None), jobs.lease_until <= now),
    )


def _meeting_values(meeting: EndedMeeting) -> dict[str, Any]:
    return {
        "occurrence_key": meeting.occurrence_key,
        "meeting_id": meeting.meeting_id,
        "meeting_code": meeting.meeting_code,
        "subject": meeting.subject,
        "creator_userid": meeting.creator_userid,
        "start_time": meeting.start_time,
        "end_time": meeting.end_time,
        "creator_name": meeting.creator_name,
        "meeting_type": meeting.meeting_type,
        "sub_meeting_id": meeting.sub_meeting_id,
    }


def _digest(row: sa.Row[Any]) -> DigestJob:
    return DigestJob(
        id=row.id,
        meeting=EndedMeeting(
            occurrence_key=row.occurrence_key,
            meeting_id=row.meeting_id,
            meeting_code=row.meeting_code,
            subject=row.subject,
            creator_userid=row.creator_userid,
            start_time=row.start_time,
            end_time=row.end_time,
            creator_name=row.creator_name,
            meeting_type=row.meeting_type,
            sub_meeting_id=row.sub_meeting_id,
        ),
        state=JobState(row.state),
        attempts=row.attempts,
        created_at=row.created_at,
        due_at=row.due_at,
        lease_owner=row.lease_owner,
        lease_until=row.lease_until,
        finished_at=row.finished_at,
        posted_replays=tuple(_replay_keys(row.posted_replays)),
    )


def _replay_keys(stored: str | None) -> list[str]:
    # A JSON list of `replay_key`s (see `digest_jobs.posted_replays` in tables.py).
    if not stored:
        return []
    keys = json.loads(stored)
    return [str(key) for key in keys] if isinstance(keys, list) else []
