"""Delivers digests to Slack: renders the meeting's cards in the reader's language (a recording's
password only in the creator's DM, never in a channel) and posts them, each message carrying
metadata (`tencent_meeting_replays`: the meeting, the delivery key, the part) by which a later try
finds what an earlier one posted; updates a place's digest when more replays or a cloud recording
appear, with one thread reply (carrying metadata too, so that a rerun after a crash finds it in the
thread instead of replying again); rewrites it when the recording is removed; and sends the
give-up note."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError

from bot.core.digest_sink import (
    METADATA_EVENT_TYPE,
    DeliveryCutShort,
    DeliveryDeferred,
    DeliveryRefused,
    DigestAbout,
    PartPosted,
    Recipient,
    ReplyPosted,
)
from bot.core.meetings import Meeting
from bot.core.storage import PostedPart
from bot.i18n import Locale
from bot.slack.poster import PostingStopped, SlackPoster
from bot.slack.profiles import SlackProfiles
from bot.slack.render.block_kit import Message, section
from bot.slack.render.digest_facts import gave_up_note, recording_removed_line, update_reply
from bot.slack.render.limits import MAX_BLOCKS, MAX_FALLBACK_TEXT
from bot.slack.render.messages import render_digest
from bot.slack.render.readers import CHANNEL, CREATOR_PRIVATELY, Reader

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
#: how far before the job's first try its history search reaches, for clocks that disagree
HISTORY_MARGIN_SECONDS = 300.0


def place_key(about: DigestAbout, recipient: Recipient) -> str:
    """The delivery key of one place's digest messages: which job and which place."""
    return f"{about.delivery_key}:{recipient.key}"


def metadata(about: DigestAbout, key: str, part: int) -> dict[str, Any]:
    """The metadata of one digest message (`key` from `place_key` or `update_key`): what finds it
    again after a crash."""
    return {
        "event_type": METADATA_EVENT_TYPE,
        "event_payload": {
            "meeting_id": about.meeting.meeting_id,
            "delivery_key": key,
            "part": part,
        },
    }


def parts_carrying(messages: Iterable[dict[str, Any]], key: str) -> dict[int, str]:
    """Part → ts of the `messages` whose metadata says they are part of delivery `key`."""
    found: dict[int, str] = {}
    for message in messages:
        meta = message.get("metadata") or {}
        payload = meta.get("event_payload") or {}
        if meta.get("event_type") != METADATA_EVENT_TYPE:
            continue
        if payload.get("delivery_key") == key and isinstance(payload.get("part"), int):
            found.setdefault(payload["part"], str(message.get("ts", "")))
    return found


def reader_of(recipient: Recipient) -> Reader:
    """Who reads a place's digest: a channel anyone in it may read, so never a recording's
    password; a DM goes to a Slack user linked to the meeting's creator."""
    return CREATOR_PRIVATELY if recipient.kind == "dm" else CHANNEL


def _render(
    recipient: Recipient, meeting: Meeting, about: DigestAbout, locale: Locale
) -> list[Message]:
    return render_digest(
        meeting,
        locale=locale,
        ended=about.meeting,
        creator_slack_id=about.creator_slack_id,
        reader=reader_of(recipient),
    )


def update_key(about: DigestAbout, recipient: Recipient, new: Meeting) -> str:
    """The delivery key of the thread messages of one update: which job, place and new things."""
    digest = hashlib.sha256("\n".join(sorted(new.keys)).encode()).hexdigest()[:16]
    return f"{place_key(about, recipient)}:u{digest}"


class SlackDigestSink:
    def __init__(self, poster: SlackPoster, profiles: SlackProfiles) -> None:
        self._poster = poster
        self._profiles = profiles
        self._cut_short = asyncio.Event()

    def cut_short(self) -> None:
        self._cut_short.set()

    async def _locale(self, recipient: Recipient) -> Locale:
        return (await self._profiles.get(recipient.reader)).locale if recipient.reader else "en"

    async def _channel(self, recipient: Recipient) -> str:
        if recipient.kind == "dm":
            return await self._poster.dm_channel(recipient.id)
        return recipient.id

    async def deliver(
        self,
        recipient: Recipient,
        meeting: Meeting,
        *,
        about: DigestAbout,
        posted: frozenset[int],
        record: PartPosted,
        look_first: bool,
    ) -> None:
        locale = await self._locale(recipient)
        messages = _render(recipient, meeting, about, locale)

        with slack_failures_as_delivery_errors():
            channel = await self._channel(recipient)
            done = set(posted)
            adopted = await self._find_posted(channel, about, recipient) if look_first else {}
            for part, ts in sorted(adopted.items()):
                if part not in done and part < len(messages):
                    log.info("adopting digest part %d already in %s", part, recipient.key)
                    await record(part, channel, ts)
                    done.add(part)
            for part, message in enumerate(messages):
                if part in done:
                    continue
                new_ts = await self._poster.post(
                    channel,
                    message,
                    unfurl_links=False,
                    stop=self._cut_short,
                    metadata=metadata(about, place_key(about, recipient), part),
                )
                await record(part, channel, str(new_ts or ""))

    async def _find_posted(
        self, channel: str, about: DigestAbout, recipient: Recipient
    ) -> dict[int, str]:
        """Part → ts of this delivery's messages already in the channel's recent history."""
        oldest = about.first_try.timestamp() - HISTORY_MARGIN_SECONDS
        recent = await self._poster.recent_messages(channel, oldest=oldest)
        return parts_carrying(recent, place_key(about, recipient))

    async def update(
        self,
        recipient: Recipient,
        messages: Sequence[PostedPart],
        meeting: Meeting,
        new: Meeting,
        *,
        about: DigestAbout,
        record_reply: ReplyPosted,
    ) -> None:
        locale = await self._locale(recipient)
        rendered = _render(recipient, meeting, about, locale)
        names = [r.subject or r.room_id or r.url for r in new.live_replays]
        recording_files = sum(len(recording.files) for recording in new.recordings)

        thread_key = update_key(about, recipient, new)

        with slack_failures_as_delivery_errors():
            for posted, message in zip(messages, rendered, strict=False):
                await self._poster.update(posted.channel, posted.ts, message, stop=self._cut_short)
            first = messages[0]
            # What no longer fits in the messages there are goes in the thread, then the note. A
            # rerun after a crash finds what an earlier run put there (by its metadata) first.
            in_thread = [
                *rendered[len(messages) :],
                update_reply(meeting.subject, names, locale, recording_files=recording_files),
            ]
            there = await self._find_in_thread(first.channel, first.ts, thread_key)
            for part, message in enumerate(in_thread):
                ts = there.get(part)
                if ts is None:
                    ts = await self._poster.post(
                        first.channel,
                        message,
                        unfurl_links=False,
                        stop=self._cut_short,
                        thread_ts=first.ts,
                        metadata=metadata(about, thread_key, part),
                    )
            await record_reply(first.channel, str(ts or ""))

    async def _find_in_thread(self, channel: str, thread_ts: str, key: str) -> dict[int, str]:
        """Part → ts of the thread messages of one update already posted under `thread_ts`."""
        return parts_carrying(await self._poster.thread_messages(channel, thread_ts), key)

    async def removed(
        self,
        recipient: Recipient,
        messages: Sequence[PostedPart],
        meeting: Meeting,
        *,
        about: DigestAbout,
    ) -> None:
        locale = await self._locale(recipient)
        rendered = _render(recipient, meeting, about, locale)
        note = recording_removed_line(locale)
        first, *rest = rendered
        # The note leads the first message, so a too-full message loses a replay's block, not it.
        rewritten = [with_note(first, note), *rest]

        with slack_failures_as_delivery_errors():
            for number, posted in enumerate(messages):
                message = rewritten[number] if number < len(rewritten) else note_only(note)
                await self._poster.update(posted.channel, posted.ts, message, stop=self._cut_short)

    async def gave_up(self, recipient: Recipient, *, about: DigestAbout, waited: float) -> None:
        locale = await self._locale(recipient)

        with slack_failures_as_delivery_errors():
            channel = await self._channel(recipient)
            await self._poster.post(
                channel, gave_up_note(about.meeting, waited, locale), stop=self._cut_short
            )


def with_note(message: Message, note: str) -> Message:
    """`message` opening with `note` (in its blocks and its notification text), within the
    50-block limit."""
    blocks = [section(note), *message.get("blocks", [])][:MAX_BLOCKS]
    text = f"{note}\n{message.get('text', '')}"[:MAX_FALLBACK_TEXT]
    return {**message, "text": text, "blocks": blocks}


def note_only(note: str) -> Message:
    """A message that says only `note` (a part of a digest left with nothing to show)."""
    return {"text": note, "blocks": [section(note)]}


@contextmanager
def slack_failures_as_delivery_errors() -> Iterator[None]:
    """Slack's refusals and the network's failures inside the block, raised as the core's
    `DeliveryRefused` (no retry will fix it for this recipient) or `DeliveryDeferred` (try later)."""
    try:
        yield
    except SlackApiError as error:
        code = str(error.response.get("error"))
        if code in PERMANENT_ERRORS:
            raise DeliveryRefused(code) from None
        raise DeliveryDeferred(code) from None
    except (aiohttp.ClientError, TimeoutError) as error:
        raise DeliveryDeferred(repr(error)) from None
    except PostingStopped:
        raise DeliveryCutShort("shutting down") from None
