"""The outside systems' clients, built from the settings on one shared HTTP session: Slack's Web
API and Tencent Meeting's REST API. Used by the composition root (`bot.compose`) and by
`python -m bot check`, which calls each API once without building the rest of the app."""

from __future__ import annotations

import aiohttp
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.meeting.client import CallObserver, TencentMeetingClient
from bot.meeting.quota import CallBudget
from bot.meeting.signing import Credentials


def build_http_session() -> aiohttp.ClientSession:
    # One keep-alive pool for Slack, Tencent and response_url alike. No per-host cap: nearly every
    # call goes to one of two hosts (Slack's, for posts and response_url answers, takes most), and
    # the work in flight is bounded already (InFlight, and the Tencent call budget).
    connector = aiohttp.TCPConnector(limit=1_000, limit_per_host=0, keepalive_timeout=30)
    return aiohttp.ClientSession(connector=connector)


def build_slack_client(
    settings: Settings,
    http: aiohttp.ClientSession,
    meter: AsyncRetryHandler | None = None,
    *,
    retry_rate_limits: bool = True,
) -> AsyncWebClient:
    """A Web API client on the shared session. `SlackPoster`'s has `retry_rate_limits=False`: it
    waits out 429s itself, through its per-channel pacing, so its client must not retry them."""
    handlers: list[AsyncRetryHandler] = [
        # first: it sees every answer and never retries (bot.metrics.SlackApiMeter)
        *([meter] if meter else []),
        AsyncConnectionErrorRetryHandler(max_retry_count=2),
        AsyncServerErrorRetryHandler(max_retry_count=2),
    ]
    if retry_rate_limits:
        handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=5))
    return AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=settings.slack_api_url,
        session=http,
        timeout=10,
        retry_handlers=handlers,
    )


def build_tencent_client(
    settings: Settings, http: aiohttp.ClientSession, observer: CallObserver | None = None
) -> TencentMeetingClient:
    credentials = Credentials(
        app_id=settings.tencent_meeting_app_id,
        secret_id=settings.tencent_meeting_secret_id,
        secret_key=settings.tencent_meeting_secret_key.get_secret_value(),
        sdk_id=settings.tencent_meeting_sdk_id,
    )
    return TencentMeetingClient(
        http,
        credentials,
        base_url=settings.tencent_meeting_api_url,
        instance_id=settings.tencent_meeting_instance_id,
        # transit: a call reaches Tencent a network hop after its turn, and hops vary
        budget=CallBudget(settings.tencent_meeting_calls_per_minute, transit=1.0),
        observer=observer,
    )
