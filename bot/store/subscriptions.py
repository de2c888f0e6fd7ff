"""`SqlSubscriptionStore`: which channels want digests of whose meetings."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from bot.core.clock import utcnow
from bot.core.records import Subscription
from bot.store import tables
from bot.store.sql import Sql

# How subscriptions.meeting_code spells "every meeting": NULL would not collide in the primary key,
# which is what makes subscribing twice a no-op.
ALL_MEETINGS = ""


class SqlSubscriptionStore:
    """`bot.core.storage.SubscriptionStore` on SQL."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def add(
        self,
        team_id: str,
        channel_id: str,
        tencent_userid: str,
        meeting_code: str | None,
        *,
        created_by: str,
        subject_match: str = "",
    ) -> bool:
        # ON CONFLICT DO NOTHING ... RETURNING: a row comes back only to the caller that created
        # it, so two instances subscribing at once get one True and one False.
        statement = (
            self._sql.insert(tables.subscriptions)
            .values(
                team_id=team_id,
                channel_id=channel_id,
                tencent_userid=tencent_userid,
                meeting_code=meeting_code or ALL_MEETINGS,
                subject_match=subject_match,
                created_by=created_by,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing()
            .returning(tables.subscriptions.c.team_id)
        )
        return await self._sql.write_one(statement) is not None

    async def remove(
        self,
        team_id: str,
        channel_id: str,
        tencent_userid: str,
        meeting_code: str | None,
        *,
        subject_match: str = "",
    ) -> bool:
        c = tables.subscriptions.c
        statement = (
            sa.delete(tables.subscriptions)
            .where(
                c.team_id == team_id,
                c.channel_id == channel_id,
                c.tencent_userid == tencent_userid,
                c.meeting_code == (meeting_code or ALL_MEETINGS),
                c.subject_match == subject_match,
            )
            .returning(c.team_id)
        )
        return await self._sql.write_one(statement) is not None

    async def in_channel(self, team_id: str, channel_id: str) -> list[Subscription]:
        c = tables.subscriptions.c
        return await self._select(c.team_id == team_id, c.channel_id == channel_id)

    async def for_meeting(self, tencent_userid: str, meeting_code: str) -> list[Subscription]:
        c = tables.subscriptions.c
        return await self._select(
            c.tencent_userid == tencent_userid, c.meeting_code.in_([ALL_MEETINGS, meeting_code])
        )

    async def watched_codes(self) -> list[tuple[str, str]]:
        c = tables.subscriptions.c
        query = (
            sa.select(c.tencent_userid, c.meeting_code)
            .where(c.meeting_code != ALL_MEETINGS)
            .distinct()
            .order_by(c.tencent_userid, c.meeting_code)
        )
        return [(row.tencent_userid, row.meeting_code) for row in await self._sql.fetch_all(query)]

    async def made_by(self, team_id: str, slack_user_id: str) -> list[Subscription]:
        c = tables.subscriptions.c
        return await self._select(c.team_id == team_id, c.created_by == slack_user_id)

    async def all_meetings_creators(self) -> list[str]:
        c = tables.subscriptions.c
        query = (
            sa.select(c.tencent_userid)
            .where(c.meeting_code == ALL_MEETINGS)
            .distinct()
            .order_by(c.tencent_userid)
        )
        return [row.tencent_userid for row in await self._sql.fetch_all(query)]

    async def _select(self, *conditions: sa.ColumnElement[bool]) -> list[Subscription]:
        c = tables.subscriptions.c
        query = (
            sa.select(tables.subscriptions)
            .where(*conditions)
            .order_by(c.team_id, c.channel_id, c.tencent_userid, c.meeting_code, c.subject_match)
        )
        return [_subscription(row) for row in await self._sql.fetch_all(query)]


def _subscription(row: sa.Row[Any]) -> Subscription:
    values = row._asdict()
    values["meeting_code"] = values["meeting_code"] or None
    return Subscription(**values)
