"""`SqlOpsStore`: the instances' heartbeats and last webhook deliveries (the `instances` table),
and the digest backlog as the status and the metrics see it (`bot.core.storage.OpsStore`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bot.core.records import DigestBacklog, Instance, JobState, WebhookNote
from bot.store import tables
from bot.store.digest_jobs import claimable_at
from bot.store.sql import Sql


class SqlOpsStore:
    """`bot.core.storage.OpsStore` on SQL; every write is one atomic statement."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def beat(self, instance: Instance) -> None:
        insert = self._sql.insert(tables.instances).values(
            instance_id=instance.instance_id,
            host=instance.host,
            version=instance.version,
            started_at=instance.started_at,
            last_seen=instance.last_seen,
        )
        # An upsert: the first beat creates the row, later ones refresh it, the webhook columns
        # (written separately) stay as they are.
        statement = insert.on_conflict_do_update(
            index_elements=[tables.instances.c.instance_id],
            set_={
                "host": insert.excluded.host,
                "version": insert.excluded.version,
                "started_at": insert.excluded.started_at,
                "last_seen": insert.excluded.last_seen,
            },
        )
        await self._sql.write(statement)

    async def alive(self, since: datetime) -> list[Instance]:
        rows = await self._sql.fetch_all(
            sa.select(
                tables.instances.c.instance_id,
                tables.instances.c.host,
                tables.instances.c.version,
                tables.instances.c.started_at,
                tables.instances.c.last_seen,
            )
            .where(tables.instances.c.last_seen >= since)
            .order_by(tables.instances.c.started_at, tables.instances.c.instance_id)
        )
        return [Instance(**row._asdict()) for row in rows]

    async def forget_before(self, cutoff: datetime) -> int:
        return await self._sql.write(
            sa.delete(tables.instances).where(tables.instances.c.last_seen < cutoff)
        )

    async def record_webhook(self, instance_id: str, outcome: str, at: datetime) -> None:
        await self._sql.write(
            sa.update(tables.instances)
            .where(tables.instances.c.instance_id == instance_id)
            .values(last_webhook_at=at, last_webhook_outcome=outcome)
        )

    async def last_webhook(self) -> WebhookNote | None:
        row = await self._sql.fetch_one(
            sa.select(
                tables.instances.c.last_webhook_at,
                tables.instances.c.last_webhook_outcome,
                tables.instances.c.instance_id,
            )
            .where(tables.instances.c.last_webhook_at.is_not(None))
            .order_by(tables.instances.c.last_webhook_at.desc(), tables.instances.c.instance_id)
            .limit(1)
        )
        if row is None:
            return None
        return WebhookNote(
            at=row.last_webhook_at, outcome=row.last_webhook_outcome, instance_id=row.instance_id
        )

    async def digest_backlog(self, now: datetime) -> DigestBacklog:
        jobs = tables.digest_jobs
        counts = await self._sql.fetch_all(
            sa.select(jobs.c.state, sa.func.count().label("jobs")).group_by(jobs.c.state)
        )
        # The claim's own test of "due and not being worked on": what a worker would take next.
        due: Any = await self._sql.fetch_one(
            sa.select(sa.func.count(), sa.func.min(jobs.c.due_at)).where(claimable_at(now))
        )
        return DigestBacklog(
            by_state={JobState(row.state).value: int(row.jobs) for row in counts},
            due=int(due[0]) if due else 0,
            oldest_due_at=due[1] if due else None,
        )
