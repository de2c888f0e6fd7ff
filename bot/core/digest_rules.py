"""Digest rules: after a meeting ends, whose channels and DMs get its replays, which replays are
new, and when to stop looking.

The webhook (or, without one, `bot.core.poller`) reports ended meetings here; each becomes a
durable job in `bot.core.digest_queue`, which runs `work(job)` under a lease and applies the
`Verdict`. A job looks the replays up with the creator's userid, looks again at growing intervals
while there is no new replay, gives up at the configured time, and records each delivery so that no
recipient gets a digest twice.

"New" replays: a recurring meeting's replay list still holds the replays of earlier occurrences,
so a job posts only the replays that no other job of the same meeting has posted.

Each message of a digest is recorded as it goes out, and the recipient once all of them have: a
run cut short (a crash, a shutdown, Slack failing) resumes at the first missing message, and no
recipient gets a message twice from what this app knows it has sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal, Protocol

from bot.core.digest_queue import DigestQueue, Verdict
from bot.core.lookup import ReplayLookup
from bot.core.outcomes import LookupProblem
from bot.core.parsing import MeetingRef
from bot.core.records import DigestJob, EndedMeeting, JobState, NewDigest
from bot.core.storage import Storage
from bot.meeting.models import LiveReplay, MeetingReplays

log = logging.getLogger(__name__)

#: seen-event keys of the poller's first looks, never purged
WATCH_KEY_PREFIX = "poller:watch:"

#: Problems that more waiting can fix; anything else ends the job.
_WORTH_RETRYING = {
    None,
    LookupProblem.NOT_FOUND,
    LookupProblem.BUSY,
    LookupProblem.UNAVAILABLE,
    LookupProblem.MALFORMED,
}


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


#: records that message `part` (from 0) of a recipient's digest went out
PartPosted = Callable[[int], Awaitable[None]]


class DigestSink(Protocol):
    """Where digests go (Slack). A digest may take several messages: the sink skips the parts in
    `posted` and awaits `record(part)` after posting each other one, so that a run cut short
    resumes at the first missing part. Raises DeliveryRefused for a permanent refusal and
    DeliveryDeferred when the delivery should be tried again later."""

    async def deliver(
        self,
        recipient: Recipient,
        meeting: MeetingReplays,
        *,
        posted: frozenset[int],
        record: PartPosted,
    ) -> None: ...


def part_key(recipient: Recipient, part: int) -> str:
    return f"{recipient.key}#{part}"


def replay_key(replay: LiveReplay) -> str:
    """What tells replays of one meeting apart: Tencent gives them no id of their own."""
    return f"{replay.live_room_id} {replay.video_url}"


def only_new_replays(meeting: MeetingReplays, posted: set[str]) -> MeetingReplays:
    """`meeting` with just the replays whose keys are not in `posted`."""
    fresh = [r for r in meeting.live_replay_list if replay_key(r) not in posted]
    return meeting.model_copy(update={"live_replay_list": fresh})


class DigestRules:
    def __init__(
        self, storage: Storage, queue: DigestQueue, lookup: ReplayLookup, sink: DigestSink
    ) -> None:
        self._storage = storage
        self._queue = queue
        self._lookup = lookup
        self._sink = sink

    async def run(self, stop: asyncio.Event) -> None:
        """Work on due digests until `stop` is set (see `DigestQueue.run`)."""
        await self._queue.run(self.work, stop)

    async def meeting_ended(self, meeting: EndedMeeting) -> bool:
        """Record the durable job for one ended occurrence of a meeting, first looked at after the
        configured delay; False when it existed (Tencent redelivers)."""
        due_at = self._queue.clock() + timedelta(seconds=self._queue.timing.delay)
        created = await self._queue.enqueue(NewDigest(meeting, due_at))
        if created:
            log.info(
                "digest job created for meeting %s (creator %s)",
                meeting.meeting_id,
                meeting.creator_userid,
            )
        return created

    async def replays_appeared(self, meeting: EndedMeeting) -> bool:
        """Record a job due now for replays found without a `meeting.end` (the poller); False
        when a job with this key existed."""
        return await self._queue.enqueue(NewDigest(meeting, self._queue.clock()))

    async def watched_codes(self) -> list[tuple[str, str]]:
        """Every (creator userid, meeting code) some channel subscribed to by code."""
        return await self._storage.subscriptions.watched_codes()

    async def first_watch(self, userid: str, code: str) -> bool:
        """True for the very first look at this code for this creator, in any instance. These keys
        must outlive any purge of old events: a forgotten one would make the next look a first
        again, and replays that appeared since the last look would go unposted."""
        return await self._storage.events.first_sighting(f"{WATCH_KEY_PREFIX}{userid}:{code}")

    async def known_replays(self, meeting_id: str) -> set[str]:
        """The keys of this meeting's replays that a digest posted or recorded as known."""
        return await self._storage.digest_jobs.replays_posted_for_meeting(meeting_id)

    async def never_post(self, meeting: EndedMeeting, replay_keys: Iterable[str]) -> bool:
        """Record replays that were there before anyone watched for them: never posted."""
        return await self._storage.digest_jobs.record_known_replays(meeting, replay_keys)

    async def digest_pending(self, meeting_id: str) -> bool:
        """Whether a digest of this meeting is on its way (it posts whatever is new when it runs)."""
        jobs = await self._storage.digest_jobs.for_meeting(meeting_id)
        return any(job.state is JobState.PENDING for job in jobs)

    async def recipients(self, job: DigestJob) -> list[Recipient]:
        meeting = job.meeting
        found: dict[str, Recipient] = {}
        for sub in await self._storage.subscriptions.for_meeting(
            meeting.creator_userid, meeting.meeting_code
        ):
            recipient = Recipient("channel", sub.channel_id, sub.created_by)
            found.setdefault(recipient.key, recipient)
        for link in await self._storage.links.for_tencent_user(meeting.creator_userid):
            if await self._storage.preferences.dm_digests_enabled(link.team_id, link.slack_user_id):
                recipient = Recipient("dm", link.slack_user_id, link.slack_user_id)
                found.setdefault(recipient.key, recipient)
        return list(found.values())

    async def work(self, job: DigestJob) -> Verdict:
        """One run of a job: post what is new to whoever has not had it yet, or say when to look
        again."""
        meeting_id = job.meeting.meeting_id
        recipients = await self.recipients(job)
        if not recipients:
            log.info("digest for meeting %s has no recipients", meeting_id)
            return Verdict(JobState.NO_RECIPIENTS)
        jobs = self._storage.digest_jobs
        result = await self._lookup.lookup(
            MeetingRef("id", meeting_id), job.meeting.creator_userid, fresh=True
        )
        posted = await jobs.replays_posted_for_meeting(meeting_id, excluding_job=job.id)
        found = (only_new_replays(m, posted) for m in result.meetings)
        meeting = next((m for m in found if m.live_replay_list), None)
        if meeting is None:
            if result.problem not in _WORTH_RETRYING:
                log.warning("digest for meeting %s stopped: %s", meeting_id, result.problem)
                return Verdict(JobState.FAILED)
            if self._queue.past_give_up(job):
                log.info("no replay appeared for meeting %s; giving up", meeting_id)
                return Verdict(JobState.GAVE_UP)
            return Verdict.retry()
        delivered = await jobs.deliveries(job.id)
        for recipient in recipients:
            if recipient.key in delivered:
                continue
            prefix = part_key(recipient, 0)[:-1]
            parts = frozenset(int(k[len(prefix) :]) for k in delivered if k.startswith(prefix))

            async def record(part: int, recipient: Recipient = recipient) -> None:
                await jobs.record_delivery(job.id, part_key(recipient, part))

            try:
                await self._sink.deliver(recipient, meeting, posted=parts, record=record)
            except DeliveryRefused as refusal:
                log.warning(
                    "digest for meeting %s not delivered to %s: %s",
                    meeting_id,
                    recipient.key,
                    refusal,
                )
            except DeliveryDeferred as deferred:
                log.warning(
                    "digest for meeting %s to %s deferred: %s", meeting_id, recipient.key, deferred
                )
                return Verdict.retry()
            await jobs.record_delivery(job.id, recipient.key)
        log.info("digest for meeting %s posted to %d recipients", meeting_id, len(recipients))
        keys = tuple(replay_key(replay) for replay in meeting.live_replay_list)
        return Verdict(JobState.POSTED, keys)
