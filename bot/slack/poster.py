"""Posting to Slack channels and DMs at Slack's pace.

`chat.postMessage` allows about one message per second per channel; bursts beyond that earn 429s.
The poster sends one request at a time per channel, in the order they came, each at least a second
after the answer to the one before; a 429 is waited out *through the same pacing*: its
`Retry-After` pushes that channel's next turn back for every poster to it, so retries queue behind
one another (and keep their order) instead of firing together the moment the wait ends. (That is why the client given to
the poster must not retry 429s itself: `bot.clients.build_slack_client(..., retry_rate_limits=False)`
builds it without a rate-limit handler.)
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.waiting import wait_until_set

T = TypeVar("T")

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
        #: when each channel may next be sent a request (a 429's Retry-After pushes it back)
        self._free_at: dict[str, float] = {}
        self._turns: dict[str, asyncio.Lock] = {}
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

        async def send() -> str | None:
            response = await self.client.chat_postMessage(channel=channel, **message, **extra)
            return response.get("ts")

        return await self._paced(channel, send, stop)

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

        async def send() -> None:
            await self.client.chat_update(channel=channel, ts=ts, **message)

        await self._paced(channel, send, stop)

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

    async def thread_messages(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """The first 200 messages of the thread under `thread_ts`, with their metadata: enough
        to find what this app replied there during one update."""
        response = await self.client.conversations_replies(
            channel=channel, ts=thread_ts, include_all_metadata=True, limit=200
        )
        return list(response.get("messages") or [])

    async def dm_channel(self, user_id: str) -> str:
        channel = self._dm_channels.get(user_id)
        if channel is None:
            response = await self.client.conversations_open(users=user_id)
            channel = str(response["channel"]["id"])
            self._dm_channels[user_id] = channel
        return channel

    async def _paced(
        self, channel: str, send: Callable[[], Awaitable[T]], stop: asyncio.Event | None
    ) -> T:
        """`send` in the channel's turn: one request at a time per channel, in the order they
        came, each sent at least an interval after the answer to the one before. Counting from
        the answer rather than from when the turn was due keeps Slack's pace however late a
        busy process gets a request out."""
        async with self._turn(channel):
            for attempt in range(RATE_LIMIT_RETRIES + 1):
                await self._until_free(channel, stop)
                try:
                    return await send()
                except SlackApiError as error:
                    if error.response.status_code != 429 or attempt == RATE_LIMIT_RETRIES:
                        raise
                    wait = _retry_after(error.response.headers.get("Retry-After"))
                    log.info("Slack asks to wait %.1f s before posting to %s again", wait, channel)
                    self._free_at[channel] = self._clock() + wait
                finally:
                    earliest = self._clock() + self._interval
                    self._free_at[channel] = max(self._free_at.get(channel, earliest), earliest)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _turn(self, channel: str) -> asyncio.Lock:
        turn = self._turns.get(channel)
        if turn is None:
            if len(self._turns) > 10_000:
                self._forget_idle_channels()
            turn = self._turns[channel] = asyncio.Lock()
        return turn

    def _forget_idle_channels(self) -> None:
        now = self._clock()
        self._turns = {c: lock for c, lock in self._turns.items() if lock.locked()}
        self._free_at = {c: at for c, at in self._free_at.items() if at > now}

    async def _until_free(self, channel: str, stop: asyncio.Event | None) -> None:
        wait = self._free_at.get(channel, 0.0) - self._clock()
        if wait > 0:
            if stop is None:
                await asyncio.sleep(wait)
            else:
                await wait_until_set(stop, at_most=wait)
        if stop is not None and stop.is_set():
            raise PostingStopped


def _retry_after(header: str | None) -> float:
    try:
        seconds = float(header) if header else 1.0
    except ValueError:
        seconds = 1.0
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)
