"""Answers through a slash command's or an action's `response_url`, with slack_sdk's webhook client
on the app's shared HTTP session (Bolt's own `respond()` opens a new session per call).

Slack allows five posts per `response_url` within 30 minutes; callers plan their messages so. A 429
is waited out (`Retry-After`) and tried again by slack_sdk's retry handler, a dropped connection
once by its connection-error handler.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Literal

import aiohttp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.webhook.async_client import AsyncWebhookClient

log = logging.getLogger(__name__)

ResponseType = Literal["ephemeral", "in_channel"]

#: the whole of one post, retries included (the webhook client applies no timeout of its own on
#: a session it is given)
POST_TIMEOUT_SECONDS = 10.0


class Responder:
    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session
        # Stateless, so one list serves every client.
        self._retry_handlers = [
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            AsyncConnectionErrorRetryHandler(max_retry_count=1),
        ]

    async def send_all(
        self,
        response_url: str,
        messages: list[dict[str, Any]],
        *,
        response_type: ResponseType = "ephemeral",
    ) -> bool:
        """Post the messages in order; False (and a log line) when Slack did not take one."""
        client = AsyncWebhookClient(
            response_url, session=self._session, retry_handlers=self._retry_handlers
        )
        ok = True
        for message in messages:
            payload = {**message, "response_type": response_type, "replace_original": False}
            try:
                async with asyncio.timeout(POST_TIMEOUT_SECONDS):
                    response = await client.send_dict(payload)
            except (aiohttp.ClientError, TimeoutError) as error:
                log.warning("response_url unreachable: %r", error)
                return False
            if response.status_code != 200:
                log.warning(
                    "response_url refused a message: %s %s",
                    response.status_code,
                    (response.body or "")[:200],
                )
                ok = False
        return ok
