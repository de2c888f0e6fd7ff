"""Delivers digests to Slack: renders the meeting's cards in the reader's language and posts them."""

from __future__ import annotations

import logging

import aiohttp
from slack_sdk.errors import SlackApiError

from bot.core.digest_rules import DeliveryDeferred, DeliveryRefused, PartPosted, Recipient
from bot.meeting.models import MeetingReplays
from bot.slack.poster import SlackPoster
from bot.slack.profiles import SlackProfiles
from bot.slack.render.messages import render_digest

log = logging.getLogger(__name__)

#: Slack errors that no retry will fix for this recipient.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "user_not_found",
        "user_disabled",
        "cannot_dm_bot",
        "restricted_action",
        "missing_scope",
        "invalid_blocks",
        "msg_too_long",
    }
)


class SlackDigestSink:
    def __init__(self, poster: SlackPoster, profiles: SlackProfiles) -> None:
        self._poster = poster
        self._profiles = profiles

    async def deliver(
        self,
        recipient: Recipient,
        meeting: MeetingReplays,
        *,
        posted: frozenset[int],
        record: PartPosted,
    ) -> None:
        locale = (await self._profiles.get(recipient.reader)).locale if recipient.reader else "en"
        messages = render_digest(meeting, locale=locale)
        try:
            channel = (
                await self._poster.dm_channel(recipient.id)
                if recipient.kind == "dm"
                else recipient.id
            )
            for part, message in enumerate(messages):
                if part in posted:
                    continue
                await self._poster.post(channel, message, unfurl_links=False)
                await record(part)
        except SlackApiError as error:
            code = str(error.response.get("error"))
            if code in PERMANENT_ERRORS:
                raise DeliveryRefused(code) from None
            raise DeliveryDeferred(code) from None
        except (aiohttp.ClientError, TimeoutError) as error:
            raise DeliveryDeferred(repr(error)) from None
