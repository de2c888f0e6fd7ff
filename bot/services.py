"""The services one running instance is made of, built by the composition root (`bot.app`).

Bolt listeners reach them through the request context (put there by a middleware), the HTTP routes
through the aiohttp application; nothing builds its own copy.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp

from bot.config import Settings
from bot.core.digests import Digests
from bot.core.identity import Identity
from bot.core.lookup import ReplayLookup
from bot.meeting.client import TencentMeetingClient
from bot.slack.poster import SlackPoster
from bot.slack.profiles import SlackProfiles
from bot.slack.responder import Responder
from bot.store import Store


class InFlight:
    """Counts work that must finish before shutdown (what commands, mentions and share clicks do
    after their ack).

    `full` says when `limit` pieces of work are under way: past that, a new `/replays` look-up is
    turned away with a "busy" answer in its acknowledgement rather than queued behind the others,
    because a queue that grows without end delays every answer and, once acknowledgements slow
    down, makes Slack show its own failure to everybody. Commands that need no Tencent call (help,
    whoami, link, ...) still go through.
    """

    def __init__(self, limit: int = 1_000) -> None:
        self.limit = limit
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

    async def drain(self, within: float) -> bool:
        """Wait until nothing is in flight; False if `within` seconds passed first."""
        try:
            await asyncio.wait_for(self._idle.wait(), within)
        except TimeoutError:
            return False
        return True


@dataclass
class Services:
    settings: Settings
    http: aiohttp.ClientSession
    store: Store
    tencent: TencentMeetingClient
    lookup: ReplayLookup
    profiles: SlackProfiles
    identity: Identity
    poster: SlackPoster
    responder: Responder
    digests: Digests
    in_flight: InFlight = field(default_factory=InFlight)
