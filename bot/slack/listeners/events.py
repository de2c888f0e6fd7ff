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

from bot.core.parsing import MAX_REFS, Lookup, find_meeting_refs, parse_command
from bot.core.seen import SeenSlackEvents
from bot.slack.after_ack import AfterAck
from bot.slack.answers import Answers, Reply
from bot.slack.caller import Caller, IncomingCaller
from bot.slack.poster import SlackPoster

log = logging.getLogger(__name__)

_LEADING_MENTION = re.compile(r"^\s*<@[UW][A-Z0-9]+(?:\|[^>]*)?>")


def register(
    app: AsyncApp,
    *,
    answers: Answers,
    poster: SlackPoster,
    seen: SeenSlackEvents,
    after_ack: AfterAck,
) -> None:
    conversation = Conversation(answers, poster, seen, after_ack)
    app.event("app_mention")(conversation.handle_mention)
    # Not `app.event({"type": "message", "channel_type": "im"})`: Bolt's dict form matches only
    # type and subtype and would silently take every message event for a DM. Checking in the
    # handler (rather than a matcher) also acknowledges the events we skip, so Slack never
    # retries them.
    app.event("message")(conversation.handle_message)


class Conversation:
    def __init__(
        self, answers: Answers, poster: SlackPoster, seen: SeenSlackEvents, after_ack: AfterAck
    ) -> None:
        self._answers = answers
        self._poster = poster
        self._seen = seen
        self._after_ack = after_ack

    async def handle_mention(
        self,
        event: dict[str, Any],
        body: dict[str, Any],
        caller: IncomingCaller,
        context: AsyncBoltContext,
    ) -> None:
        self._converse(event, body, caller, context.bot_user_id, direct=False)

    async def handle_message(
        self,
        event: dict[str, Any],
        body: dict[str, Any],
        caller: IncomingCaller,
        context: AsyncBoltContext,
    ) -> None:
        if event.get("channel_type") != "im":
            return  # channel messages reach us as app_mention when they are meant for us
        if event.get("subtype") or event.get("bot_id") or not event.get("user"):
            return  # edits, joins and our own messages are not questions
        self._converse(event, body, caller, context.bot_user_id, direct=True)

    def _converse(
        self,
        event: dict[str, Any],
        body: dict[str, Any],
        caller: IncomingCaller,
        bot_user_id: str | None,
        *,
        direct: bool,
    ) -> None:
        if not caller.user_id:
            return  # a bot's message mentioning us: nobody to answer
        channel = event["channel"]
        thread_ts = event.get("thread_ts")

        async def answer(person: Caller) -> Reply:
            if not await self._seen.first_delivery(body.get("event_id")):
                return Reply([])
            text = _without_own_mention(event.get("text") or "", bot_user_id)
            command = parse_command(text)
            if not text and thread_ts and not direct:
                # A bare mention in a thread asks about the meeting the thread is about.
                command = await self._from_thread_parent(channel, thread_ts) or command
            reply = await self._answers.answer(command, person, shareable=False, direct=direct)
            # Replays found are for the thread; refusals and errors only for the asker.
            return Reply(reply.messages, public=direct or reply.public)

        async def send(reply: Reply) -> None:
            reply_ts = thread_ts or (None if direct else event.get("ts"))
            await self._reply(
                channel, caller.user_id, reply_ts, reply.messages, public=reply.public
            )

        # Bolt acknowledges the event when this listener returns: the answer is the pool's work.
        self._after_ack.answer(caller, answer, send)

    async def _from_thread_parent(self, channel: str, thread_ts: str) -> Lookup | None:
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
        refs = find_meeting_refs(messages[0].get("text") or "")
        if not refs:
            return None
        return Lookup(refs=refs[:MAX_REFS])

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
