"""A `recording.deleted`: the digest messages already posted for the meeting stop offering the
removed files and say that the cloud recording was removed. Nothing new is posted.

Every place (channel or DM) whose recorded digest message showed a removed file is rewritten with
what it still shows, under one more line saying so; each rewrite is recorded in the job's
deliveries (`bot.core.delivery_keys.removed_key`), so that a rerun after a crash rewrites only
what is left, and a redelivery (the same occurrence key) is no new job at all.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.core.delivery_keys import part_of, removed_key
from bot.core.digest_queue import Verdict
from bot.core.digest_sink import (
    DeliveryDeferred,
    DeliveryRefused,
    DigestAbout,
    DigestSink,
    Recipient,
)
from bot.core.lookup import ReplayLookup
from bot.core.meetings import Meeting, MeetingRef, RecordingFile
from bot.core.outcomes import LookupProblem
from bot.core.records import DigestJob, JobState
from bot.core.storage import DigestJobStore, PostedPart, SubscriptionStore

log = logging.getLogger(__name__)

#: how far back posted messages are rewritten: Tencent keeps recordings listed 31 days anyway
REWRITE_WINDOW = timedelta(days=31)
#: problems after which the look-up is worth trying again
_PASSING = {LookupProblem.BUSY, LookupProblem.UNAVAILABLE, LookupProblem.MALFORMED}


def _place(key: str) -> Recipient | None:
    """The place a delivery key belongs to (`<kind>:<id>#…`)."""
    place = key.split("#", 1)[0]
    kind, _, place_id = place.partition(":")
    if kind == "channel" and place_id:
        return Recipient("channel", place_id)
    if kind == "dm" and place_id:
        return Recipient("dm", place_id, place_id)
    return None


class DigestRemoval:
    """Works the jobs of `recording.deleted` events (see the module docstring)."""

    def __init__(
        self,
        jobs: DigestJobStore,
        subscriptions: SubscriptionStore,
        lookup: ReplayLookup,
        sink: DigestSink,
        *,
        past_give_up: Callable[[DigestJob], bool],
        creator_slack_id: Callable[[str], Awaitable[str | None]],
    ) -> None:
        self._creator_slack_id = creator_slack_id
        self._jobs = jobs
        self._subscriptions = subscriptions
        self._lookup = lookup
        self._sink = sink
        self._past_give_up = past_give_up

    async def work(self, job: DigestJob) -> Verdict:
        meeting = job.meeting
        posted = await self._messages(job)
        if not posted:
            log.info(
                "recording of meeting %s removed; no digest message shows it", meeting.meeting_id
            )
            return Verdict(JobState.NO_RECIPIENTS)
        result = await self._lookup.lookup(
            MeetingRef("id", meeting.meeting_id), meeting.creator_userid, fresh=True
        )
        if result.problem in _PASSING and not self._past_give_up(job):
            return Verdict.retry()
        # Nothing found (the meeting had only the recording): nothing is left to show.
        current = next(
            (m for m in result.meetings if m.meeting_id == meeting.meeting_id),
            Meeting(meeting.meeting_id, meeting.meeting_code, meeting.subject),
        )
        removed = {RecordingFile(file_id).key for file_id in meeting.deleted_files}
        readers = await self._readers(job)
        delivered = await self._jobs.deliveries(job.id)
        jobs_of_meeting = await self._jobs.for_meeting(meeting.meeting_id)
        rewritten = 0
        for (place_key, owner_id), parts in sorted(posted.items()):
            key = removed_key(place_key, owner_id)
            if key in delivered:
                continue
            shown: set[str] = set()
            owner = next((j for j in jobs_of_meeting if j.id == owner_id), None)
            for other in jobs_of_meeting:
                if owner is not None and other.created_at < owner.created_at:
                    continue
                if other.state is not JobState.SKIPPED:
                    shown.update(other.posted_replays)
            # Removed: the files the event names (Tencent may list them a while longer), or,
            # when it names none, whatever Tencent no longer lists.
            gone = shown & removed if removed else shown - set(current.keys)
            if not gone:
                continue
            place = _place(place_key)
            if place is None:
                continue
            recipient = Recipient(place.kind, place.id, readers.get(place_key, place.reader))
            about = DigestAbout(
                owner.meeting if owner is not None else meeting,
                await self._creator_slack_id(meeting.creator_userid),
                f"job{owner_id}",
                job.created_at,
            )
            try:
                await self._sink.removed(
                    recipient, parts, current.keeping(shown - gone), about=about
                )
            except DeliveryRefused as refusal:
                log.warning("removal note to %s refused: %s", place_key, refusal)
            except DeliveryDeferred as deferred:
                log.warning("removal note to %s deferred: %s", place_key, deferred)
                return Verdict.retry()
            await self._jobs.record_delivery(job.id, key)
            rewritten += 1
        log.info(
            "recording of meeting %s removed: %d messages rewritten", meeting.meeting_id, rewritten
        )
        return Verdict(JobState.POSTED)

    async def _messages(self, job: DigestJob) -> dict[tuple[str, int], list[PostedPart]]:
        """The meeting's posted digest messages, by (place, job that posted them), parts in order."""
        since = job.created_at - REWRITE_WINDOW
        found: dict[tuple[str, int], list[tuple[int, PostedPart]]] = {}
        for message in await self._jobs.place_messages(job.meeting.meeting_id, "", since=since):
            place = _place(message.key)
            if place is None:
                continue
            part = part_of(place, message.key)
            if part is not None:
                found.setdefault((place.key, message.job_id), []).append((part, message))
        return {
            spot: [message for _, message in sorted(parts, key=lambda p: p[0])]
            for spot, parts in found.items()
        }

    async def _readers(self, job: DigestJob) -> dict[str, str]:
        """Whose language each subscribed channel's messages are in (who subscribed it)."""
        meeting = job.meeting
        subscriptions = await self._subscriptions.for_meeting(
            meeting.creator_userid, meeting.meeting_code
        )
        return {Recipient("channel", s.channel_id).key: s.created_by for s in subscriptions}
