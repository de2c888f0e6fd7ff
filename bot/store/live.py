"""`SqlLiveMeetingStore`: which meetings went live (`meeting.live-started`), and when such an event
was last seen at all, so that digests spend Tencent calls only on meetings that streamed."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from bot.store import tables
from bot.store.sql import Sql


class SqlLiveMeetingStore:
    """`bot.core.storage.LiveMeetingStore` on SQL."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def mark_live(self, meeting_id: str, *, seen_at: datetime) -> None:
        live = tables.live_meetings
        insert = self._sql.insert(live).values(meeting_id=meeting_id, seen_at=seen_at)
        newer = insert.excluded.seen_at
        # One upsert, so that instances receiving redeliveries at once cannot collide.
        statement = insert.on_conflict_do_update(
            index_elements=[live.c.meeting_id],
            set_={"seen_at": sa.case((newer > live.c.seen_at, newer), else_=live.c.seen_at)},
        )
        await self._sql.write(statement)

    async def went_live(self, meeting_id: str) -> bool:
        query = sa.select(tables.live_meetings.c.meeting_id).where(
            tables.live_meetings.c.meeting_id == meeting_id
        )
        return await self._sql.fetch_one(query) is not None

    async def latest(self) -> datetime | None:
        newest: datetime | None = await self._sql.scalar(
            sa.select(sa.func.max(tables.live_meetings.c.seen_at))
        )
        return newest
