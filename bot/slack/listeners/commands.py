"""The `/replays` slash command: acknowledge at once, do the work after, answer via `response_url`."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext

from bot.core.parsing import Lookup, Refresh, parse_command
from bot.i18n import t
from bot.slack.answers import Caller, ack_text, answer
from bot.slack.listeners import services_of
from bot.slack.render.messages import render_text

log = logging.getLogger(__name__)


def register(app: AsyncApp) -> None:
    app.command("/replays")(handle_replays)


async def handle_replays(ack: AsyncAck, command: dict[str, Any], context: AsyncBoltContext) -> None:
    services = services_of(context)
    user_id = command["user_id"]
    parsed = parse_command(command.get("text") or "")
    if services.in_flight.full and isinstance(parsed, Lookup | Refresh):
        log.warning("turned a look-up away: %d pieces of work in flight", services.in_flight.count)
        await ack(
            text=t("overloaded", services.profiles.locale_hint(user_id)),
            response_type="ephemeral",
        )
        return
    text = ack_text(parsed, services.profiles.locale_hint(user_id))
    if text is None:
        await ack()
    else:
        await ack(text=text, response_type="ephemeral")

    async with services.in_flight.track():
        locale = services.profiles.locale_hint(user_id)
        try:
            locale = (await services.profiles.get(user_id)).locale
            caller = Caller(
                team_id=command.get("team_id") or "",
                user_id=user_id,
                channel_id=command.get("channel_id") or "",
                locale=locale,
            )
            messages = (await answer(parsed, caller, services, shareable=True)).messages
        except Exception:
            log.exception("/replays failed for %s", user_id)
            messages = [render_text(t("error_generic", locale))]
        await services.responder.send_all(command["response_url"], messages)
