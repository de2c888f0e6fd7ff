"""`bot.core.storage.SeenEvents` in memory."""

from __future__ import annotations

from datetime import datetime

from bot.core.clock import utcnow
from bot.store.memory.utc import stored_utc


class MemorySeenEvents:
    """Each key with when it was first seen, in a dict."""

    def __init__(self) -> None:
        self._seen_at: dict[str, datetime] = {}

    async def first_sighting(self, key: str) -> bool:
        if key in self._seen_at:
            return False
        self._seen_at[key] = utcnow()
        return True

    async def forget_before(self, cutoff: datetime, *, prefix: str) -> int:
        cutoff = stored_utc(cutoff)
        old = [
            key
            for key, seen_at in self._seen_at.items()
            if seen_at < cutoff and key.startswith(prefix)
        ]
        for key in old:
            del self._seen_at[key]
        return len(old)
