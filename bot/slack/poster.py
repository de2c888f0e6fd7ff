"""Posting to Slack channels and DMs at Slack's pace.

`chat.postMessage` allows about one message per second per channel; bursts beyond that earn 429s. The
poster spaces messages per channel, and the Web client's rate-limit retry handler honours `Retry-After`
for whatever still gets a 429.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient


class SlackPoster:
    def __init__(
        self,
        client: AsyncWebClient,
        *,
        per_channel_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self._interval = per_channel_interval
        self._clock = clock
        self._next_slot: dict[str, float] = {}
        self._dm_channels: dict[str, str] = {}

    async def post(self, channel: str, message: dict[str, Any], **extra: Any) -> str | None:
        """Post one message; returns its `ts`. Raises SlackApiError when Slack refuses it."""
        await self._wait_for_slot(channel)
        response = await self.client.chat_postMessage(channel=channel, **message, **extra)
        return response.get("ts")

    async def post_dm(self, user_id: str, message: dict[str, Any]) -> str | None:
        return await self.post(await self.dm_channel(user_id), message)

    async def dm_channel(self, user_id: str) -> str:
        channel = self._dm_channels.get(user_id)
        if channel is None:
            response = await self.client.conversations_open(users=user_id)
            channel = str(response["channel"]["id"])
            self._dm_channels[user_id] = channel
        return channel

    async def _wait_for_slot(self, channel: str) -> None:
        # Reserve the slot before sleeping so concurrent posters to one channel queue up behind it.
        now = self._clock()
        slot = max(now, self._next_slot.get(channel, now))
        self._next_slot[channel] = slot + self._interval
        if slot > now:
            await asyncio.sleep(slot - now)
        if len(self._next_slot) > 10_000:
            self._next_slot = {c: t for c, t in self._next_slot.items() if t > now}
