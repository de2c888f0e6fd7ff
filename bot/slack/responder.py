"""Answers through a slash command's or an action's `response_url`, on the app's shared HTTP session.

Bolt's own `respond()` opens a new HTTP session per call; this keeps one keep-alive pool for all of
them. Slack allows five posts per `response_url` within 30 minutes; callers plan their messages so.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import aiohttp

log = logging.getLogger(__name__)

ResponseType = Literal["ephemeral", "in_channel"]


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
        try:
            async with self._session.post(
                response_url, json=payload, timeout=self._timeout
            ) as response:
                body = await response.text()
                if response.status != 200:
                    log.warning(
                        "response_url refused a message: %s %s", response.status, body[:200]
                    )
                    return False
                return True
        except (aiohttp.ClientError, TimeoutError) as error:
            log.warning("response_url unreachable: %r", error)
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
