"""Digest rules: after a meeting ends, whose channels and DMs get its replays, which replays are
new, and when to stop looking.

The webhook (or, without one, `bot.core.poller`) reports ended meetings here; each becomes a
durable job in `bot.core.digest_queue`, which runs `work(job)` under a lease and applies the
`Verdict`. A job looks the replays up with the creator's userid, looks again at growing intervals
while there is no new replay, gives up at the configured time, and records each delivery so that no
recipient gets a digest twice.

"New" replays: a recurring meeting's replay list still holds the replays of earlier occurrences,
so a job posts only the replays that no other job of the same meeting has posted.

Each message of a digest is recorded as it goes out (with its Slack channel and ts), and the
recipient once all of them have: a run cut short (a crash, a shutdown, Slack failing) resumes at the
first missing message. A crash *between* Slack accepting a message and its record is covered too:
a try is noted before the first post to a place, and a run that finds a try without the full
delivery asks the sink to adopt the messages it finds in the place's history (by the delivery key
in their metadata) before posting anything.

One message per meeting per place: replays found after a place got its digest (a second live
room, a late one; found by this job following a meeting that went live, or by a later job of the
same meeting within the give-up time) update that message and add one thread reply, recorded like
a part (`<place>#u<hash of the new replays>`), so that a rerun neither replies twice nor posts anew.

Quota: while `meeting.live-started` events arrive (one seen in the last `LIVE_EVENTS_WINDOW`), a
meeting that never went live gets one look and no retries; one that did is followed until the
give-up time, and its creator hears once when no replay came. Without those events, a job is
followed until its replays appear or the give-up time, as before.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from bot.core.digest_queue import DigestQueue, Verdict
from bot.core.lookup import ReplayLookup
from bot.core.outcomes import LookupProblem
from bot.core.parsing import MeetingRef
from bot.core.records import DigestJob, EndedMeeting, JobState, NewDigest
from bot.core.storage import PostedPart, Storage
from bot.meeting.models import LiveReplay, MeetingReplays

log = logging.getLogger(__name__)

#: seen-event keys of the poller's first looks, never purged
WATCH_KEY_PREFIX = "poller:watch:"

#: live-started events seen within this long mean they arrive: the console is subscribed to them
LIVE_EVENTS_WINDOW = timedelta(days=30)
#: the `event_type` of the metadata every digest message carries
METADATA_EVENT_TYPE = "tencent_meeting_replays"

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


class DigestSink(Protocol):
    """Where digests go (Slack). Raises DeliveryRefused for a permanent refusal and
    DeliveryDeferred when the delivery should be tried again later."""

    async def deliver(
        self,
        recipient: Recipient,
        meeting: MeetingReplays,
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
        meeting: MeetingReplays,
        new: MeetingReplays,
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


def subject_matches(subject: str, words: str) -> bool:
    """Whether a `subscribe match <words>` filter lets this subject through (no filter: all)."""
    return words.casefold() in subject.casefold() if words else True


def same_occurrence(a: EndedMeeting, b: EndedMeeting) -> bool:
    """Whether two jobs of one meeting are about the same occurrence, as far as can be told: the
    same sub-meeting or start time when both know it; otherwise (a poller's job knows neither) the
    give-up window the caller looks in decides."""
    if a.sub_meeting_id and b.sub_meeting_id:
        return a.sub_meeting_id == b.sub_meeting_id
    if a.start_time is not None and b.start_time is not None:
        return a.start_time == b.start_time
    return True


def part_key(recipient: Recipient, part: int) -> str:
    """The delivery key of message `part` (from 0) of a place's digest."""
    return f"{recipient.key}#{part}"


def update_key(recipient: Recipient, replays: Iterable[LiveReplay]) -> str:
    """The delivery key of a place having been shown these replays (first post or update)."""
    joined = "\n".join(sorted(replay_key(r) for r in replays))
    return f"{recipient.key}#u{hashlib.sha256(joined.encode()).hexdigest()[:16]}"


def try_key(recipient: Recipient) -> str:
    """Noted before the first post to a place: a later run seeing it without the full delivery
    knows an earlier try may have posted."""
    return f"{recipient.key}#try"


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

    async def all_meetings_creators(self) -> list[str]:
        """Every creator userid some channel subscribed to all (or a filter) of the meetings of."""
        return await self._storage.subscriptions.all_meetings_creators()

    async def history_read_until(self, userid: str) -> datetime | None:
        """The end of the last window of this creator's meeting history the poller read."""
        return await self._storage.poll_windows.window_end(userid)

    async def history_read(self, userid: str, until: datetime) -> None:
        """Note that this creator's history was read up to `until` (never moves back)."""
        await self._storage.poll_windows.advance(userid, until)

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

    async def _creator_slack_id(self, userid: str) -> str | None:
        links = await self._storage.links.for_tencent_user(userid)
        return links[0].slack_user_id if links else None

    async def work(self, job: DigestJob) -> Verdict:
        """One run of a job: post what is new to whoever has not had it yet (updating the place's
        message when it has one), or say when to look again."""
        meeting_id = job.meeting.meeting_id
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
        found = [(m, only_new_replays(m, posted | own)) for m in result.meetings]
        whole, meeting = next(((w, m) for w, m in found if m.live_replay_list), (None, None))
        about = DigestAbout(
            job.meeting,
            await self._creator_slack_id(job.meeting.creator_userid),
            f"job{job.id}",
            job.created_at,
        )
        if meeting is None or whole is None:
            return await self._nothing_new(job, result.problem, streamed, recipients, about)
        delivered = await jobs.deliveries(job.id)
        for recipient in recipients:
            try:
                await self._serve(job, recipient, whole, meeting, about, delivered)
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
        keys = tuple(sorted(own | {replay_key(r) for r in meeting.live_replay_list}))
        if streamed and not self._queue.past_give_up(job):
            # It went live: a second live room's replay, or a late one, may still come.
            return Verdict(None, keys)
        return Verdict(JobState.POSTED, keys)

    async def _nothing_new(
        self,
        job: DigestJob,
        problem: LookupProblem | None,
        streamed: bool | None,
        recipients: Sequence[Recipient],
        about: DigestAbout,
    ) -> Verdict:
        meeting_id = job.meeting.meeting_id
        own = tuple(sorted(job.posted_replays))
        if problem not in _WORTH_RETRYING:
            log.warning("digest for meeting %s stopped: %s", meeting_id, problem)
            return Verdict(JobState.POSTED if own else JobState.FAILED, own)
        if own:  # following a meeting that went live after its digest went out
            if self._queue.past_give_up(job):
                return Verdict(JobState.POSTED, own)
            return Verdict(None, own)
        if streamed is False:
            # Live events arrive and this meeting never went live: it has no replay to wait for.
            log.info("meeting %s did not go live: one look, no more", meeting_id)
            return Verdict(JobState.GAVE_UP)
        if self._queue.past_give_up(job):
            log.info("no replay appeared for meeting %s; giving up", meeting_id)
            if streamed:
                await self._tell_creator(job, recipients, about)
            return Verdict(JobState.GAVE_UP)
        return Verdict.retry()

    async def _tell_creator(
        self, job: DigestJob, recipients: Sequence[Recipient], about: DigestAbout
    ) -> None:
        """One DM to each linked Slack user of the creator (who has digest DMs on) saying that no
        replay came; channels hear nothing."""
        jobs = self._storage.digest_jobs
        delivered = await jobs.deliveries(job.id)
        for recipient in recipients:
            key = f"{recipient.key}#gave_up"
            if recipient.kind != "dm" or key in delivered:
                continue
            try:
                await self._sink.gave_up(recipient, about=about, waited=self._queue.timing.give_up)
            except DeliveryRefused as refusal:
                log.warning("give-up note to %s refused: %s", recipient.key, refusal)
            await jobs.record_delivery(job.id, key)

    async def _serve(
        self,
        job: DigestJob,
        recipient: Recipient,
        whole: MeetingReplays,
        new: MeetingReplays,
        about: DigestAbout,
        delivered: set[str],
    ) -> None:
        """Bring one place up to date with the `new` replays: its first digest, or an update of
        the digest it has."""
        jobs = self._storage.digest_jobs
        shown_key = update_key(recipient, new.live_replay_list)
        if shown_key in delivered:
            return
        target = await self._message_of(job, recipient)
        if target is None:
            if recipient.key in delivered:
                return
            prefix = f"{recipient.key}#"
            parts = frozenset(
                int(k[len(prefix) :])
                for k in delivered
                if k.startswith(prefix) and k[len(prefix) :].isdigit()
            )
            look_first = try_key(recipient) in delivered
            if not look_first:
                await jobs.record_delivery(job.id, try_key(recipient))

            async def record(part: int, channel: str, ts: str) -> None:
                await jobs.record_delivery(
                    job.id, part_key(recipient, part), channel=channel, ts=ts
                )

            await self._sink.deliver(
                recipient, new, about=about, posted=parts, record=record, look_first=look_first
            )
            await jobs.record_delivery(job.id, recipient.key)
            await jobs.record_delivery(job.id, shown_key)
            return
        owner, messages = target
        shown = await self._shown_in_place(job, owner, new)
        everything = whole.model_copy(
            update={
                "live_replay_list": [r for r in whole.live_replay_list if replay_key(r) in shown]
            }
        )

        async def record_reply(channel: str, ts: str) -> None:
            await jobs.record_delivery(job.id, shown_key, channel=channel, ts=ts)

        await self._sink.update(
            recipient, messages, everything, new, about=about, record_reply=record_reply
        )
        await jobs.record_delivery(job.id, recipient.key)

    async def _message_of(
        self, job: DigestJob, recipient: Recipient
    ) -> tuple[DigestJob, list[PostedPart]] | None:
        """The digest this place has of this meeting, posted in full within the give-up time
        (by this job or an earlier one), as its job and its parts in order; None when none."""
        jobs = self._storage.digest_jobs
        since = job.created_at - timedelta(seconds=self._queue.timing.give_up)
        prefix = f"{recipient.key}#"
        messages = await jobs.place_messages(job.meeting.meeting_id, prefix, since=since)
        by_job: dict[int, list[PostedPart]] = {}
        for message in messages:
            if message.key[len(prefix) :].isdigit():
                by_job.setdefault(message.job_id, []).append(message)
        for job_id, parts in sorted(by_job.items()):
            if recipient.key in await jobs.deliveries(job_id):
                owner = job if job_id == job.id else await jobs.get(job_id)
                if owner is not None and same_occurrence(owner.meeting, job.meeting):
                    parts.sort(key=lambda m: int(m.key[len(prefix) :]))
                    return owner, parts
        return None

    async def _shown_in_place(
        self, job: DigestJob, owner: DigestJob, new: MeetingReplays
    ) -> set[str]:
        """The replays the place's message shows once updated: those posted by the jobs of this
        meeting since its owner was made, and the new ones."""
        shown = {replay_key(r) for r in new.live_replay_list}
        shown.update(job.posted_replays)
        for other in await self._storage.digest_jobs.for_meeting(job.meeting.meeting_id):
            if other.created_at >= owner.created_at and other.state is not JobState.SKIPPED:
                shown.update(other.posted_replays)
        return shown
