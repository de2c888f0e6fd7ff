"""`SqlPollWindowStore`: how far the poller has read each creator's meeting history, so that the
next round asks Tencent only for what ended since, across restarts and instances."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from bot.store import tables
from bot.store.sql import Sql


class SqlPollWindowStore:
    """`bot.core.storage.PollWindowStore` on SQL."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def window_end(self, tencent_userid: str) -> datetime | None:
        c = tables.poll_windows.c
        end: datetime | None = await self._sql.scalar(
            sa.select(c.window_end).where(c.tencent_userid == tencent_userid)
        )
        return end

    async def advance(self, tencent_userid: str, window_end: datetime) -> None:
        windows = tables.poll_windows
        insert = self._sql.insert(windows).values(
            tencent_userid=tencent_userid, window_end=window_end
        )
        newer = insert.excluded.window_end
        # One upsert: two instances advancing at once both succeed, and the row never moves back.
        statement = insert.on_conflict_do_update(
            index_elements=[windows.c.tencent_userid],
            set_={
                "window_end": sa.case(
                    (newer > windows.c.window_end, newer), else_=windows.c.window_end
                )
            },
        )
        await self._sql.write(statement)
