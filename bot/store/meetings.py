"""`SqlMeetingStore` and `SqlVisibilityStore`: what the app learned about meetings (creators, and
who is not a meeting's creator) and each creator's choice of who may see their replays."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from bot.core.clock import utcnow
from bot.core.group_commit import GroupCommit
from bot.core.records import Visibility
from bot.core.storage import StorageRejected
from bot.store import tables
from bot.store.notify import change
from bot.store.sql import Sql

#: ids per `IN (...)` list: far below SQLite's and asyncpg's parameter limits
_CHUNK = 500


class SqlMeetingStore:
    """`bot.core.storage.MeetingStore` on SQL; every write is one idempotent upsert."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql
        # The two statements of every look-up, built once with their values as parameters: a
        # statement built per call costs more to put together (and to find in SQLAlchemy's
        # compiled cache) than the database takes to run it.
        c = tables.meeting_creators.c
        insert = sql.insert(tables.meeting_creators)
        new = insert.excluded
        self._learn = insert.on_conflict_do_update(
            index_elements=[c.meeting_id],
            set_={
                # a look-up by ID may not carry the code: keep the one known
                "meeting_code": sa.case(
                    (new.meeting_code == "", c.meeting_code), else_=new.meeting_code
                ),
                "creator_userid": new.creator_userid,
                "learned_at": new.learned_at,
            },
        )
        self._creator_by_id = sa.select(c.creator_userid).where(
            c.meeting_id == sa.bindparam("meeting_id")
        )
        self._creators_by_ids = sa.select(c.meeting_id, c.creator_userid).where(
            c.meeting_id.in_(sa.bindparam("meeting_ids", expanding=True))
        )
        # Look-ups that arrive together share one transaction for what they learn and one query
        # for the creators they ask about (each caller still waits for its own result); alone,
        # a look-up's statement runs at once, since nothing waits to gather a batch.
        self._learning: GroupCommit[dict[str, Any], None] = GroupCommit(
            self._learn_all, split_on=(StorageRejected,)
        )
        self._asking: GroupCommit[str, str | None] = GroupCommit(self._creators_of)

    async def learn_creator(self, meeting_id: str, meeting_code: str, creator_userid: str) -> None:
        values = {
            "meeting_id": meeting_id,
            "meeting_code": meeting_code,
            "creator_userid": creator_userid,
            "learned_at": utcnow(),
        }
        await self._learning.submit(values)

    async def _learn_all(self, batch: Sequence[dict[str, Any]]) -> list[None]:
        # In the order asked: the same meeting learned twice in one batch ends as it would have.
        await self._sql.write(self._learn, batch[0] if len(batch) == 1 else list(batch))
        return [None] * len(batch)

    async def creator_by_id(self, meeting_id: str) -> str | None:
        return await self._asking.submit(meeting_id)

    async def _creators_of(self, meeting_ids: Sequence[str]) -> list[str | None]:
        if len(meeting_ids) == 1:
            return [await self._sql.scalar(self._creator_by_id, {"meeting_id": meeting_ids[0]})]
        rows = await self._sql.fetch_all(
            self._creators_by_ids, {"meeting_ids": sorted(set(meeting_ids))}
        )
        creators = {row.meeting_id: row.creator_userid for row in rows}
        return [creators.get(meeting_id) for meeting_id in meeting_ids]

    async def creator_by_code(self, meeting_code: str, *, learned_since: datetime) -> str | None:
        c = tables.meeting_creators.c
        query = (
            sa.select(c.creator_userid)
            .where(c.meeting_code == meeting_code, c.learned_at >= learned_since)
            .order_by(c.learned_at.desc())
            .limit(1)
        )
        return await self._sql.scalar(query)

    async def note_not_creator(self, meeting_id: str, userid: str) -> None:
        statement = (
            self._sql.insert(tables.not_creators)
            .values(meeting_id=meeting_id, userid=userid, noted_at=utcnow())
            .on_conflict_do_nothing()
        )
        await self._sql.write(statement)

    async def not_creator_of(self, userid: str, meeting_ids: Collection[str]) -> set[str]:
        ids = sorted(set(meeting_ids))
        found: set[str] = set()
        c = tables.not_creators.c
        for start in range(0, len(ids), _CHUNK):
            query = sa.select(c.meeting_id).where(
                c.userid == userid, c.meeting_id.in_(ids[start : start + _CHUNK])
            )
            found.update(row.meeting_id for row in await self._sql.fetch_all(query))
        return found


class SqlVisibilityStore:
    """`bot.core.storage.VisibilityStore` on SQL. A creator without a row has `Visibility.ME`."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql

    async def get(self, team_id: str, creator_userid: str) -> Visibility:
        c = tables.creator_visibility.c
        value = await self._sql.scalar(
            sa.select(c.visibility).where(c.team_id == team_id, c.creator_userid == creator_userid)
        )
        return Visibility(value) if value else Visibility.ME

    async def set(
        self, team_id: str, creator_userid: str, visibility: Visibility, *, set_by: str
    ) -> None:
        insert = self._sql.insert(tables.creator_visibility).values(
            team_id=team_id,
            creator_userid=creator_userid,
            visibility=Visibility(visibility).value,
            set_by=set_by,
            updated_at=utcnow(),
        )
        new = insert.excluded
        statement = insert.on_conflict_do_update(
            index_elements=[
                tables.creator_visibility.c.team_id,
                tables.creator_visibility.c.creator_userid,
            ],
            set_={
                "visibility": new.visibility,
                "set_by": new.set_by,
                "updated_at": new.updated_at,
            },
        )
        # Instances keep settings in memory (`MeetingAccess`): tell the others to drop theirs.
        await self._sql.write(statement, announce=change("visibility", team_id, creator_userid))
