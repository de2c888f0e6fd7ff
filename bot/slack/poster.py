"""Posting to Slack channels and DMs at Slack's pace.

`chat.postMessage` allows about one message per second per channel; bursts beyond that earn 429s.
The poster spaces messages per channel, and a 429 is waited out *through the same pacing*: its
`Retry-After` pushes that channel's next slot back for every poster to it, so retries queue behind
one another instead of firing together the moment the wait ends. (That is why the client given to
the poster must not retry 429s itself: `bot.clients.build_slack_client(..., retry_rate_limits=False)`
builds it without a rate-limit handler.)
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.waiting import wait_until_set

log = logging.getLogger(__name__)

#: how often one message is tried again after a 429, and the longest wait believed
RATE_LIMIT_RETRIES = 5
MAX_RETRY_AFTER = 60.0


class PostingStopped(Exception):
    """The `stop` event given to a post was set before its request went out."""


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

    async def post(
        self,
        channel: str,
        message: dict[str, Any],
        *,
        stop: asyncio.Event | None = None,
        **extra: Any,
    ) -> str | None:
        """Post one message; returns its `ts`. Raises SlackApiError when Slack refuses it (or is
        still rate-limiting after RATE_LIMIT_RETRIES waits), and PostingStopped when `stop` is
        set before the request goes out (waiting for the channel's turn included): a request
        sent is always answered, so a post Slack took is never lost to a shutdown."""
        for attempt in range(RATE_LIMIT_RETRIES + 1):
            await self._wait_for_slot(channel, stop)
            try:
                response = await self.client.chat_postMessage(channel=channel, **message, **extra)
            except SlackApiError as error:
                if error.response.status_code != 429 or attempt == RATE_LIMIT_RETRIES:
                    raise
                wait = _retry_after(error.response.headers.get("Retry-After"))
                log.info("Slack asks to wait %.1f s before posting to %s again", wait, channel)
                self._push_back(channel, wait)
                continue
            return response.get("ts")
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def update(
        self,
        channel: str,
        ts: str,
        message: dict[str, Any],
        *,
        stop: asyncio.Event | None = None,
    ) -> None:
        """Rewrite a posted message, at the channel's pace (429s waited out as for posts);
        `stop` as for `post`."""
        for attempt in range(RATE_LIMIT_RETRIES + 1):
            await self._wait_for_slot(channel, stop)
            try:
                await self.client.chat_update(channel=channel, ts=ts, **message)
            except SlackApiError as error:
                if error.response.status_code != 429 or attempt == RATE_LIMIT_RETRIES:
                    raise
                self._push_back(channel, _retry_after(error.response.headers.get("Retry-After")))
                continue
            return

    async def recent_messages(self, channel: str, *, oldest: float) -> list[dict[str, Any]]:
        """The channel's messages since `oldest` (Unix seconds) with their metadata, newest first,
        at most 1,000 (five pages): enough to find what this app posted during one digest."""
        found: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(5):
            response = await self.client.conversations_history(
                channel=channel,
                oldest=f"{oldest:.6f}",
                limit=200,
                include_all_metadata=True,
                cursor=cursor,
            )
            found += list(response.get("messages") or [])
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not response.get("has_more") or not cursor:
                break
        return found

    async def dm_channel(self, user_id: str) -> str:
        channel = self._dm_channels.get(user_id)
        if channel is None:
            response = await self.client.conversations_open(users=user_id)
            channel = str(response["channel"]["id"])
            self._dm_channels[user_id] = channel
        return channel

    def _push_back(self, channel: str, seconds: float) -> None:
        earliest = self._clock() + seconds
        self._next_slot[channel] = max(self._next_slot.get(channel, earliest), earliest)

    async def _wait_for_slot(self, channel: str, stop: asyncio.Event | None = None) -> None:
        # Reserve the slot before sleeping so concurrent posters to one channel queue up behind it.
        now = self._clock()
        slot = max(now, self._next_slot.get(channel, now))
        self._next_slot[channel] = slot + self._interval
        if slot > now:
            if stop is None:
                await asyncio.sleep(slot - now)
            else:
                await wait_until_set(stop, at_most=slot - now)
        if stop is not None and stop.is_set():
            raise PostingStopped
        if len(self._next_slot) > 10_000:
            self._next_slot = {c: t for c, t in self._next_slot.items() if t > now}


def _retry_after(header: str | None) -> float:
    try:
        seconds = float(header) if header else 1.0
    except ValueError:
        seconds = 1.0
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)
