"""`bot.core.storage.MeetingStore` and `VisibilityStore` in memory."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from bot.core.clock import utcnow
from bot.core.records import Visibility
from bot.store.memory.utc import stored_utc


class MemoryMeetingStore:
    """Creators learned and non-creators noted, in a dict and a set."""

    def __init__(self) -> None:
        #: meeting_id -> (meeting_code, creator_userid, learned_at)
        self._creators: dict[str, tuple[str, str, datetime]] = {}
        self._not_creators: set[tuple[str, str]] = set()

    async def learn_creator(self, meeting_id: str, meeting_code: str, creator_userid: str) -> None:
        old = self._creators.get(meeting_id)
        code = meeting_code or (old[0] if old else "")
        self._creators[meeting_id] = (code, creator_userid, utcnow())

    async def creator_by_id(self, meeting_id: str) -> str | None:
        known = self._creators.get(meeting_id)
        return known[1] if known else None

    async def creator_by_code(self, meeting_code: str, *, learned_since: datetime) -> str | None:
        learned_since = stored_utc(learned_since)
        matching = [
            (learned_at, creator)
            for code, creator, learned_at in self._creators.values()
            if code == meeting_code and learned_at >= learned_since
        ]
        return max(matching)[1] if matching else None

    async def note_not_creator(self, meeting_id: str, userid: str) -> None:
        self._not_creators.add((meeting_id, userid))

    async def not_creator_of(self, userid: str, meeting_ids: Collection[str]) -> set[str]:
        return {m for m in meeting_ids if (m, userid) in self._not_creators}


class MemoryVisibilityStore:
    """Each creator's setting per workspace, in a dict."""

    def __init__(self) -> None:
        self._settings: dict[tuple[str, str], Visibility] = {}

    async def get(self, team_id: str, creator_userid: str) -> Visibility:
        return self._settings.get((team_id, creator_userid), Visibility.ME)

    async def set(
        self, team_id: str, creator_userid: str, visibility: Visibility, *, set_by: str
    ) -> None:
        self._settings[(team_id, creator_userid)] = Visibility(visibility)
