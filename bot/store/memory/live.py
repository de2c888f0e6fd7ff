"""`bot.core.storage.LiveMeetingStore` in memory."""

from __future__ import annotations

from datetime import datetime

from bot.store.memory.utc import stored_utc


class MemoryLiveMeetingStore:
    """Each meeting seen live, with when, in a dict."""

    def __init__(self) -> None:
        self._seen: dict[str, datetime] = {}

    async def mark_live(self, meeting_id: str, *, seen_at: datetime) -> None:
        seen_at = stored_utc(seen_at)
        self._seen[meeting_id] = max(seen_at, self._seen.get(meeting_id, seen_at))

    async def went_live(self, meeting_id: str) -> bool:
        return meeting_id in self._seen

    async def latest(self) -> datetime | None:
        return max(self._seen.values(), default=None)
