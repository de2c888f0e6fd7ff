"""The `/replays` slash command: answered inside its acknowledgement when the answer is ready
without I/O (a parse error, help, a look-up answered from memory); otherwise acknowledged at once
and answered via `response_url` by the work after the ack."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.core.parsing import Lookup, Recent, Refresh, parse_command
from bot.i18n import t
from bot.slack.after_ack import AfterAck
from bot.slack.answers import Answers, Reply
from bot.slack.caller import Caller, IncomingCaller
from bot.slack.ids import REPLAYS_COMMAND
from bot.slack.observe import note_answered_in_ack, note_outcome
from bot.slack.render.messages import lookup_ack_text
from bot.slack.responder import Responder

log = logging.getLogger(__name__)


def register(app: AsyncApp, *, answers: Answers, responder: Responder, after_ack: AfterAck) -> None:
    async def handle_replays(
        ack: AsyncAck, command: dict[str, Any], caller: IncomingCaller
    ) -> None:
        parsed = parse_command(command.get("text") or "")
        known = caller.known()
        if known is not None:
            ready = answers.ready(parsed, known, shareable=True)
            # One message fits in the acknowledgement; Slack shows it as it would a posted one.
            if ready is not None and len(ready.messages) == 1:
                note_answered_in_ack()
                await ack(**ready.messages[0], response_type="ephemeral")
                return
        locale = caller.locale
        # What costs Tencent calls is turned away when the house is full; the rest goes through.
        if isinstance(parsed, Lookup | Refresh | Recent) and after_ack.full:
            log.warning("turned a command away: %d pieces of work in flight", after_ack.count)
            note_outcome("busy")
            await ack(text=t("overloaded", locale), response_type="ephemeral")
            return
        if isinstance(parsed, Lookup | Refresh):
            await ack(text=lookup_ack_text(parsed.refs, locale), response_type="ephemeral")
        elif isinstance(parsed, Recent):
            await ack(text=t("ack_recent", locale, days=parsed.days), response_type="ephemeral")
        else:
            await ack()

        async def answer(person: Caller) -> Reply:
            return await answers.answer(parsed, person, shareable=True)

        async def send(reply: Reply) -> None:
            await responder.send_all(command["response_url"], reply.messages)

        after_ack.answer(caller, answer, send)

    app.command(REPLAYS_COMMAND)(handle_replays)
