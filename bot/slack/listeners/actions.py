"""Buttons: "Share in channel" reposts a look-up's cards for everyone; "Watch replay" buttons are
links, which Slack still reports as actions, so they are acknowledged and nothing more."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.core import audit
from bot.core.outcomes import LookupProblem
from bot.core.visibility import MeetingAccess
from bot.i18n import t
from bot.slack.after_ack import AfterAck
from bot.slack.answers import Reply
from bot.slack.caller import Caller, IncomingCaller
from bot.slack.ids import SHARE_ACTION_ID, WATCH_ACTION_ID
from bot.slack.render.messages import render_shared, render_text
from bot.slack.render.share import parse_share_value
from bot.slack.responder import Responder, ResponseType

log = logging.getLogger(__name__)


def register(
    app: AsyncApp, *, access: MeetingAccess, responder: Responder, after_ack: AfterAck
) -> None:
    async def handle_share(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], caller: IncomingCaller
    ) -> None:
        await ack()
        response_url = body.get("response_url")
        if not response_url:
            log.warning("share action without a response_url from %s", caller.user_id)
            return

        async def share(person: Caller) -> Reply:
            def refusal(key: str) -> Reply:
                return Reply([render_text(t(key, person.locale))])

            request = parse_share_value(action.get("value") or "")
            if request is None:
                return refusal("share_expired")
            if request.requester != person.user_id:
                log.info(
                    "%s tried to share a card looked up by %s", person.user_id, request.requester
                )
                return refusal("share_refused_not_requester")
            results = await access.lookup_many(
                request.refs, person.asker, shown_as=audit.Action.SHARE
            )
            if all(result.problem is LookupProblem.NOT_LINKED for result in results):
                return refusal("share_expired")
            shared = render_shared(results, locale=person.locale, shared_by=person.user_id)
            return Reply(shared, public=True)

        async def send(reply: Reply) -> None:
            visible_to: ResponseType = "in_channel" if reply.public else "ephemeral"
            await responder.send_all(response_url, reply.messages, response_type=visible_to)

        after_ack.answer(caller, share, send)

    async def acknowledge_link(ack: AsyncAck) -> None:
        await ack()

    app.action(SHARE_ACTION_ID)(handle_share)
    app.action(WATCH_ACTION_ID)(acknowledge_link)
