"""`SqlLinkStore`: which Tencent Meeting userid each Slack user is, in the `links` table."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from bot.core.clock import utcnow
from bot.core.records import Link, LinkMethod
from bot.store import tables
from bot.store.notify import change
from bot.store.sql import Sql


class SqlLinkStore:
    """`bot.core.storage.LinkStore` on SQL; every write is one atomic statement."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def get(self, team_id: str, slack_user_id: str) -> Link | None:
        query = sa.select(tables.links).where(
            tables.links.c.team_id == team_id, tables.links.c.slack_user_id == slack_user_id
        )
        row = await self._sql.fetch_one(query)
        return _link(row) if row else None

    async def save(
        self,
        team_id: str,
        slack_user_id: str,
        tencent_userid: str,
        *,
        method: LinkMethod,
        linked_by: str,
    ) -> Link:
        now = utcnow()
        insert = self._sql.insert(tables.links).values(
            team_id=team_id,
            slack_user_id=slack_user_id,
            tencent_userid=tencent_userid,
            method=LinkMethod(method).value,
            linked_by=linked_by,
            created_at=now,
            updated_at=now,
        )
        new = insert.excluded
        # One upsert rather than read-then-write: two instances linking the same user at once
        # leave one consistent row, and each gets back the row its own statement stored.
        statement = insert.on_conflict_do_update(
            index_elements=[tables.links.c.team_id, tables.links.c.slack_user_id],
            set_={
                "tencent_userid": new.tencent_userid,
                "method": new.method,
                "linked_by": new.linked_by,
                "updated_at": new.updated_at,
            },
        ).returning(*tables.links.c)
        row = await self._sql.write_one(statement, announce=change("link", team_id, slack_user_id))
        assert row is not None, "an upsert always returns its row"
        return _link(row)

    async def delete(self, team_id: str, slack_user_id: str) -> Link | None:
        statement = (
            sa.delete(tables.links)
            .where(tables.links.c.team_id == team_id, tables.links.c.slack_user_id == slack_user_id)
            .returning(*tables.links.c)
        )
        row = await self._sql.write_one(statement, announce=change("link", team_id, slack_user_id))
        return _link(row) if row else None

    async def for_tencent_user(self, tencent_userid: str) -> list[Link]:
        query = (
            sa.select(tables.links)
            .where(tables.links.c.tencent_userid == tencent_userid)
            .order_by(tables.links.c.team_id, tables.links.c.slack_user_id)
        )
        return [_link(row) for row in await self._sql.fetch_all(query)]


def _link(row: sa.Row[Any]) -> Link:
    values = row._asdict()
    values["method"] = LinkMethod(values["method"])
    return Link(**values)
