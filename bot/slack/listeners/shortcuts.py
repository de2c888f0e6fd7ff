"""The message shortcut "Find replays" (`find_replays`): the replays of every meeting a message
names (an invitation, a link, several codes), answered to the person who used it only, through
the shortcut's `response_url`."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.core.parsing import MAX_REFS, Invalid, Lookup, Problem, find_meeting_refs
from bot.i18n import t
from bot.slack.after_ack import AfterAck
from bot.slack.answers import Answers, Reply
from bot.slack.caller import Caller, IncomingCaller
from bot.slack.ids import FIND_REPLAYS_CALLBACK_ID
from bot.slack.render.messages import render_invalid, render_text
from bot.slack.responder import Responder

log = logging.getLogger(__name__)


def message_text(message: dict[str, Any]) -> str:
    """What a message says: its text and its attachments' (a shared or forwarded invitation)."""
    parts = [str(message.get("text") or "")]
    for attachment in message.get("attachments") or []:
        if isinstance(attachment, dict):
            parts += [
                str(attachment.get(k) or "") for k in ("pretext", "title", "text", "fallback")
            ]
    return "\n".join(part for part in parts if part)


def register(app: AsyncApp, *, answers: Answers, responder: Responder, after_ack: AfterAck) -> None:
    async def find_replays(ack: AsyncAck, body: dict[str, Any], caller: IncomingCaller) -> None:
        await ack()
        response_url = body.get("response_url")
        if not response_url:
            log.warning("find_replays shortcut without a response_url from %s", caller.user_id)
            return

        async def answer(person: Caller) -> Reply:
            refs = find_meeting_refs(message_text(body.get("message") or {}))
            if not refs:
                return Reply([render_text(t("shortcut_no_meeting", person.locale))])
            if len(refs) > MAX_REFS:
                invalid = Invalid(Problem.TOO_MANY, str(len(refs)))
                return Reply([render_invalid(invalid, locale=person.locale)])
            return await answers.answer(Lookup(refs), person, shareable=True)

        async def send(reply: Reply) -> None:
            await responder.send_all(response_url, reply.messages)

        after_ack.answer(caller, answer, send)

    app.shortcut(FIND_REPLAYS_CALLBACK_ID)(find_replays)
