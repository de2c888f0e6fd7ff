"""`Memo`: a bounded cache whose entries each live their own time, and whose misses share one load.

Every cache of the app is one of these (replay look-ups, Slack profiles, links): identical requests
that arrive together share a single call, and repeats within the entry's lifetime cost nothing.
The bounded, time-aware store is cachetools' `TLRUCache`; what this adds is the sharing of loads
and one rule for writes racing reads: `forget(key)` while a load of that key is under way means the
load's result is returned to its callers but not kept, so an old value (a link just removed, a
setting just changed) cannot be put back by a read that overlapped the change.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

from cachetools import TLRUCache

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Memo(Generic[K, V]):
    """`ttl(value)` says how many seconds a loaded value is kept (0 or less: not kept)."""

    def __init__(
        self,
        *,
        ttl: Callable[[V], float],
        max_entries: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._entries: TLRUCache[K, V] = TLRUCache(
            maxsize=max_entries, ttu=lambda _key, value, now: now + ttl(value), timer=clock
        )
        self._loading: dict[K, asyncio.Future[V]] = {}
        # Loads that a forget() overtook: their callers get the result, nobody keeps it.
        self._overtaken: set[asyncio.Future[V]] = set()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> V | None:
        """The kept value, without any I/O; None when there is none (or it expired)."""
        return self._entries.get(key)

    def holds(self, key: K) -> bool:
        """Whether a value is kept for `key` (it may be None), without any I/O."""
        return key in self._entries

    def put(self, key: K, value: V) -> None:
        if self._ttl(value) > 0:
            self._entries[key] = value
        else:
            self._entries.pop(key, None)

    def forget(self, key: K) -> None:
        self._entries.pop(key, None)
        overtaken = self._loading.pop(key, None)
        if overtaken is not None:
            # Callers from now on start a load of their own rather than join this older one.
            self._overtaken.add(overtaken)

    def clear(self) -> None:
        """Forget every key, as `forget` does one."""
        self._entries.clear()
        for key in list(self._loading):
            self.forget(key)

    async def fetch(self, key: K, load: Callable[[], Awaitable[V]], *, fresh: bool = False) -> V:
        """The kept value, or `load()`'s; concurrent callers of one key share one load. `fresh`
        skips the kept value (it still joins a load under way, which is as fresh)."""
        if not fresh and (kept := self._entries.get(key)) is not None:
            return kept
        pending = self._loading.get(key)
        if pending is None:
            pending = asyncio.ensure_future(load())
            self._loading[key] = pending
            pending.add_done_callback(lambda done: self._settle(key, done))
        # shield: one impatient caller being cancelled must not cancel the load the others share
        return await asyncio.shield(pending)

    def _settle(self, key: K, done: asyncio.Future[V]) -> None:
        if self._loading.get(key) is done:
            del self._loading[key]
        if done in self._overtaken:
            self._overtaken.discard(done)
            return
        if done.cancelled() or done.exception() is not None:
            return
        self.put(key, done.result())
