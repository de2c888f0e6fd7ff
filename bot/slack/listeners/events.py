"""@-mentions in channels and threads, and direct messages to the bot.

A mention is answered in its thread (a mention outside a thread starts one). A bare mention inside a
thread looks for a meeting code in the thread's first message. Slack redelivers events it thinks were
missed, and Bolt does not deduplicate them, so each `event_id` is answered once, across all instances,
through the database. Look-up answers are posted in the thread for everyone; everything else (help,
links, refusals) only to the person who asked.
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
from bot.slack.blocks import render_text
from bot.slack.listeners import services_of

log = logging.getLogger(__name__)

_ANY_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")


def register(app: AsyncApp) -> None:
    app.event("app_mention")(handle_mention)
    app.event({"type": "message", "channel_type": "im"})(handle_direct_message)


async def handle_mention(
    event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext
) -> None:
    await _converse(event, body, context, direct=False)


async def handle_direct_message(
    event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext
) -> None:
    if event.get("subtype") or event.get("bot_id") or not event.get("user"):
        return  # edits, joins and our own messages are not questions
    await _converse(event, body, context, direct=True)


async def _converse(
    event: dict[str, Any], body: dict[str, Any], context: AsyncBoltContext, *, direct: bool
) -> None:
    services = services_of(context)
    event_id = body.get("event_id")
    if event_id and not await services.store.first_sighting(f"slack-event:{event_id}"):
        log.info("event %s already answered; ignoring the redelivery", event_id)
        return
    user_id = event["user"]
    channel = event["channel"]
    thread_ts = event.get("thread_ts")
    async with services.in_flight.track():
        locale = services.profiles.locale_hint(user_id)
        public = False
        try:
            locale = (await services.profiles.get(user_id)).locale
            command = p.parse_command(_without_mentions(event.get("text") or ""))
            if isinstance(command, p.Help) and thread_ts and not direct:
                command = await _from_thread_parent(services, channel, thread_ts) or command
            caller = Caller(
                team_id=body.get("team_id") or event.get("team") or "",
                user_id=user_id,
                channel_id=channel,
                locale=locale,
            )
            messages = await answer(command, caller, services, shareable=False)
            public = direct or isinstance(command, p.Lookup | p.Refresh)
        except Exception:
            log.exception("answering a mention from %s failed", user_id)
            messages = [render_text(t("error_generic", locale))]
        reply_ts = thread_ts or (None if direct else event.get("ts"))
        await _reply(services, channel, user_id, reply_ts, messages, public=public)


def _without_mentions(text: str) -> str:
    return _ANY_MENTION.sub(" ", text).strip()


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
