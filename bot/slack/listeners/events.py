"""@-mentions in channels and threads, and direct messages to the bot.

A mention is answered in its thread (a mention outside a thread starts one). A bare mention inside a
thread looks for a meeting code in the thread's first message. Slack redelivers events it thinks were
missed, and Bolt does not deduplicate them, so each `event_id` is answered once, across all instances,
through the database. Look-ups that found a meeting are posted in the thread for everyone; everything
else (help, links, refusals, "not linked", Tencent errors) only to the person who asked. Only the
bot's own mention is cut from the text: other mentions are arguments (`@replays unlink @someone`).
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.errors import SlackApiError

from bot.core import parsing as p
from bot.core.in_flight import InFlight
from bot.core.seen import SeenSlackEvents
from bot.i18n import t
from bot.slack.answers import Answers, Caller
from bot.slack.poster import SlackPoster
from bot.slack.profiles import SlackProfiles
from bot.slack.render.messages import render_text

log = logging.getLogger(__name__)

_LEADING_MENTION = re.compile(r"^\s*<@[UW][A-Z0-9]+(?:\|[^>]*)?>")


def register(
    app: AsyncApp,
    *,
    answers: Answers,
    profiles: SlackProfiles,
    poster: SlackPoster,
    seen: SeenSlackEvents,
    in_flight: InFlight,
) -> None:
    conversation = Conversation(answers, profiles, poster, seen, in_flight)
    app.event("app_mention")(conversation.handle_mention)
    # Not `app.event({"type": "message", "channel_type": "im"})`: Bolt's dict form matches only
    # type and subtype and would silently take every message event for a DM. Checking in the
    # handler (rather than a matcher) also acknowledges the events we skip, so Slack never
    # retries them.
    app.event("message")(conversation.handle_message)


class Conversation:
    def __init__(
        self,
        answers: Answers,
        profiles: SlackProfiles,
        poster: SlackPoster,
        seen: SeenSlackEvents,
        in_flight: InFlight,
    ) -> None:
        self._answers = answers
        self._profiles = profiles
        self._poster = poster
        self._seen = seen
        self._in_flight = in_flight

    async def handle_mention(
        self, event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        await self._converse(event, body, context.bot_user_id, direct=False)

    async def handle_message(
        self, event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        if event.get("channel_type") != "im":
            return  # channel messages reach us as app_mention when they are meant for us
        if event.get("subtype") or event.get("bot_id") or not event.get("user"):
            return  # edits, joins and our own messages are not questions
        await self._converse(event, body, context.bot_user_id, direct=True)

    async def _converse(
        self, event: dict[str, Any], body: dict[str, Any], bot_user_id: str | None, *, direct: bool
    ) -> None:
        user_id = event.get("user")
        if not user_id:
            return  # a bot's message mentioning us: nobody to answer
        # Bolt acknowledges the event when this listener returns: the answer is the pool's work.
        self._in_flight.submit(lambda: self._answer(event, body, user_id, bot_user_id, direct))

    async def _answer(
        self,
        event: dict[str, Any],
        body: dict[str, Any],
        user_id: str,
        bot_user_id: str | None,
        direct: bool,
    ) -> None:
        channel = event["channel"]
        thread_ts = event.get("thread_ts")
        if not await self._seen.first_delivery(body.get("event_id")):
            return
        locale = self._profiles.locale_hint(user_id)
        public = False
        try:
            profile = await self._profiles.get(user_id)
            locale = profile.locale
            text = _without_own_mention(event.get("text") or "", bot_user_id)
            command = p.parse_command(text)
            if not text and thread_ts and not direct:
                # A bare mention in a thread asks about the meeting the thread is about.
                command = await self._from_thread_parent(channel, thread_ts) or command
            caller = Caller(
                team_id=body.get("team_id") or event.get("team") or "",
                user_id=user_id,
                channel_id=channel,
                locale=locale,
                guest=profile.guest,
            )
            reply = await self._answers.answer(command, caller, shareable=False)
            messages = reply.messages
            # Replays found are for the thread; refusals and errors only for the asker.
            public = direct or reply.public
        except Exception:
            log.exception("answering a mention from %s failed", user_id)
            messages = [render_text(t("error_generic", locale))]
        reply_ts = thread_ts or (None if direct else event.get("ts"))
        await self._reply(channel, user_id, reply_ts, messages, public=public)

    async def _from_thread_parent(self, channel: str, thread_ts: str) -> p.Lookup | None:
        try:
            response = await self._poster.client.conversations_replies(
                channel=channel, ts=thread_ts, limit=1
            )
        except SlackApiError as error:
            log.warning(
                "could not read thread %s in %s: %s",
                thread_ts,
                channel,
                error.response.get("error"),
            )
            return None
        messages = response.get("messages") or []
        if not messages:
            return None
        refs = p.find_meeting_refs(messages[0].get("text") or "")
        if not refs:
            return None
        return p.Lookup(refs=refs[: p.MAX_REFS])

    async def _reply(
        self,
        channel: str,
        user_id: str,
        thread_ts: str | None,
        messages: list[dict[str, Any]],
        *,
        public: bool,
    ) -> None:
        for message in messages:
            try:
                if public:
                    await self._poster.post(
                        channel, message, thread_ts=thread_ts, unfurl_links=False
                    )
                else:
                    await self._poster.client.chat_postEphemeral(
                        channel=channel, user=user_id, thread_ts=thread_ts, **message
                    )
            except SlackApiError as error:
                log.warning("could not answer in %s: %s", channel, error.response.get("error"))
                return
            except Exception as error:  # network trouble: logged, and the listener ends quietly
                log.warning("could not answer in %s: %r", channel, error)
                return


def _without_own_mention(text: str, bot_user_id: str | None) -> str:
    """The text after the bot's own mention; other mentions are arguments (`unlink @someone`)."""
    if bot_user_id:
        own = re.compile(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>")
        return own.sub(" ", text).strip()
    return _LEADING_MENTION.sub(" ", text, count=1).strip()
