"""`bot.core.storage.OpsStore` in memory: the instances' rows in a dict, the digest backlog read
from a `MemoryDigestJobStore`'s rows."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import datetime

from bot.core.records import DigestBacklog, Instance, WebhookNote
from bot.store.memory.digest_jobs import MemoryDigestJobStore
from bot.store.memory.utc import stored_utc


class MemoryOpsStore:
    def __init__(self, jobs: MemoryDigestJobStore) -> None:
        self._jobs = jobs
        self._instances: dict[str, Instance] = {}
        self._webhooks: dict[str, WebhookNote] = {}

    async def beat(self, instance: Instance) -> None:
        self._instances[instance.instance_id] = dataclasses.replace(
            instance,
            started_at=stored_utc(instance.started_at),
            last_seen=stored_utc(instance.last_seen),
        )

    async def alive(self, since: datetime) -> list[Instance]:
        since = stored_utc(since)
        found = [i for i in self._instances.values() if i.last_seen >= since]
        return sorted(found, key=lambda i: (i.started_at, i.instance_id))

    async def forget_before(self, cutoff: datetime) -> int:
        cutoff = stored_utc(cutoff)
        gone = [key for key, i in self._instances.items() if i.last_seen < cutoff]
        for key in gone:
            del self._instances[key]
            self._webhooks.pop(key, None)
        return len(gone)

    async def record_webhook(self, instance_id: str, outcome: str, at: datetime) -> None:
        if instance_id in self._instances:
            self._webhooks[instance_id] = WebhookNote(stored_utc(at), outcome, instance_id)

    async def last_webhook(self) -> WebhookNote | None:
        notes = sorted(self._webhooks.values(), key=lambda n: n.instance_id)
        return max(notes, key=lambda n: n.at, default=None)

    async def digest_backlog(self, now: datetime) -> DigestBacklog:
        now = stored_utc(now)
        jobs = self._jobs.rows()
        due = [job.due_at for job in jobs if job.claimable(now)]
        return DigestBacklog(
            by_state=dict(Counter(job.state.value for job in jobs)),
            due=len(due),
            oldest_due_at=min(due, default=None),
        )
