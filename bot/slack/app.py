"""The Bolt app: one `AsyncApp` and its listeners, each kind registered with exactly what it needs."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.core.home import HomeSummary
from bot.core.in_flight import InFlight
from bot.core.seen import SeenSlackEvents
from bot.core.subscriptions import DigestSettings
from bot.core.visibility import MeetingAccess
from bot.metrics import Metrics
from bot.slack.after_ack import AfterAck
from bot.slack.answers import Answers
from bot.slack.caller import resolve_caller
from bot.slack.listeners import actions, commands, events, home, shortcuts
from bot.slack.observe import ObservedApp
from bot.slack.poster import SlackPoster
from bot.slack.profiles import SlackProfiles
from bot.slack.responder import Responder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SlackParts:
    """What the listeners are made of (built by the composition root)."""

    answers: Answers
    access: MeetingAccess
    profiles: SlackProfiles
    poster: SlackPoster
    responder: Responder
    seen: SeenSlackEvents
    in_flight: InFlight
    home: HomeSummary
    settings: DigestSettings


def build_bolt_app(
    settings: Settings, client: AsyncWebClient, parts: SlackParts, metrics: Metrics
) -> AsyncApp:
    secret = settings.slack_signing_secret
    app = ObservedApp(
        metrics=metrics,
        client=client,
        token=settings.slack_bot_token.get_secret_value(),
        signing_secret=secret.get_secret_value() if secret else "",
        # Verified before Bolt sees them: HTTP requests by `bot.http_guard`, on the raw bytes
        # (the only way into this app over HTTP is `bot.web`, through it), and Socket Mode ones
        # arrive on an authenticated socket with no signature. A second HMAC here would only cost.
        request_verification_enabled=False,
        # Listeners return once they have acknowledged and handed their work to `InFlight`: the
        # acknowledgement then goes out at once, rather than when Bolt's 10 ms poll notices it.
        process_before_response=True,
        logger=logging.getLogger("bot.slack.bolt"),
    )
    install_listeners(app, parts, metrics)
    return app


def install_listeners(app: AsyncApp, parts: SlackParts, metrics: Metrics) -> None:
    """The caller middleware, then every listener, each with exactly what it uses."""
    app.use(resolve_caller(parts.profiles))
    after_ack = AfterAck(parts.in_flight, metrics)
    commands.register(app, answers=parts.answers, responder=parts.responder, after_ack=after_ack)
    events.register(
        app, answers=parts.answers, poster=parts.poster, seen=parts.seen, after_ack=after_ack
    )
    actions.register(app, access=parts.access, responder=parts.responder, after_ack=after_ack)
    home.register(
        app, home=parts.home, settings=parts.settings, client=app.client, after_ack=after_ack
    )
    shortcuts.register(app, answers=parts.answers, responder=parts.responder, after_ack=after_ack)

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        log.error("unhandled error in a Slack listener (%s): %r", body.get("type"), error)
