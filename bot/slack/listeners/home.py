"""App Home: published when a person opens the Home tab, and again after each of its buttons
(Refresh the recent list, Unsubscribe, the DM digest switch) has done its work."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.home import HomeSummary
from bot.core.identity import IdentityUnavailable
from bot.core.subscriptions import DigestSettings, Place
from bot.slack.after_ack import AfterAck
from bot.slack.caller import IncomingCaller
from bot.slack.ids import HOME_DM_ACTION_ID, HOME_REFRESH_ACTION_ID, HOME_UNSUBSCRIBE_ACTION_ID
from bot.slack.render.home import parse_unsubscribe_value, render_home

log = logging.getLogger(__name__)


def register(
    app: AsyncApp,
    *,
    home: HomeSummary,
    settings: DigestSettings,
    client: AsyncWebClient,
    after_ack: AfterAck,
) -> None:
    async def publish(caller: IncomingCaller, *, refresh: bool = False) -> None:
        person = await caller.complete()
        try:
            state = await home.state(person.team_id, person.user_id, refresh=refresh)
        except IdentityUnavailable:
            log.warning("App Home of %s not published: identity unavailable", person.user_id)
            return
        try:
            await client.views_publish(
                user_id=person.user_id, view=render_home(state, person.locale)
            )
        except SlackApiError as error:
            log.warning(
                "views.publish for %s failed: %s", person.user_id, error.response.get("error")
            )

    # Each listener returns at once (Bolt acknowledges then); its work is the pool's.
    async def opened(event: dict[str, Any], caller: IncomingCaller) -> None:
        if event.get("tab", "home") != "home":
            return  # the Messages tab is the DM, answered by the message listener
        after_ack.run(lambda: publish(caller))

    async def refresh(ack: AsyncAck, caller: IncomingCaller) -> None:
        await ack()
        after_ack.run(lambda: publish(caller, refresh=True))

    async def unsubscribe(ack: AsyncAck, action: dict[str, Any], caller: IncomingCaller) -> None:
        await ack()
        target = parse_unsubscribe_value(action.get("value") or "")

        async def unsubscribe_and_publish() -> None:
            if target is not None:
                channel, code = target
                try:
                    await settings.unsubscribe(Place(caller.team_id, caller.user_id, channel), code)
                except IdentityUnavailable:
                    log.warning(
                        "unsubscribe from App Home by %s: identity unavailable", caller.user_id
                    )
            await publish(caller)

        after_ack.run(unsubscribe_and_publish)

    async def switch_dm(ack: AsyncAck, action: dict[str, Any], caller: IncomingCaller) -> None:
        await ack()

        async def switch_and_publish() -> None:
            enabled = action.get("value") == "on"
            await settings.set_dm_digests(caller.team_id, caller.user_id, enabled)
            await publish(caller)

        after_ack.run(switch_and_publish)

    app.event("app_home_opened")(opened)
    app.action(HOME_REFRESH_ACTION_ID)(refresh)
    app.action(HOME_UNSUBSCRIBE_ACTION_ID)(unsubscribe)
    app.action(HOME_DM_ACTION_ID)(switch_dm)
