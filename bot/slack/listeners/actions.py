"""Buttons: "Share in channel" reposts a look-up's cards for everyone; "Watch replay" buttons are
links, which Slack still reports as actions, so they are acknowledged and nothing more."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.core.in_flight import InFlight
from bot.core.outcomes import LookupProblem
from bot.core.visibility import Asker, MeetingAccess
from bot.i18n import t
from bot.slack.profiles import SlackProfiles
from bot.slack.render.messages import (
    SHARE_ACTION_ID,
    WATCH_ACTION_ID,
    render_shared,
    render_text,
)
from bot.slack.render.share import parse_share_value
from bot.slack.responder import Responder

log = logging.getLogger(__name__)


def register(
    app: AsyncApp,
    *,
    access: MeetingAccess,
    profiles: SlackProfiles,
    responder: Responder,
    in_flight: InFlight,
) -> None:
    async def handle_share(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        user_id = body["user"]["id"]
        response_url = body.get("response_url")
        if not response_url:
            log.warning("share action without a response_url from %s", user_id)
            return

        async def share() -> None:
            locale = profiles.locale_hint(user_id)

            async def say(key: str) -> None:
                await responder.send_all(response_url, [render_text(t(key, locale))])

            request = parse_share_value(action.get("value") or "")
            if request is None:
                await say("share_expired")
                return
            if request.requester != user_id:
                log.info("%s tried to share a card looked up by %s", user_id, request.requester)
                await say("share_refused_not_requester")
                return
            team_id = (body.get("team") or {}).get("id") or ""
            try:
                guest = (await profiles.get(user_id)).guest
                results = await access.lookup_many(request.refs, Asker(team_id, user_id, guest))
                if all(result.problem is LookupProblem.NOT_LINKED for result in results):
                    await say("share_expired")
                    return
            except Exception:
                # The button was acknowledged: without this line the click would seem ignored.
                log.exception("sharing for %s failed", user_id)
                await say("error_generic")
                return
            messages = render_shared(results, locale=locale, shared_by=user_id)
            await responder.send_all(response_url, messages, response_type="in_channel")

        in_flight.submit(share)

    async def acknowledge_link(ack: AsyncAck) -> None:
        await ack()

    app.action(SHARE_ACTION_ID)(handle_share)
    app.action(WATCH_ACTION_ID)(acknowledge_link)
