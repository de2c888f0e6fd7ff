"""Answers through a slash command's or an action's `response_url`: JSON posts on the app's shared
HTTP session.

Slack allows five posts per `response_url` within 30 minutes; callers plan their messages so. A 429
is waited out (`Retry-After`, plus up to a second of jitter) and the post tried again, up to three
times; a dropped connection is tried once more after half a second or so (the retries slack_sdk's
webhook client makes with its handlers). The posts are made directly on the shared session and
encoded with orjson rather than through that client, which is built per URL and works out its
User-Agent and formats a DEBUG line with the whole body on every post, whatever the log level:
measured, posting directly costs a fraction of that.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import aiohttp
import orjson

log = logging.getLogger(__name__)

ResponseType = Literal["ephemeral", "in_channel"]

#: the whole of one post, retries included
POST_TIMEOUT_SECONDS = 10.0
#: retries of one post in all; a 429 may use every one of them, a dropped connection only the first
MAX_RETRIES = 3
CONNECTION_RETRIES = 1
#: what Slack's `response_url` takes: a JSON body
HEADERS = {"Content-Type": "application/json; charset=utf-8"}
#: a connection that went away or could not be made: worth one more try
_DROPPED = (aiohttp.ServerConnectionError, aiohttp.ClientOSError)


class Responder:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._session = session
        self._sleep = sleep

    async def send_all(
        self,
        response_url: str,
        messages: list[dict[str, Any]],
        *,
        response_type: ResponseType = "ephemeral",
        replace_original: bool = False,
    ) -> bool:
        """Post the messages in order; False (and a log line) when Slack did not take one.
        `replace_original`: the message replaces the one whose button was clicked (an action's
        `response_url` only; pass a single message)."""
        ok = True
        for message in messages:
            body = orjson.dumps(
                {**message, "response_type": response_type, "replace_original": replace_original}
            )
            try:
                async with asyncio.timeout(POST_TIMEOUT_SECONDS):
                    status, text = await self._post(response_url, body)
            except (aiohttp.ClientError, TimeoutError) as error:
                log.warning("response_url unreachable: %r", error)
                return False
            if status != 200:
                log.warning("response_url refused a message: %s %s", status, text[:200])
                ok = False
        return ok

    async def _post(self, url: str, body: bytes) -> tuple[int, str]:
        """One post with its retries: the last answer's status and text."""
        retries = 0
        while True:
            try:
                async with self._session.post(url, data=body, headers=HEADERS) as response:
                    text = await response.text()
                    status, retry_after = response.status, response.headers.get("Retry-After")
            except _DROPPED:
                if retries >= CONNECTION_RETRIES:
                    raise
                await self._sleep(0.5 * 2**retries + random.random())
                retries += 1
                continue
            if status != 429 or retries >= MAX_RETRIES:
                return status, text
            await self._sleep(_seconds(retry_after) + random.random())
            retries += 1


def _seconds(retry_after: str | None) -> float:
    """Slack's `Retry-After` (whole seconds); a second when it is missing or unreadable."""
    try:
        return max(0.0, float(int(retry_after or "")))
    except ValueError:
        return 1.0
