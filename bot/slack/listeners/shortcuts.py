"""The message shortcut "Find replays" (`find_replays`): the replays of every meeting a message
names (an invitation, a link, several codes), answered to the person who used it only, through
the shortcut's `response_url`."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.core import parsing as p
from bot.core.in_flight import InFlight
from bot.i18n import t
from bot.slack.answers import Answers, Caller
from bot.slack.profiles import SlackProfiles
from bot.slack.render.messages import render_invalid, render_text
from bot.slack.responder import Responder

log = logging.getLogger(__name__)

CALLBACK_ID = "find_replays"


def message_text(message: dict[str, Any]) -> str:
    """What a message says: its text and its attachments' (a shared or forwarded invitation)."""
    parts = [str(message.get("text") or "")]
    for attachment in message.get("attachments") or []:
        if isinstance(attachment, dict):
            parts += [
                str(attachment.get(k) or "") for k in ("pretext", "title", "text", "fallback")
            ]
    return "\n".join(part for part in parts if part)


def register(
    app: AsyncApp,
    *,
    answers: Answers,
    profiles: SlackProfiles,
    responder: Responder,
    in_flight: InFlight,
) -> None:
    async def find_replays(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        user_id = body["user"]["id"]
        response_url = body.get("response_url")
        if not response_url:
            log.warning("find_replays shortcut without a response_url from %s", user_id)
            return

        async def answer() -> None:
            locale = profiles.locale_hint(user_id)
            try:
                profile = await profiles.get(user_id)
                locale = profile.locale
                caller = Caller(
                    team_id=(body.get("team") or {}).get("id") or "",
                    user_id=user_id,
                    channel_id=(body.get("channel") or {}).get("id") or "",
                    locale=locale,
                    guest=profile.guest,
                )
                refs = p.find_meeting_refs(message_text(body.get("message") or {}))
                if not refs:
                    messages = [render_text(t("shortcut_no_meeting", locale))]
                elif len(refs) > p.MAX_REFS:
                    invalid = p.Invalid(p.Problem.TOO_MANY, str(len(refs)))
                    messages = [render_invalid(invalid, locale=locale)]
                else:
                    reply = await answers.answer(p.Lookup(refs), caller, shareable=True)
                    messages = reply.messages
            except Exception:
                log.exception("find_replays failed for %s", user_id)
                messages = [render_text(t("error_generic", locale))]
            await responder.send_all(response_url, messages)

        in_flight.submit(answer)

    app.shortcut(CALLBACK_ID)(find_replays)
