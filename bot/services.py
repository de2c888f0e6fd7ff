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
    """Counts work that must finish before shutdown (look-ups answered after the ack)."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def count(self) -> int:
        return self._count

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
