"""`bot.core.status.OpsStore` in memory, for the core's tests: the instances' rows in a dict, the
digest backlog read from a `MemoryDigestJobStore`. It keeps what `bot.store.heartbeats` promises
(the same orderings, naive datetimes refused) and, like `bot.store.memory`, imports no SQLAlchemy."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import datetime

from bot.core.status import DigestBacklog, Instance, WebhookNote
from bot.store.memory import MemoryDigestJobStore, _utc


class MemoryOpsStore:
    def __init__(self, jobs: MemoryDigestJobStore) -> None:
        self._jobs = jobs
        self._instances: dict[str, Instance] = {}
        self._webhooks: dict[str, WebhookNote] = {}

    async def beat(self, instance: Instance) -> None:
        self._instances[instance.instance_id] = dataclasses.replace(
            instance, started_at=_utc(instance.started_at), last_seen=_utc(instance.last_seen)
        )

    async def alive(self, since: datetime) -> list[Instance]:
        since = _utc(since)
        found = [i for i in self._instances.values() if i.last_seen >= since]
        return sorted(found, key=lambda i: (i.started_at, i.instance_id))

    async def forget_before(self, cutoff: datetime) -> int:
        cutoff = _utc(cutoff)
        gone = [key for key, i in self._instances.items() if i.last_seen < cutoff]
        for key in gone:
            del self._instances[key]
            self._webhooks.pop(key, None)
        return len(gone)

    async def record_webhook(self, instance_id: str, outcome: str, at: datetime) -> None:
        # As the SQL UPDATE: nothing happens for an instance without a row.
        if instance_id in self._instances:
            self._webhooks[instance_id] = WebhookNote(_utc(at), outcome, instance_id)

    async def last_webhook(self) -> WebhookNote | None:
        notes = sorted(self._webhooks.values(), key=lambda n: n.instance_id)
        return max(notes, key=lambda n: n.at, default=None)

    async def digest_backlog(self, now: datetime) -> DigestBacklog:
        now = _utc(now)
        # The job store's own rows (this module is its companion): the backlog reads them as
        # the SQL store reads the digest_jobs table.
        jobs = list(self._jobs._jobs.values())
        due = [job.due_at for job in jobs if job.claimable(now)]
        return DigestBacklog(
            by_state=dict(Counter(job.state.value for job in jobs)),
            due=len(due),
            oldest_due_at=min(due, default=None),
        )
