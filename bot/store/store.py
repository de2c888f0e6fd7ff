"""The bot's durable state (links, preferences, subscriptions, seen events, digest jobs).

Every write that can race with another instance is one atomic SQL statement (an upsert, an
INSERT ... ON CONFLICT DO NOTHING, or an UPDATE ... RETURNING guarded by its own WHERE), so any
number of processes can share one PostgreSQL, or one SQLite file, without locks of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store import tables as t
from bot.store.engine import open_engine
from bot.store.migrate import upgrade
from bot.store.records import (
    DIGEST_OUTCOMES,
    SKIPPED,
    DigestJob,
    Link,
    NewDigest,
    Subscription,
)

log = logging.getLogger(__name__)

PING_TIMEOUT_SECONDS = 5.0
ALL_MEETINGS = ""  # how subscriptions.meeting_code spells "every meeting"


def _utcnow() -> datetime:
    return datetime.now(UTC)


#: errors one bad row can cause in a many-row write (a value the database refuses), as opposed to
#: the database or the connection failing
ROW_ERRORS: tuple[type[Exception], ...] = (sa.exc.DataError, sa.exc.IntegrityError)


class Store:
    """Async access to the database; one per process, shared by every request."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        is_sqlite = engine.dialect.name == "sqlite"
        self._insert: Callable[[sa.Table], Any] = sqlite.insert if is_sqlite else postgresql.insert
        # SQLite lets one connection write at a time and makes the others sleep and poll for the
        # lock (its busy handler, in steps of up to 100 ms); queueing this process's writers here
        # hands the lock on at once. Other processes still wait through the busy timeout.
        self._write_turn: contextlib.AbstractAsyncContextManager[Any] = (
            asyncio.Lock() if is_sqlite else contextlib.nullcontext()
        )

    @classmethod
    async def open(cls, url: str, *, migrate: bool = True) -> Store:
        """Connect to an async database URL, migrating its schema to head first."""
        engine = await open_engine(url)
        try:
            if migrate:
                await upgrade(engine)
        except BaseException:
            await engine.dispose()
            raise
        return cls(engine)

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    async def close(self) -> None:
        await self._engine.dispose()

    async def ping(self) -> bool:
        """Whether the database answers a query now; for /healthz, so it never raises."""
        try:
            async with asyncio.timeout(PING_TIMEOUT_SECONDS):
                async with self._engine.connect() as connection:
                    await connection.execute(sa.text("SELECT 1"))
        except Exception:
            log.warning("database ping failed", exc_info=True)
            return False
        return True

    # -- links -------------------------------------------------------------------------------

    async def get_link(self, team_id: str, slack_user_id: str) -> Link | None:
        query = sa.select(t.links).where(
            t.links.c.team_id == team_id, t.links.c.slack_user_id == slack_user_id
        )
        row = await self._fetch_one(query)
        return _link(row) if row else None

    async def save_link(
        self,
        team_id: str,
        slack_user_id: str,
        tencent_userid: str,
        *,
        method: str,
        linked_by: str,
    ) -> Link:
        """Link (or re-link) a Slack user; keeps the first created_at, returns the stored row."""
        now = _utcnow()
        insert = self._insert(t.links).values(
            team_id=team_id,
            slack_user_id=slack_user_id,
            tencent_userid=tencent_userid,
            method=method,
            linked_by=linked_by,
            created_at=now,
            updated_at=now,
        )
        new = insert.excluded
        statement = insert.on_conflict_do_update(
            index_elements=[t.links.c.team_id, t.links.c.slack_user_id],
            set_={
                "tencent_userid": new.tencent_userid,
                "method": new.method,
                "linked_by": new.linked_by,
                "updated_at": new.updated_at,
            },
        ).returning(*t.links.c)
        row = await self._write_one(statement)
        assert row is not None, "an upsert always returns its row"
        return _link(row)

    async def delete_link(self, team_id: str, slack_user_id: str) -> Link | None:
        """Remove a link; returns what was removed, None when there was none."""
        statement = (
            sa.delete(t.links)
            .where(t.links.c.team_id == team_id, t.links.c.slack_user_id == slack_user_id)
            .returning(*t.links.c)
        )
        row = await self._write_one(statement)
        return _link(row) if row else None

    async def links_for_tencent_user(self, tencent_userid: str) -> list[Link]:
        query = (
            sa.select(t.links)
            .where(t.links.c.tencent_userid == tencent_userid)
            .order_by(t.links.c.team_id, t.links.c.slack_user_id)
        )
        return [_link(row) for row in await self._fetch_all(query)]

    # -- preferences -------------------------------------------------------------------------

    async def dm_digests_enabled(self, team_id: str, slack_user_id: str) -> bool:
        query = sa.select(t.user_prefs.c.dm_digests).where(
            t.user_prefs.c.team_id == team_id, t.user_prefs.c.slack_user_id == slack_user_id
        )
        row = await self._fetch_one(query)
        return True if row is None else bool(row.dm_digests)

    async def set_dm_digests(self, team_id: str, slack_user_id: str, enabled: bool) -> None:
        insert = self._insert(t.user_prefs).values(
            team_id=team_id, slack_user_id=slack_user_id, dm_digests=enabled, updated_at=_utcnow()
        )
        statement = insert.on_conflict_do_update(
            index_elements=[t.user_prefs.c.team_id, t.user_prefs.c.slack_user_id],
            set_={
                "dm_digests": insert.excluded.dm_digests,
                "updated_at": insert.excluded.updated_at,
            },
        )
        await self._write(statement)

    # -- subscriptions -----------------------------------------------------------------------

    async def subscribe(
        self,
        team_id: str,
        channel_id: str,
        tencent_userid: str,
        meeting_code: str | None,
        *,
        created_by: str,
    ) -> bool:
        """Subscribe a channel; True if new, False if it was subscribed already."""
        statement = (
            self._insert(t.subscriptions)
            .values(
                team_id=team_id,
                channel_id=channel_id,
                tencent_userid=tencent_userid,
                meeting_code=meeting_code or ALL_MEETINGS,
                created_by=created_by,
                created_at=_utcnow(),
            )
            .on_conflict_do_nothing()
            .returning(t.subscriptions.c.team_id)
        )
        return await self._write_one(statement) is not None

    async def unsubscribe(
        self, team_id: str, channel_id: str, tencent_userid: str, meeting_code: str | None
    ) -> bool:
        """Remove one subscription; True if there was one."""
        c = t.subscriptions.c
        statement = (
            sa.delete(t.subscriptions)
            .where(
                c.team_id == team_id,
                c.channel_id == channel_id,
                c.tencent_userid == tencent_userid,
                c.meeting_code == (meeting_code or ALL_MEETINGS),
            )
            .returning(c.team_id)
        )
        return await self._write_one(statement) is not None

    async def subscriptions_in_channel(self, team_id: str, channel_id: str) -> list[Subscription]:
        c = t.subscriptions.c
        return await self._subscriptions(c.team_id == team_id, c.channel_id == channel_id)

    async def subscriptions_of(self, tencent_userid: str) -> list[Subscription]:
        return await self._subscriptions(t.subscriptions.c.tencent_userid == tencent_userid)

    async def code_subscriptions(self) -> list[tuple[str, str]]:
        """Every (tencent_userid, meeting_code) that some channel subscribed to by code."""
        c = t.subscriptions.c
        query = (
            sa.select(c.tencent_userid, c.meeting_code)
            .where(c.meeting_code != ALL_MEETINGS)
            .distinct()
            .order_by(c.tencent_userid, c.meeting_code)
        )
        return [(row.tencent_userid, row.meeting_code) for row in await self._fetch_all(query)]

    async def subscriptions_for_meeting(
        self, tencent_userid: str, meeting_code: str
    ) -> list[Subscription]:
        """Who wants a digest of this meeting: the all-meetings subscriptions and this code's."""
        c = t.subscriptions.c
        return await self._subscriptions(
            c.tencent_userid == tencent_userid, c.meeting_code.in_([ALL_MEETINGS, meeting_code])
        )

    async def _subscriptions(self, *conditions: sa.ColumnElement[bool]) -> list[Subscription]:
        c = t.subscriptions.c
        query = (
            sa.select(t.subscriptions)
            .where(*conditions)
            .order_by(c.team_id, c.channel_id, c.tencent_userid, c.meeting_code)
        )
        return [_subscription(row) for row in await self._fetch_all(query)]

    # -- seen events -------------------------------------------------------------------------

    async def first_sighting(self, key: str) -> bool:
        """True for the first caller ever with this key, in any process; False for repeats."""
        statement = (
            self._insert(t.seen_events)
            .values(key=key, seen_at=_utcnow())
            .on_conflict_do_nothing()
            .returning(t.seen_events.c.key)
        )
        return await self._write_one(statement) is not None

    async def forget_events_before(self, cutoff: datetime) -> int:
        """Delete the events first seen before `cutoff`; returns how many."""
        statement = sa.delete(t.seen_events).where(t.seen_events.c.seen_at < cutoff)
        return await self._write(statement)

    # -- digest jobs -------------------------------------------------------------------------

    async def enqueue_digest(self, job: NewDigest) -> bool:
        """Create the digest job of one occurrence of a meeting; False (and no change) if a job
        with this `occurrence_key` exists already, in any process."""
        [created] = await self.enqueue_digests([job])
        return created

    async def enqueue_digests(self, jobs: Sequence[NewDigest]) -> list[bool]:
        """Create several digest jobs in one transaction; for each, whether it was created (False
        when a job with its `occurrence_key` existed, or came earlier in `jobs`)."""
        if not jobs:
            return []
        now = _utcnow()
        statement = (
            self._insert(t.digest_jobs)
            .values(
                [
                    {
                        "occurrence_key": job.occurrence_key,
                        "meeting_id": job.meeting_id,
                        "meeting_code": job.meeting_code,
                        "subject": job.subject,
                        "creator_userid": job.creator_userid,
                        "team_id": job.team_id,
                        "state": "pending",
                        "attempts": 0,
                        "created_at": now,
                        "due_at": job.due_at,
                    }
                    # In key order: two instances inserting overlapping batches then take their
                    # row locks in the same order and cannot deadlock on PostgreSQL.
                    for job in sorted(jobs, key=lambda job: job.occurrence_key)
                ]
            )
            .on_conflict_do_nothing(index_elements=[t.digest_jobs.c.occurrence_key])
            .returning(t.digest_jobs.c.occurrence_key)
        )
        created = {row.occurrence_key for row in await self._write_all(statement)}
        answers = []
        for job in jobs:
            answers.append(job.occurrence_key in created)
            created.discard(job.occurrence_key)  # a repeat later in `jobs` was not created
        return answers

    async def record_known_replays(
        self,
        *,
        occurrence_key: str,
        meeting_id: str,
        meeting_code: str,
        subject: str,
        creator_userid: str,
        replay_keys: Iterable[str],
    ) -> bool:
        """Note replays that must never be posted, as a finished 'skipped' job; False if a job
        with this `occurrence_key` exists already."""
        now = _utcnow()
        statement = (
            self._insert(t.digest_jobs)
            .values(
                occurrence_key=occurrence_key,
                meeting_id=meeting_id,
                meeting_code=meeting_code,
                subject=subject,
                creator_userid=creator_userid,
                team_id=None,
                state=SKIPPED,
                attempts=0,
                created_at=now,
                due_at=now,
                finished_at=now,
                posted_replays=json.dumps(list(replay_keys)),
            )
            .on_conflict_do_nothing(index_elements=[t.digest_jobs.c.occurrence_key])
            .returning(t.digest_jobs.c.id)
        )
        return await self._write_one(statement) is not None

    async def claim_due_digests(
        self, *, worker_id: str, now: datetime, lease_seconds: float, limit: int
    ) -> list[DigestJob]:
        """Lease up to `limit` pending jobs that are due and not leased (or whose lease ran out).

        One UPDATE whose WHERE repeats the claimable test: on PostgreSQL the picking SELECT skips
        rows another instance is claiming (FOR UPDATE SKIP LOCKED); SQLite runs one writer at a
        time. Either way no job is handed to two workers while its lease holds.
        """
        if limit <= 0:
            return []
        jobs = t.digest_jobs
        claimable = _claimable(now)
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
        rows = await self._write_all(statement)
        return sorted((_digest(row) for row in rows), key=lambda job: (job.due_at, job.id))

    async def reschedule_digest(
        self, job_id: int, *, worker_id: str, due_at: datetime, attempts: int
    ) -> bool:
        """Release a leased job to run again at `due_at`; False if `worker_id` lost the lease."""
        return await self._update_owned(
            job_id, worker_id, due_at=due_at, attempts=attempts, lease_owner=None, lease_until=None
        )

    async def finish_digest(
        self,
        job_id: int,
        *,
        worker_id: str,
        outcome: str,
        posted_replays: Iterable[str] = (),
    ) -> bool:
        """Close a leased job for good, noting the replays it posted; False if `worker_id` lost
        the lease."""
        if outcome not in DIGEST_OUTCOMES:
            raise ValueError(f"outcome must be one of {sorted(DIGEST_OUTCOMES)}, not {outcome!r}")
        posted = list(posted_replays)
        return await self._update_owned(
            job_id,
            worker_id,
            state=outcome,
            finished_at=_utcnow(),
            lease_owner=None,
            lease_until=None,
            posted_replays=json.dumps(posted) if posted else None,
        )

    async def replays_posted_for_meeting(
        self, meeting_id: str, *, excluding_job: int | None = None
    ) -> set[str]:
        """The replay keys that digests of this meeting (every occurrence) have posted so far."""
        jobs = t.digest_jobs
        query = sa.select(jobs.c.posted_replays).where(
            jobs.c.meeting_id == meeting_id, jobs.c.posted_replays.is_not(None)
        )
        if excluding_job is not None:
            query = query.where(jobs.c.id != excluding_job)
        posted: set[str] = set()
        for row in await self._fetch_all(query):
            posted.update(_replay_keys(row.posted_replays))
        return posted

    async def next_digest_due(self) -> datetime | None:
        """When the earliest unleased pending job falls due (None when there is none), so that a
        worker can sleep exactly until then instead of polling."""
        jobs = t.digest_jobs
        query = sa.select(sa.func.min(jobs.c.due_at)).where(
            jobs.c.state == "pending", jobs.c.lease_owner.is_(None)
        )
        async with self._engine.connect() as connection:
            due: datetime | None = await connection.scalar(query)  # min() keeps UTCDateTime
        return due

    async def renew_lease(self, job_id: int, *, worker_id: str, until: datetime) -> bool:
        """Extend `worker_id`'s lease on a pending job; False if the worker no longer holds it."""
        return await self._update_owned(job_id, worker_id, lease_until=until)

    async def _update_owned(self, job_id: int, worker_id: str, **values: Any) -> bool:
        jobs = t.digest_jobs
        statement = (
            sa.update(jobs)
            .where(
                jobs.c.id == job_id,
                jobs.c.state == "pending",
                jobs.c.lease_owner == worker_id,
            )
            .values(**values)
        )
        return await self._write(statement) == 1

    async def record_delivery(self, job_id: int, recipient: str) -> bool:
        """Note that a digest went to `recipient`; True only the first time, in any process."""
        statement = (
            self._insert(t.digest_deliveries)
            .values(job_id=job_id, recipient=recipient, delivered_at=_utcnow())
            .on_conflict_do_nothing()
            .returning(t.digest_deliveries.c.job_id)
        )
        return await self._write_one(statement) is not None

    async def deliveries(self, job_id: int) -> set[str]:
        query = sa.select(t.digest_deliveries.c.recipient).where(
            t.digest_deliveries.c.job_id == job_id
        )
        return {row.recipient for row in await self._fetch_all(query)}

    async def get_digest(self, job_id: int) -> DigestJob | None:
        row = await self._fetch_one(sa.select(t.digest_jobs).where(t.digest_jobs.c.id == job_id))
        return _digest(row) if row else None

    async def digests_for_meeting(self, meeting_id: str) -> list[DigestJob]:
        query = (
            sa.select(t.digest_jobs)
            .where(t.digest_jobs.c.meeting_id == meeting_id)
            .order_by(t.digest_jobs.c.id)
        )
        return [_digest(row) for row in await self._fetch_all(query)]

    # -- plumbing ----------------------------------------------------------------------------

    async def _fetch_one(self, query: sa.Executable) -> sa.Row[Any] | None:
        async with self._engine.connect() as connection:
            return (await connection.execute(query)).first()

    async def _fetch_all(self, query: sa.Executable) -> Sequence[sa.Row[Any]]:
        async with self._engine.connect() as connection:
            return (await connection.execute(query)).all()

    async def _write_one(self, statement: sa.Executable) -> sa.Row[Any] | None:
        rows = await self._write_all(statement)
        return rows[0] if rows else None

    async def _write_all(self, statement: sa.Executable) -> Sequence[sa.Row[Any]]:
        async with self._write_turn, self._engine.begin() as connection:
            return (await connection.execute(statement)).all()

    async def _write(self, statement: sa.Executable) -> int:
        """Run a statement without RETURNING; returns the number of rows it touched."""
        async with self._write_turn, self._engine.begin() as connection:
            return (await connection.execute(statement)).rowcount


def _claimable(now: datetime) -> sa.ColumnElement[bool]:
    jobs = t.digest_jobs.c
    return sa.and_(
        jobs.state == "pending",
        jobs.due_at <= now,
        sa.or_(jobs.lease_until.is_(None), jobs.lease_until <= now),
    )


def _link(row: sa.Row[Any]) -> Link:
    return Link(**row._asdict())


def _subscription(row: sa.Row[Any]) -> Subscription:
    values = row._asdict()
    values["meeting_code"] = values["meeting_code"] or None
    return Subscription(**values)


def _digest(row: sa.Row[Any]) -> DigestJob:
    values = row._asdict()
    values["posted_replays"] = tuple(_replay_keys(values["posted_replays"]))
    return DigestJob(**values)


def _replay_keys(stored: str | None) -> list[str]:
    if not stored:
        return []
    keys = json.loads(stored)
    return [str(key) for key in keys] if isinstance(keys, list) else []
