"""The `/replays` slash command: answered inside its acknowledgement when the answer is ready
without I/O (a parse error, help, a look-up answered from memory); otherwise acknowledged at once
and answered via `response_url` by work handed to the `InFlight` pool."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.core.in_flight import InFlight
from bot.core.parsing import Lookup, Recent, Refresh, parse_command
from bot.i18n import t
from bot.slack.answers import Answers, Caller
from bot.slack.observe import note_answered_in_ack, note_outcome
from bot.slack.profiles import SlackProfile, SlackProfiles
from bot.slack.render.messages import lookup_ack_text, render_text
from bot.slack.responder import Responder

log = logging.getLogger(__name__)


def register(
    app: AsyncApp,
    *,
    answers: Answers,
    profiles: SlackProfiles,
    responder: Responder,
    in_flight: InFlight,
) -> None:
    async def handle_replays(ack: AsyncAck, command: dict[str, Any]) -> None:
        user_id = command["user_id"]
        parsed = parse_command(command.get("text") or "")
        profile = profiles.cached(user_id)
        if profile is not None:
            ready = answers.ready(parsed, _caller(command, profile), shareable=True)
            # One message fits in the acknowledgement; Slack shows it as it would a posted one.
            if ready is not None and len(ready.messages) == 1:
                note_answered_in_ack()
                await ack(**ready.messages[0], response_type="ephemeral")
                return
        hint = profile.locale if profile is not None else "en"
        # What costs Tencent calls is turned away when the house is full; the rest goes through.
        if isinstance(parsed, Lookup | Refresh | Recent) and in_flight.full:
            log.warning("turned a command away: %d pieces of work in flight", in_flight.count)
            note_outcome("busy")
            await ack(text=t("overloaded", hint), response_type="ephemeral")
            return
        if isinstance(parsed, Lookup | Refresh):
            await ack(text=lookup_ack_text(parsed.refs, hint), response_type="ephemeral")
        elif isinstance(parsed, Recent):
            await ack(text=t("ack_recent", hint, days=parsed.days), response_type="ephemeral")
        else:
            await ack()

        async def answer() -> None:
            locale = hint
            try:
                profile = await profiles.get(user_id)
                locale = profile.locale
                caller = _caller(command, profile)
                messages = (await answers.answer(parsed, caller, shareable=True)).messages
            except Exception:
                log.exception("/replays failed for %s", user_id)
                messages = [render_text(t("error_generic", locale))]
            await responder.send_all(command["response_url"], messages)

        in_flight.submit(answer)

    app.command("/replays")(handle_replays)


def _caller(command: dict[str, Any], profile: SlackProfile) -> Caller:
    return Caller(
        team_id=command.get("team_id") or "",
        user_id=command["user_id"],
        channel_id=command.get("channel_id") or "",
        locale=profile.locale,
        guest=profile.guest,
    )
