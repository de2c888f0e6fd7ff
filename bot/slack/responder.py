"""Answers through a slash command's or an action's `response_url`, on the app's shared HTTP session.

Bolt's own `respond()` opens a new HTTP session per call; this keeps one keep-alive pool for all of
them. Slack allows five posts per `response_url` within 30 minutes; callers plan their messages so.
A 429 is waited out (`Retry-After`, capped) and tried again a few times, as the Web client does.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal

import aiohttp

log = logging.getLogger(__name__)

ResponseType = Literal["ephemeral", "in_channel"]

#: how many times a rate-limited post is tried again, and the longest wait believed
RATE_LIMIT_RETRIES = 3
MAX_RETRY_AFTER = 10.0


class Responder:
    def __init__(self, session: aiohttp.ClientSession, *, timeout: float = 10.0) -> None:
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def send(
        self,
        response_url: str,
        message: dict[str, Any],
        *,
        response_type: ResponseType = "ephemeral",
        replace_original: bool = False,
    ) -> bool:
        """Post one message; False (and a log line) when Slack did not take it."""
        payload = {
            **message,
            "response_type": response_type,
            "replace_original": replace_original,
        }
        for attempt in range(RATE_LIMIT_RETRIES + 1):
            try:
                async with self._session.post(
                    response_url, json=payload, timeout=self._timeout
                ) as response:
                    body = await response.text()
                    status, retry_after = response.status, response.headers.get("Retry-After")
            except (aiohttp.ClientError, TimeoutError) as error:
                log.warning("response_url unreachable: %r", error)
                return False
            if status == 200:
                return True
            if status == 429 and attempt < RATE_LIMIT_RETRIES:
                delay = _retry_after(retry_after)
                log.info("response_url rate-limited; trying again in %.1f s", delay)
                await asyncio.sleep(delay)
                continue
            log.warning("response_url refused a message: %s %s", status, body[:200])
            return False
        return False

    async def send_all(
        self,
        response_url: str,
        messages: list[dict[str, Any]],
        *,
        response_type: ResponseType = "ephemeral",
    ) -> bool:
        ok = True
        for message in messages:
            ok = await self.send(response_url, message, response_type=response_type) and ok
        return ok


def _retry_after(header: str | None) -> float:
    try:
        seconds = float(header) if header else 1.0
    except ValueError:
        seconds = 1.0
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)
