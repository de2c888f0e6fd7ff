"""The Bolt app: one `AsyncApp`, a middleware that hands the listeners the running services, and the
listeners themselves (one module per kind, each with a `register(app)`)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.services import Services
from bot.slack.listeners import actions, commands, events

log = logging.getLogger(__name__)


def build_bolt_app(services: Services, client: AsyncWebClient) -> AsyncApp:
    settings = services.settings
    secret = settings.slack_signing_secret
    app = AsyncApp(
        client=client,
        token=settings.slack_bot_token.get_secret_value(),
        # Socket Mode requests arrive on an authenticated socket and carry no signature.
        signing_secret=secret.get_secret_value() if secret else "",
        request_verification_enabled=not settings.socket_mode,
        logger=logging.getLogger("bot.slack.bolt"),
    )

    async def attach_services(context: AsyncBoltContext, next: Callable[[], Awaitable[Any]]) -> Any:
        context["services"] = services
        return await next()

    app.use(attach_services)
    commands.register(app)
    events.register(app)
    actions.register(app)

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        log.error("unhandled error in a Slack listener (%s): %r", body.get("type"), error)

    return app
