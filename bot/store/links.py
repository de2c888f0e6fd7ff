"""`SqlLinkStore`: which Tencent Meeting userid each Slack user is, in the `links` table."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from bot.core.records import Link, LinkMethod
from bot.store import tables as t
from bot.store.notify import change
from bot.store.sql import Sql, utcnow


class SqlLinkStore:
    """`bot.core.storage.LinkStore` on SQL; every write is one atomic statement."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def get(self, team_id: str, slack_user_id: str) -> Link | None:
        query = sa.select(t.links).where(
            t.links.c.team_id == team_id, t.links.c.slack_user_id == slack_user_id
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
        """Link (or re-link) a Slack user; keeps the first created_at, returns the stored link."""
        now = utcnow()
        insert = self._sql.insert(t.links).values(
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
            index_elements=[t.links.c.team_id, t.links.c.slack_user_id],
            set_={
                "tencent_userid": new.tencent_userid,
                "method": new.method,
                "linked_by": new.linked_by,
                "updated_at": new.updated_at,
            },
        ).returning(*t.links.c)
        row = await self._sql.write_one(statement, announce=change("link", team_id, slack_user_id))
        assert row is not None, "an upsert always returns its row"
        return _link(row)

    async def delete(self, team_id: str, slack_user_id: str) -> Link | None:
        """Remove a link; returns what was removed, None when there was none."""
        statement = (
            sa.delete(t.links)
            .where(t.links.c.team_id == team_id, t.links.c.slack_user_id == slack_user_id)
            .returning(*t.links.c)
        )
        row = await self._sql.write_one(statement, announce=change("link", team_id, slack_user_id))
        return _link(row) if row else None

    async def for_tencent_user(self, tencent_userid: str) -> list[Link]:
        """Every Slack user linked to this userid, ordered by (team_id, slack_user_id)."""
        query = (
            sa.select(t.links)
            .where(t.links.c.tencent_userid == tencent_userid)
            .order_by(t.links.c.team_id, t.links.c.slack_user_id)
        )
        return [_link(row) for row in await self._sql.fetch_all(query)]


def _link(row: sa.Row[Any]) -> Link:
    values = row._asdict()
    values["method"] = LinkMethod(values["method"])
    return Link(**values)
