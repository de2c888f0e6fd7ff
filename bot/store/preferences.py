"""`SqlPreferenceStore`: each Slack user's settings (for now, whether digests come by DM)."""

from __future__ import annotations

import sqlalchemy as sa

from bot.core.clock import utcnow
from bot.store import tables
from bot.store.notify import change
from bot.store.sql import Sql


class SqlPreferenceStore:
    """`bot.core.storage.PreferenceStore` on SQL. A user without a row has the defaults."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def dm_digests_enabled(self, team_id: str, slack_user_id: str) -> bool:
        query = sa.select(tables.user_prefs.c.dm_digests).where(
            tables.user_prefs.c.team_id == team_id,
            tables.user_prefs.c.slack_user_id == slack_user_id,
        )
        row = await self._sql.fetch_one(query)
        return True if row is None else bool(row.dm_digests)

    async def set_dm_digests(self, team_id: str, slack_user_id: str, enabled: bool) -> None:
        insert = self._sql.insert(tables.user_prefs).values(
            team_id=team_id, slack_user_id=slack_user_id, dm_digests=enabled, updated_at=utcnow()
        )
        # An upsert: the first setting creates the row, later ones change it, atomically.
        statement = insert.on_conflict_do_update(
            index_elements=[tables.user_prefs.c.team_id, tables.user_prefs.c.slack_user_id],
            set_={
                "dm_digests": insert.excluded.dm_digests,
                "updated_at": insert.excluded.updated_at,
            },
        )
        await self._sql.write(statement, announce=change("dm", team_id, slack_user_id))
