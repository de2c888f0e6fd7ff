"""`SqlSeenEvents`: keys of things already handled (Slack event ids, the poller's sightings), so
that a redelivery, or another instance, does not handle them again."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from bot.core.clock import utcnow
from bot.store import tables
from bot.store.sql import Sql


class SqlSeenEvents:
    """`bot.core.storage.SeenEvents` on SQL."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def first_sighting(self, key: str) -> bool:
        # ON CONFLICT DO NOTHING ... RETURNING: only the statement that inserted the key gets a
        # row back, however many instances race with the same key.
        statement = (
            self._sql.insert(tables.seen_events)
            .values(key=key, seen_at=utcnow())
            .on_conflict_do_nothing()
            .returning(tables.seen_events.c.key)
        )
        return await self._sql.write_one(statement) is not None

    async def forget_before(self, cutoff: datetime, *, prefix: str) -> int:
        key = tables.seen_events.c.key
        # substr, not LIKE: SQLite's LIKE ignores ASCII case, and a prefix could hold % or _.
        statement = sa.delete(tables.seen_events).where(
            tables.seen_events.c.seen_at < cutoff, sa.func.substr(key, 1, len(prefix)) == prefix
        )
        return await self._sql.write(statement)
