"""Bringing one place up to date with a meeting's new replays, without ever posting twice.

Each message of a digest is recorded as it goes out (with its Slack channel and ts), and the place
once all of them have: a run cut short (a crash, a shutdown, Slack failing) resumes at the first
missing message. A crash *between* Slack accepting a message and its record is covered too: a try
is noted before the first post to a place, and a run that finds a try without the full delivery
asks the sink to adopt the messages it finds in the place's history (by the delivery key in their
metadata) before posting anything.

One message per meeting per place: replays found after a place got its digest (a second live
room, a late one; found by the job following a meeting that went live, or by a later job of the
same meeting within the give-up time) update that message and add one thread reply, recorded like
a part (`bot.core.delivery_keys.shown_key`), so that a rerun neither replies twice nor posts anew.
A cloud recording can be ready hours after the meeting's digest: a `recording.completed` job
updates a message up to `RECORDING_UPDATE_WINDOW` old.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from bot.core.delivery_keys import (
    gave_up_key,
    part_key,
    part_of,
    parts_posted,
    place_prefix,
    shown_key,
    try_key,
)
from bot.core.digest_sink import DeliveryRefused, DigestAbout, DigestSink, Recipient
from bot.core.meetings import Meeting
from bot.core.records import DigestJob, EndedMeeting, JobState
from bot.core.storage import DigestJobStore, PostedPart

log = logging.getLogger(__name__)

#: how old a place's message of the meeting a `recording.completed` job still updates (rather
#: than posting anew); Tencent lists a recording for 31 days
RECORDING_UPDATE_WINDOW = timedelta(days=31)


def same_occurrence(a: EndedMeeting, b: EndedMeeting) -> bool:
    """Whether two jobs of one meeting are about the same occurrence, as far as can be told: the
    same sub-meeting or start time when both know it; otherwise (a poller's job knows neither) the
    give-up window the caller looks in decides."""
    if a.sub_meeting_id and b.sub_meeting_id:
        return a.sub_meeting_id == b.sub_meeting_id
    if a.start_time is not None and b.start_time is not None:
        return a.start_time == b.start_time
    return True


class DigestDelivery:
    """Posts and updates a job's digests through the sink, recording every step in the job's
    deliveries; `give_up` is how long after its job a place's message is still updated."""

    def __init__(self, jobs: DigestJobStore, sink: DigestSink, *, give_up: timedelta) -> None:
        self._jobs = jobs
        self._sink = sink
        self._give_up = give_up

    async def serve(
        self,
        job: DigestJob,
        recipient: Recipient,
        whole: Meeting,
        new: Meeting,
        about: DigestAbout,
        delivered: set[str],
    ) -> None:
        """Bring one place up to date with the `new` replays (of everything found, `whole`): its
        first digest, or an update of the digest it has."""
        jobs = self._jobs
        shown = shown_key(recipient, new.keys)
        if shown in delivered:
            return
        target = await self._message_of(job, recipient)
        if target is None:
            if recipient.key in delivered:
                return
            look_first = try_key(recipient) in delivered
            if not look_first:
                await jobs.record_delivery(job.id, try_key(recipient))

            async def record(part: int, channel: str, ts: str) -> None:
                await jobs.record_delivery(
                    job.id, part_key(recipient, part), channel=channel, ts=ts
                )

            await self._sink.deliver(
                recipient,
                new,
                about=about,
                posted=parts_posted(recipient, delivered),
                record=record,
                look_first=look_first,
            )
            await jobs.record_delivery(job.id, recipient.key)
            await jobs.record_delivery(job.id, shown)
            return
        owner, messages = target
        everything = whole.keeping(await self._shown_in_place(job, owner, new))

        async def record_reply(channel: str, ts: str) -> None:
            await jobs.record_delivery(job.id, shown, channel=channel, ts=ts)

        await self._sink.update(
            recipient, messages, everything, new, about=about, record_reply=record_reply
        )
        await jobs.record_delivery(job.id, recipient.key)

    async def tell_creator(
        self, job: DigestJob, recipients: Sequence[Recipient], about: DigestAbout, waited: float
    ) -> None:
        """One DM to each linked Slack user of the creator (who has digest DMs on) saying that no
        replay came; channels hear nothing."""
        delivered = await self._jobs.deliveries(job.id)
        for recipient in recipients:
            key = gave_up_key(recipient)
            if recipient.kind != "dm" or key in delivered:
                continue
            try:
                await self._sink.gave_up(recipient, about=about, waited=waited)
            except DeliveryRefused as refusal:
                log.warning("give-up note to %s refused: %s", recipient.key, refusal)
            await self._jobs.record_delivery(job.id, key)

    async def _message_of(
        self, job: DigestJob, recipient: Recipient
    ) -> tuple[DigestJob, list[PostedPart]] | None:
        """The digest this place has of this meeting, posted in full within the give-up time
        (by this job or an earlier one), as its job and its parts in order; None when none."""
        jobs = self._jobs
        window = self._give_up
        if job.meeting.recording_event is not None:
            window = max(window, RECORDING_UPDATE_WINDOW)
        since = job.created_at - window
        messages = await jobs.place_messages(
            job.meeting.meeting_id, place_prefix(recipient), since=since
        )
        by_job: dict[int, list[tuple[int, PostedPart]]] = {}
        for message in messages:
            part = part_of(recipient, message.key)
            if part is not None:
                by_job.setdefault(message.job_id, []).append((part, message))
        for job_id, parts in sorted(by_job.items()):
            if recipient.key in await jobs.deliveries(job_id):
                owner = job if job_id == job.id else await jobs.get(job_id)
                if owner is not None and same_occurrence(owner.meeting, job.meeting):
                    return owner, [message for _, message in sorted(parts, key=lambda p: p[0])]
        return None

    async def _shown_in_place(self, job: DigestJob, owner: DigestJob, new: Meeting) -> set[str]:
        """The replays the place's message shows once updated: those posted by the jobs of this
        meeting (this occurrence, as far as can be told) since its owner was made, and the new
        ones."""
        shown = set(new.keys)
        shown.update(job.posted_replays)
        for other in await self._jobs.for_meeting(job.meeting.meeting_id):
            if (
                other.created_at >= owner.created_at
                and other.state is not JobState.SKIPPED
                and same_occurrence(other.meeting, owner.meeting)
            ):
                shown.update(other.posted_replays)
        return shown
