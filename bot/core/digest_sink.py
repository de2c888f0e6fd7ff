"""Where digests go, as the digest rules see it: the recipients, what a digest says about its
meeting, and the `DigestSink` Protocol that `bot.slack.digest_sink` implements on Slack."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from bot.core.meetings import Meeting
from bot.core.records import EndedMeeting
from bot.core.storage import PostedPart

#: the `event_type` of the metadata every digest message carries
METADATA_EVENT_TYPE = "tencent_meeting_replays"


@dataclass(frozen=True)
class Recipient:
    kind: Literal["channel", "dm"]
    id: str
    #: whose Slack locale the digest is worded in
    reader: str | None = None

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"


class DeliveryRefused(Exception):
    """Slack refused a recipient for good (archived channel, bot not invited): do not try again."""


class DeliveryDeferred(Exception):
    """Slack could not take the digest now (network trouble, its servers failing): try later."""


#: records that message `part` (from 0) of a recipient's digest went out as `ts` in `channel`
PartPosted = Callable[[int, str, str], Awaitable[None]]
#: records the thread reply of an update, as `ts` in `channel`
ReplyPosted = Callable[[str, str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class DigestAbout:
    """What a digest says about its meeting beside the replays: the ended meeting as the webhook
    (or the history query) told it, the creator's Slack user when linked, and the key every
    message of one delivery carries in its metadata."""

    meeting: EndedMeeting
    creator_slack_id: str | None
    delivery_key: str
    #: no message of this delivery is older than this (the job's creation)
    first_try: datetime


class DeliveryCutShort(Exception):
    """The process is stopping: the delivery stopped before its next message, with every message
    it sent recorded, and its job is to be handed back at once."""


class DigestSink(Protocol):
    """Where digests go (Slack). Raises DeliveryRefused for a permanent refusal,
    DeliveryDeferred when the delivery should be tried again later, and DeliveryCutShort once
    `cut_short` was called."""

    def cut_short(self) -> None:
        """From now on, stop every delivery before it sends its next message. Shutdown calls it
        when its grace period is over: a job stopped between two messages has recorded all it
        sent, where one cancelled in the middle of a post can leave a message Slack took
        unrecorded and a database transaction open."""
        ...

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
        """Post a digest, which may take several messages: skip the parts in `posted` and await
        `record(part, channel, ts)` after posting each other one. With `look_first` (an earlier
        try may have posted without recording), first adopt (record) the parts found in the
        place's recent history by `about.delivery_key`, and post only the others."""
        ...

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
        """Rewrite the posted `messages` (parts in order) to show `meeting`'s replays, and reply
        once in their thread with the `new` ones; await `record_reply` after the reply."""
        ...

    async def gave_up(self, recipient: Recipient, *, about: DigestAbout, waited: float) -> None:
        """Tell the creator that no replay appeared for a meeting that went live."""
        ...

    async def removed(
        self,
        recipient: Recipient,
        messages: Sequence[PostedPart],
        meeting: Meeting,
        *,
        about: DigestAbout,
    ) -> None:
        """Rewrite the posted `messages` (parts in order) to show what `meeting` still has, saying
        that its cloud recording was removed; post nothing new."""
        ...
