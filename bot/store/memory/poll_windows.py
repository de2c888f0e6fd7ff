"""`bot.core.storage.PollWindowStore` in memory."""

from __future__ import annotations

from datetime import datetime

from bot.store.memory.utc import stored_utc


class MemoryPollWindowStore:
    """Each creator's window end, in a dict."""

    def __init__(self) -> None:
        self._ends: dict[str, datetime] = {}

    async def window_end(self, tencent_userid: str) -> datetime | None:
        return self._ends.get(tencent_userid)

    async def advance(self, tencent_userid: str, window_end: datetime) -> None:
        end = stored_utc(window_end)
        stored = self._ends.get(tencent_userid)
        if stored is None or end > stored:
            self._ends[tencent_userid] = end
