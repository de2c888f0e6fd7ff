"""`InFlight`: the work under way after acknowledgements, counted so that a flood can be turned away
and a shutdown can wait for it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable


class InFlight:
    """Counts work that must finish before shutdown (what commands, mentions and share clicks do
    after their ack).

    `full` says when `limit` pieces of work are under way: past that, a new `/replays` look-up is
    turned away with a "busy" answer in its acknowledgement rather than queued behind the others,
    because a queue that grows without end delays every answer and, once acknowledgements slow
    down, makes Slack show its own failure to everybody. Commands that need no Tencent call (help,
    whoami, link, ...) still go through.
    """

    def __init__(self, limit: int = 1_000, *, on_finish: Callable[[], None] | None = None) -> None:
        self.limit = limit
        #: told when a piece of work ends (the edge times answers with it), in the work's context
        self._on_finish = on_finish
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def count(self) -> int:
        return self._count

    @property
    def full(self) -> bool:
        return self._count >= self.limit

    @contextlib.asynccontextmanager
    async def track(self) -> AsyncIterator[None]:
        self._count += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._count -= 1
            if self._count == 0:
                self._idle.set()
            if self._on_finish is not None:
                self._on_finish()

    async def drain(self, within: float) -> bool:
        """Wait until nothing is in flight; False if `within` seconds passed first."""
        try:
            await asyncio.wait_for(self._idle.wait(), within)
        except TimeoutError:
            return False
        return True
