"""The one aiohttp server: Slack's events (HTTP mode), Tencent's webhook, and `/healthz`."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypedDict

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp

from bot import http_guard
from bot.config import Settings
from bot.core import correlation
from bot.core.digest_rules import DigestRules
from bot.core.in_flight import InFlight
from bot.core.storage import StorageRejected, StorageUnavailable
from bot.core.visibility import MeetingAccess
from bot.meeting import webhook

log = logging.getLogger(__name__)

SETTINGS = web.AppKey("settings", Settings)
BOLT = web.AppKey("bolt", AsyncApp)
DIGESTS = web.AppKey("digests", DigestRules)
IN_FLIGHT = web.AppKey("in_flight", InFlight)
MEETING_ACCESS = web.AppKey("meeting_access", MeetingAccess)
DATABASE_PING: web.AppKey[Callable[[], Awaitable[bool]]] = web.AppKey("database_ping")

#: Tencent posts small JSON envelopes; anything bigger is not from Tencent.
MAX_WEBHOOK_BODY = 256 * 1024


def build_web_app(
    settings: Settings,
    bolt: AsyncApp,
    *,
    digests: DigestRules,
    in_flight: InFlight,
    database_ping: Callable[[], Awaitable[bool]],
    access: MeetingAccess,
) -> web.Application:
    app = web.Application(client_max_size=MAX_WEBHOOK_BODY)
    http_guard.install(app)
    app[SETTINGS] = settings
    app[BOLT] = bolt
    app[DIGESTS] = digests
    app[IN_FLIGHT] = in_flight
    app[DATABASE_PING] = database_ping
    app[MEETING_ACCESS] = access
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/tencent/webhook", tencent_url_check)
    app.router.add_post("/tencent/webhook", tencent_event)
    if not settings.socket_mode:
        app.router.add_post("/slack/events", slack_events)
    return app


async def slack_events(request: web.Request) -> web.Response:
    secret = request.app[SETTINGS].slack_signing_secret
    bolt_request = await http_guard.bolt_request(request, secret)
    bolt_response = await request.app[BOLT].async_dispatch(bolt_request)
    return await to_aiohttp_response(bolt_response)


async def healthz(request: web.Request) -> web.Response:
    database_ok = await request.app[DATABASE_PING]()
    body = {
        "status": "ok" if database_ok else "unavailable",
        "database": "ok" if database_ok else "unreachable",
        "mode": "socket" if request.app[SETTINGS].socket_mode else "http",
        "in_flight": request.app[IN_FLIGHT].count,
    }
    return web.json_response(body, status=200 if database_ok else 503)


class _Signed(TypedDict):
    """What a Tencent webhook request is checked with: our secrets and its signature headers, as
    the keyword arguments of `webhook.answer_url_check` and `webhook.read_delivery`."""

    token: str
    aes_key: str | None
    timestamp: str
    nonce: str
    signature: str


def _signed(request: web.Request) -> _Signed:
    """The secrets and headers to check `request` with; 404 while no webhook Token is set."""
    settings = request.app[SETTINGS]
    if settings.tencent_webhook_token is None:
        raise web.HTTPNotFound()
    aes = settings.tencent_webhook_aes_key
    headers = request.headers
    return _Signed(
        token=settings.tencent_webhook_token.get_secret_value(),
        aes_key=aes.get_secret_value() if aes else None,
        timestamp=headers.get("timestamp", ""),
        nonce=headers.get("nonce", ""),
        signature=headers.get("signature", ""),
    )


def _refused(what: str, error: webhook.WebhookError) -> web.Response:
    log.warning("Tencent webhook %s refused: %s", what, error)
    return web.Response(status=error.http_status, text=str(error))


async def tencent_url_check(request: web.Request) -> web.Response:
    signed = _signed(request)
    try:
        plaintext = webhook.answer_url_check(
            **signed,
            # the raw query: aiohttp's parsed one turns the "+" of base64 into a space
            check_str=webhook.check_str_from_query(request.rel_url.raw_query_string),
        )
    except webhook.WebhookError as error:
        return _refused("URL check", error)
    return web.Response(text=plaintext, content_type="text/plain")


async def tencent_event(request: web.Request) -> web.Response:
    signed = _signed(request)
    try:
        event = webhook.read_delivery(**signed, body=await request.read())
    except webhook.WebhookError as error:
        return _refused("event", error)
    # The job is recorded before we answer: once Tencent hears 200 the digest must survive a crash.
    try:
        for meeting_id in webhook.meetings_went_live(event):
            await request.app[DIGESTS].went_live(meeting_id)
        for ended in webhook.meetings_ended(event):
            with correlation.scope(meeting=ended.meeting_id):
                await request.app[DIGESTS].meeting_ended(ended)
                await request.app[MEETING_ACCESS].meeting_ended(ended)
        for change in webhook.recording_changes(event):
            with correlation.scope(meeting=change.meeting.meeting_id):
                await request.app[DIGESTS].recording_changed(change)
                await request.app[MEETING_ACCESS].meeting_ended(change.meeting)
    except (StorageUnavailable, StorageRejected) as error:
        # Not 200: Tencent delivers again, and the job is recorded once the database is back.
        log.error("could not record digest job, asking Tencent to redeliver: %r", error)
        return web.Response(status=503, text="temporarily unavailable")
    log.info("Tencent webhook event %s accepted (trace %s)", event.event, event.trace_id)
    return web.Response(text=webhook.SUCCESS_BODY, content_type="text/plain")
