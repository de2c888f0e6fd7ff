"""Buttons: "Share in channel" reposts a look-up's cards for everyone; "Watch replay" buttons are
links, which Slack still reports as actions, so they are acknowledged and nothing more.

A card is shared once: after the post, the person's card (the message whose button was clicked) is
replaced through the action's `response_url`, so its button is gone. A click that reaches the app
again anyway (a double click before the card was replaced, a stale client, Slack redelivering the
action) finds the card in `RecentShares` and posts nothing new.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from cachetools import TTLCache
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
from bot.slack.render.share import SHARED_MAX_MESSAGES, parse_share_value, render_share_done
from bot.slack.responder import Responder

log = logging.getLogger(__name__)

#: how long a shared card is remembered: longer than a `response_url` lives (30 minutes)
SHARE_MEMORY_SECONDS = 3600.0
SHARE_MEMORY_ENTRIES = 10_000

#: a card whose button was clicked: (channel, message ts, the button's value)
ShareKey = tuple[str, str, str]


class RecentShares:
    """The cards being shared or shared lately. A card is claimed when its click arrives, before
    anything is looked up, so that two clicks racing each other share once; a click that ends
    without a post (refused, failed) releases its claim."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._claimed: TTLCache[ShareKey, bool] = TTLCache(
            maxsize=SHARE_MEMORY_ENTRIES, ttl=SHARE_MEMORY_SECONDS, timer=clock
        )

    def claim(self, key: ShareKey) -> bool:
        """True when `key` was free and is now claimed; False when it is shared or being shared."""
        if key in self._claimed:
            return False
        self._claimed[key] = True
        return True

    def release(self, key: ShareKey) -> None:
        self._claimed.pop(key, None)


def _card_key(body: dict[str, Any], value: str) -> ShareKey | None:
    """Which card was clicked; None when Slack did not say (nothing to remember it by)."""
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    ts = container.get("message_ts")
    if not isinstance(channel, str) or not isinstance(ts, str) or not channel or not ts:
        return None
    return (channel, ts, value)


def register(
    app: AsyncApp, *, access: MeetingAccess, responder: Responder, after_ack: AfterAck
) -> None:
    recent_shares = RecentShares()

    async def handle_share(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], caller: IncomingCaller
    ) -> None:
        await ack()
        response_url = body.get("response_url")
        if not response_url:
            log.warning("share action without a response_url from %s", caller.user_id)
            return
        value = action.get("value") or ""
        key = _card_key(body, value)
        again = key is not None and not recent_shares.claim(key)

        async def share(person: Caller) -> Reply:
            def refusal(key: str) -> Reply:
                return Reply([render_text(t(key, person.locale))])

            if again:
                log.info("%s clicked share on a card already shared", person.user_id)
                return Reply([render_share_done(person.locale)])
            request = parse_share_value(value)
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
            shared = render_shared(
                results,
                locale=person.locale,
                shared_by=person.user_id,
                max_messages=SHARED_MAX_MESSAGES,
            )
            return Reply([*shared, render_share_done(person.locale)], public=True)

        async def send(reply: Reply) -> None:
            if again:
                await responder.send_all(response_url, reply.messages, replace_original=True)
                return
            if not reply.public:
                if key is not None:
                    recent_shares.release(key)
                await responder.send_all(response_url, reply.messages)
                return
            *shared, done = reply.messages
            if not await responder.send_all(response_url, shared, response_type="in_channel"):
                if key is not None:
                    recent_shares.release(key)
                return
            await responder.send_all(response_url, [done], replace_original=True)

        after_ack.answer(caller, share, send)

    async def acknowledge_link(ack: AsyncAck) -> None:
        await ack()

    app.action(SHARE_ACTION_ID)(handle_share)
    app.action(WATCH_ACTION_ID)(acknowledge_link)
