"""App Home: published when a person opens the Home tab, and again after each of its buttons
(Refresh the recent list, Unsubscribe, the DM digest switch) has done its work."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.home import HomeSummary
from bot.core.identity import IdentityUnavailable
from bot.core.in_flight import InFlight
from bot.core.subscriptions import DigestSettings, Place
from bot.slack.profiles import SlackProfiles
from bot.slack.render.home import (
    DM_ACTION_ID,
    REFRESH_ACTION_ID,
    UNSUBSCRIBE_ACTION_ID,
    parse_unsubscribe_value,
    render_home,
)

log = logging.getLogger(__name__)

_UNSUBSCRIBE = re.compile(rf"^{UNSUBSCRIBE_ACTION_ID}_\d+$")


def register(
    app: AsyncApp,
    *,
    home: HomeSummary,
    settings: DigestSettings,
    profiles: SlackProfiles,
    client: AsyncWebClient,
    in_flight: InFlight,
) -> None:
    async def publish(team_id: str, user_id: str, *, refresh: bool = False) -> None:
        locale = (await profiles.get(user_id)).locale
        try:
            state = await home.state(team_id, user_id, refresh=refresh)
        except IdentityUnavailable:
            log.warning("App Home of %s not published: identity unavailable", user_id)
            return
        try:
            await client.views_publish(user_id=user_id, view=render_home(state, locale))
        except SlackApiError as error:
            log.warning("views.publish for %s failed: %s", user_id, error.response.get("error"))

    # Each listener returns at once (Bolt acknowledges then); its work is the pool's.
    async def opened(event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("tab", "home") != "home":
            return  # the Messages tab is the DM, answered by the message listener
        in_flight.submit(lambda: publish(body.get("team_id") or "", event["user"]))

    async def refresh(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        in_flight.submit(lambda: publish(_team(body), body["user"]["id"], refresh=True))

    async def unsubscribe(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        user_id, team_id = body["user"]["id"], _team(body)
        target = parse_unsubscribe_value(action.get("value") or "")

        async def unsubscribe_and_publish() -> None:
            if target is not None:
                channel, code = target
                try:
                    await settings.unsubscribe(Place(team_id, user_id, channel), code)
                except IdentityUnavailable:
                    log.warning("unsubscribe from App Home by %s: identity unavailable", user_id)
            await publish(team_id, user_id)

        in_flight.submit(unsubscribe_and_publish)

    async def switch_dm(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        user_id, team_id = body["user"]["id"], _team(body)

        async def switch_and_publish() -> None:
            await settings.set_dm_digests(team_id, user_id, action.get("value") == "on")
            await publish(team_id, user_id)

        in_flight.submit(switch_and_publish)

    app.event("app_home_opened")(opened)
    app.action(REFRESH_ACTION_ID)(refresh)
    app.action(_UNSUBSCRIBE)(unsubscribe)
    app.action(DM_ACTION_ID)(switch_dm)


def _team(body: dict[str, Any]) -> str:
    return str((body.get("team") or {}).get("id") or body.get("user", {}).get("team_id") or "")
