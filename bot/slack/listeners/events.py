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
from bot.i18n import t
from bot.services import Services
from bot.slack.answers import Caller, answer
from bot.slack.listeners import services_of
from bot.slack.render.messages import render_text

log = logging.getLogger(__name__)

_LEADING_MENTION = re.compile(r"^\s*<@[UW][A-Z0-9]+(?:\|[^>]*)?>")


def register(app: AsyncApp) -> None:
    app.event("app_mention")(handle_mention)
    # Not `app.event({"type": "message", "channel_type": "im"})`: Bolt's dict form matches only
    # type and subtype and would silently take every message event for a DM. Checking in the
    # handler (rather than a matcher) also acknowledges the events we skip, so Slack never
    # retries them.
    app.event("message")(handle_message)


async def handle_mention(
    event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext
) -> None:
    await _converse(event, body, context, direct=False)


async def handle_message(
    event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext
) -> None:
    if event.get("channel_type") != "im":
        return  # channel messages reach us as app_mention when they are meant for us
    if event.get("subtype") or event.get("bot_id") or not event.get("user"):
        return  # edits, joins and our own messages are not questions
    await _converse(event, body, context, direct=True)


async def _converse(
    event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext, *, direct: bool
) -> None:
    services = services_of(context)
    user_id = event.get("user")
    if not user_id:
        return  # a bot's message mentioning us: nobody to answer
    channel = event["channel"]
    thread_ts = event.get("thread_ts")
    # Counted from the very start, so that a shutdown waits for this answer too.
    async with services.in_flight.track():
        if not await _first_delivery(services, body.get("event_id")):
            return
        locale = services.profiles.locale_hint(user_id)
        public = False
        try:
            locale = (await services.profiles.get(user_id)).locale
            text = _without_own_mention(event.get("text") or "", context.bot_user_id)
            command = p.parse_command(text)
            if not text and thread_ts and not direct:
                # A bare mention in a thread asks about the meeting the thread is about.
                command = await _from_thread_parent(services, channel, thread_ts) or command
            caller = Caller(
                team_id=body.get("team_id") or event.get("team") or "",
                user_id=user_id,
                channel_id=channel,
                locale=locale,
            )
            reply = await answer(command, caller, services, shareable=False)
            messages = reply.messages
            # Replays found are for the thread; refusals and errors only for the asker.
            public = direct or reply.public
        except Exception:
            log.exception("answering a mention from %s failed", user_id)
            messages = [render_text(t("error_generic", locale))]
        reply_ts = thread_ts or (None if direct else event.get("ts"))
        await _reply(services, channel, user_id, reply_ts, messages, public=public)


async def _first_delivery(services: Services, event_id: str | None) -> bool:
    """False for an event already answered (Slack redelivers when it thinks one was missed)."""
    if not event_id:
        return True
    try:
        return await services.store.first_sighting(f"slack-event:{event_id}")
    except Exception as error:
        # Without the database we cannot tell; a possible duplicate beats a certain silence.
        log.warning("could not check whether event %s was answered: %r", event_id, error)
        return True


def _without_own_mention(text: str, bot_user_id: str | None) -> str:
    """The text after the bot's own mention; other mentions are arguments (`unlink @someone`)."""
    if bot_user_id:
        own = re.compile(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>")
        return own.sub(" ", text).strip()
    return _LEADING_MENTION.sub(" ", text, count=1).strip()


async def _from_thread_parent(services: Services, channel: str, thread_ts: str) -> p.Lookup | None:
    try:
        response = await services.poster.client.conversations_replies(
            channel=channel, ts=thread_ts, limit=1
        )
    except SlackApiError as error:
        log.warning(
            "could not read thread %s in %s: %s", thread_ts, channel, error.response.get("error")
        )
        return None
    messages = response.get("messages") or []
    if not messages:
        return None
    refs, join_links = p.find_meeting_refs(messages[0].get("text") or "")
    if not refs:
        return None
    return p.Lookup(refs=refs[: p.MAX_REFS], join_links=join_links)


async def _reply(
    services: Services,
    channel: str,
    user_id: str,
    thread_ts: str | None,
    messages: list[dict[str, Any]],
    *,
    public: bool,
) -> None:
    client = services.poster.client
    for message in messages:
        try:
            if public:
                await services.poster.post(
                    channel, message, thread_ts=thread_ts, unfurl_links=False
                )
            else:
                await client.chat_postEphemeral(
                    channel=channel, user=user_id, thread_ts=thread_ts, **message
                )
        except SlackApiError as error:
            log.warning("could not answer in %s: %s", channel, error.response.get("error"))
            return
        except Exception as error:  # network trouble: logged, and the listener ends quietly
            log.warning("could not answer in %s: %r", channel, error)
            return
