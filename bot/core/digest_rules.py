"""Digest rules: after a meeting ends, whose channels and DMs get its replays, which replays are
new, and when to stop looking.

The webhook (or, without one, `bot.core.poller`) reports ended meetings here; each becomes a
durable job in `bot.core.digest_queue`, which runs `work(job)` under a lease and applies the
`Verdict`. A job looks the replays up with the creator's userid, looks again at growing intervals
while there is no new replay, gives up at the configured time, and has each recipient served once
(`bot.core.digest_delivery`).

"New" replays: a recurring meeting's replay list still holds the replays of earlier occurrences,
so a job posts only the replays that no other job of the same meeting has posted.

Cloud recordings: a `recording.completed` makes a job of its own (its occurrence key names the
event), which looks the meeting up like any other and posts, or adds to the place's message, the
recording's files; it waits for no live replay, and looks again only while a recording is still
being made or transcoded (or not listed yet). Without webhooks (`follow_recordings`), no such
event comes: a job whose meeting has a recording in the making follows it until the give-up time.
A `recording.deleted` makes a job due at once that rewrites the posted messages
(`bot.core.digest_removal`).

Quota: while `meeting.live-started` events arrive (one seen in the last `LIVE_EVENTS_WINDOW`), a
meeting that never went live gets one look and no retries; one that did is followed until the
give-up time, and its creator hears once when no replay came. Without those events nothing tells
which meetings can have replays, so a job is followed until its replays appear or the give-up time.
Either way a live replay it posted proves the meeting streamed: the job keeps following it until
the give-up time, so that a second live room's replay or a late one updates the digest.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from bot.core.digest_delivery import DigestDelivery
from bot.core.digest_queue import DigestQueue, Verdict
from bot.core.digest_removal import DigestRemoval
from bot.core.digest_sink import (
    DeliveryDeferred,
    DeliveryRefused,
    DigestAbout,
    DigestSink,
    Recipient,
)
from bot.core.lookup import ReplayLookup
from bot.core.meetings import MeetingRef, is_recording_key
from bot.core.outcomes import LookupProblem
from bot.core.records import (
    RECORDING_COMPLETED,
    RECORDING_DELETED,
    DigestJob,
    EndedMeeting,
    JobState,
    NewDigest,
    RecordingChange,
)
from bot.core.storage import Storage

log = logging.getLogger(__name__)

#: live-started events seen within this long mean they arrive: the console is subscribed to them
LIVE_EVENTS_WINDOW = timedelta(days=30)

#: Problems that more waiting can fix; anything else ends the job.
_WORTH_RETRYING = {
    None,
    LookupProblem.NOT_FOUND,
    LookupProblem.BUSY,
    LookupProblem.UNAVAILABLE,
    LookupProblem.MALFORMED,
}


def subject_matches(subject: str, words: str) -> bool:
    """Whether a `subscribe match <words>` filter lets this subject through (no filter: all)."""
    return words.casefold() in subject.casefold() if words else True


class DigestRules:
    def __init__(
        self,
        storage: Storage,
        queue: DigestQueue,
        lookup: ReplayLookup,
        sink: DigestSink,
        *,
        follow_recordings: bool = False,
    ) -> None:
        self._storage = storage
        self._queue = queue
        self._lookup = lookup
        self._follow_recordings = follow_recordings
        self._sink = sink
        self._delivery = DigestDelivery(storage.digest_jobs, sink, give_up=queue.give_up_after)
        self._removal = DigestRemoval(
            storage.digest_jobs,
            storage.subscriptions,
            lookup,
            sink,
            past_give_up=queue.past_give_up,
            creator_slack_id=self._creator_slack_id,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Work on due digests until `stop` is set (see `DigestQueue.run`)."""
        await self._queue.run(self.work, stop)

    def cut_short(self) -> None:
        """Stop the digests under way before their next message and hand their jobs back."""
        self._sink.cut_short()

    async def meeting_ended(self, meeting: EndedMeeting) -> bool:
        """Record the durable job for one ended occurrence of a meeting, first looked at after the
        configured delay; False when it existed (Tencent redelivers)."""
        created = await self._queue.enqueue(NewDigest(meeting, self._queue.first_look()))
        if created:
            log.info(
                "digest job created for meeting %s (creator %s)",
                meeting.meeting_id,
                meeting.creator_userid,
            )
        return created

    async def recording_changed(self, change: RecordingChange) -> bool:
        """Record the durable job of a recording event: a completed recording is first looked up
        after the configured delay, a deleted one's messages are rewritten at once. False when
        the job existed (Tencent redelivers)."""
        if change.event == RECORDING_COMPLETED:
            due = self._queue.first_look()
        else:
            due = self._queue.clock()
        created = await self._queue.enqueue(NewDigest(change.meeting, due))
        if created:
            log.info(
                "%s job created for meeting %s (%d files)",
                change.event,
                change.meeting.meeting_id,
                len(change.record_file_ids),
            )
        return created

    async def replays_appeared(self, meeting: EndedMeeting) -> bool:
        """Record a job due now for replays found without a `meeting.end` (the poller); False
        when a job with this key existed."""
        return await self._queue.enqueue(NewDigest(meeting, self._queue.clock()))

    async def recipients(self, job: DigestJob) -> list[Recipient]:
        meeting = job.meeting
        found: dict[str, Recipient] = {}
        for sub in await self._storage.subscriptions.for_meeting(
            meeting.creator_userid, meeting.meeting_code
        ):
            if not subject_matches(meeting.subject, sub.subject_match):
                continue
            recipient = Recipient("channel", sub.channel_id, sub.created_by)
            found.setdefault(recipient.key, recipient)
        for link in await self._storage.links.for_tencent_user(meeting.creator_userid):
            if await self._storage.preferences.dm_digests_enabled(link.team_id, link.slack_user_id):
                recipient = Recipient("dm", link.slack_user_id, link.slack_user_id)
                found.setdefault(recipient.key, recipient)
        return list(found.values())

    async def went_live(self, meeting_id: str) -> None:
        """Note a `meeting.live-started`: this meeting can have replays."""
        await self._storage.live.mark_live(meeting_id, seen_at=self._queue.clock())

    async def streamed(self, meeting_id: str) -> bool | None:
        """Whether the meeting went live; None when no live-started event arrived lately (the
        console is not subscribed to them), so nothing can be told."""
        latest = await self._storage.live.latest()
        if latest is None or self._queue.clock() - latest > LIVE_EVENTS_WINDOW:
            return None
        return await self._storage.live.went_live(meeting_id)

    async def _meeting_busy(self, job: DigestJob) -> bool:
        """Whether another job of the same meeting is under a live lease (running elsewhere or in
        this instance) and goes first: an older one, or a newer one claimed before this one (a
        job following its meeting may come due while a newer one runs). Two claimed together:
        the older goes first, so that two never wait for each other. Past its give-up time a job
        goes ahead anyway."""
        if self._queue.past_give_up(job):
            return False
        now = self._queue.clock()
        return any(
            other.id != job.id
            and other.state is JobState.PENDING
            and other.lease_owner is not None
            and other.lease_until is not None
            and other.lease_until > now
            and (other.id < job.id or _claimed_before(other, job))
            for other in await self._storage.digest_jobs.for_meeting(job.meeting.meeting_id)
        )

    async def _creator_slack_id(self, userid: str) -> str | None:
        links = await self._storage.links.for_tencent_user(userid)
        return links[0].slack_user_id if links else None

    async def work(self, job: DigestJob) -> Verdict:
        """One run of a job: post what is new to whoever has not had it yet (updating the place's
        message when it has one), or say when to look again."""
        meeting_id = job.meeting.meeting_id
        if await self._meeting_busy(job):
            # One job of a meeting at a time: two at once (a meeting.end job following the meeting
            # and its recording.completed job) could both post or reply to the same place.
            log.info("another digest job of meeting %s is running; looking later", meeting_id)
            return Verdict(None, tuple(sorted(job.posted_replays)))
        if job.meeting.recording_event == RECORDING_DELETED:
            return await self._removal.work(job)
        recipients = await self.recipients(job)
        if not recipients:
            log.info("digest for meeting %s has no recipients", meeting_id)
            return Verdict(JobState.NO_RECIPIENTS)
        jobs = self._storage.digest_jobs
        streamed = await self.streamed(meeting_id)
        result = await self._lookup.lookup(
            MeetingRef("id", meeting_id), job.meeting.creator_userid, fresh=True
        )
        own = set(job.posted_replays)
        posted = await jobs.replays_posted_for_meeting(meeting_id, excluding_job=job.id)
        found = [(m, m.without(posted | own)) for m in result.meetings]
        whole, meeting = next(((w, m) for w, m in found if m.has_replays), (None, None))
        follow = _Following(
            recording_job=job.meeting.recording_event == RECORDING_COMPLETED,
            processing=any(m.processing for m in result.meetings),
            recorded=any(m.recordings for m in result.meetings),
            follow_recordings=self._follow_recordings,
        )
        about = DigestAbout(
            job.meeting,
            await self._creator_slack_id(job.meeting.creator_userid),
            f"job{job.id}",
            job.created_at,
        )
        if meeting is None or whole is None:
            if follow.recording_job:
                return self._recording_not_new(job, result.problem, follow)
            return await self._nothing_new(job, result.problem, streamed, recipients, about, follow)
        delivered = await jobs.deliveries(job.id)
        for recipient in recipients:
            try:
                await self._delivery.serve(job, recipient, whole, meeting, about, delivered)
            except DeliveryRefused as refusal:
                log.warning(
                    "digest for meeting %s not delivered to %s: %s",
                    meeting_id,
                    recipient.key,
                    refusal,
                )
                await jobs.record_delivery(job.id, recipient.key)
            except DeliveryDeferred as deferred:
                log.warning(
                    "digest for meeting %s to %s deferred: %s", meeting_id, recipient.key, deferred
                )
                return Verdict(None, tuple(sorted(own))) if own else Verdict.retry()
        log.info("digest for meeting %s posted to %d recipients", meeting_id, len(recipients))
        keys = tuple(sorted(own | set(meeting.keys)))
        if self._queue.past_give_up(job):
            return Verdict(JobState.POSTED, keys)
        if follow.recording_to_come:
            return Verdict(None, keys)  # another recording of the meeting is still in the making
        if not follow.recording_job and (streamed or _has_live_replay(keys)):
            # It went live: a second live room's replay, or a late one, may still come.
            return Verdict(None, keys)
        return Verdict(JobState.POSTED, keys)

    def _recording_not_new(
        self, job: DigestJob, problem: LookupProblem | None, follow: _Following
    ) -> Verdict:
        """A `recording.completed` job that found nothing to post: it waits for no live replay,
        only for a recording still in the making or not listed yet."""
        own = tuple(sorted(job.posted_replays))
        if problem not in _WORTH_RETRYING:
            log.warning(
                "recording digest for meeting %s stopped: %s", job.meeting.meeting_id, problem
            )
            return Verdict(JobState.POSTED if own else JobState.FAILED, own)
        waiting = problem is not None or follow.processing or not follow.recorded
        if waiting and not self._queue.past_give_up(job):
            return Verdict(None, own)
        if own or follow.recorded:
            # Everything found is posted (by this job or another of the meeting).
            return Verdict(JobState.POSTED, own)
        log.info("no recording listed for meeting %s; giving up", job.meeting.meeting_id)
        return Verdict(JobState.GAVE_UP)

    async def _nothing_new(
        self,
        job: DigestJob,
        problem: LookupProblem | None,
        streamed: bool | None,
        recipients: Sequence[Recipient],
        about: DigestAbout,
        follow: _Following,
    ) -> Verdict:
        meeting_id = job.meeting.meeting_id
        own = tuple(sorted(job.posted_replays))
        if problem not in _WORTH_RETRYING:
            log.warning("digest for meeting %s stopped: %s", meeting_id, problem)
            return Verdict(JobState.POSTED if own else JobState.FAILED, own)
        if follow.recording_to_come and not self._queue.past_give_up(job):
            return Verdict(None, own)
        if own:  # following a meeting that went live after its digest went out
            if self._queue.past_give_up(job) or not (streamed or _has_live_replay(own)):
                return Verdict(JobState.POSTED, own)
            return Verdict(None, own)
        if streamed is False:
            # Live events arrive and this meeting never went live: it has no replay to wait for.
            log.info("meeting %s did not go live: one look, no more", meeting_id)
            return Verdict(JobState.GAVE_UP)
        if self._queue.past_give_up(job):
            log.info("no replay appeared for meeting %s; giving up", meeting_id)
            if streamed:
                waited = self._queue.give_up_after.total_seconds()
                await self._delivery.tell_creator(job, recipients, about, waited)
            return Verdict(JobState.GAVE_UP)
        return Verdict.retry()


def _claimed_before(other: DigestJob, job: DigestJob) -> bool:
    """Whether `other` was claimed before `job`, which has just been: a lease runs the same time
    from its claim or its last renewal, so an earlier claim's lease ends sooner."""
    return (
        job.lease_until is not None
        and other.lease_until is not None
        and (other.lease_until < job.lease_until)
    )


def _has_live_replay(keys: Sequence[str]) -> bool:
    """Whether a live replay is among the posted `keys` (a recording's files alone prove no stream)."""
    return any(not is_recording_key(key) for key in keys)


@dataclass(frozen=True, slots=True)
class _Following:
    """What one run of a job learnt that decides whether to look again for recordings."""

    #: the job is a `recording.completed`'s
    recording_job: bool
    #: a recording of the meeting is still being made or transcoded
    processing: bool
    #: the look-up listed a recording of the meeting at all
    recorded: bool
    #: no `recording.completed` will come (no webhook): jobs follow recordings themselves
    follow_recordings: bool

    @property
    def recording_to_come(self) -> bool:
        """Whether this job should look again for a recording still in the making."""
        return self.processing and (self.recording_job or self.follow_recordings)
