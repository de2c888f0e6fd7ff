"""Bolt listeners, one module per kind (commands, events, actions), each exposing `register(app)`.

The running services reach listeners through the request context, put there by the middleware in
`bot.slack.app`.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncBoltContext

from bot.services import Services


def services_of(context: AsyncBoltContext) -> Services:
    services: Services = context["services"]
    return services
