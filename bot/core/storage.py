"""The storage the core needs, declared as Protocols; `bot.store` implements them on SQLite or
PostgreSQL, `bot.store.memory` in memory (for the core's own tests).

Every implementation translates its own failures into the two exceptions below at its edge, so
that no caller ever needs to know which database (or driver) is underneath.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from bot.core.records import (
    DigestBacklog,
    DigestJob,
    EndedMeeting,
    Instance,
    JobState,
    Link,
    LinkMethod,
    NewDigest,
    Subscription,
    Visibility,
    WebhookNote,
)


class StorageUnavailable(Exception):
    """The storage cannot be reached or failed as a whole (server down, connection refused,
    timeout): the operation may succeed later, unchanged."""


class StorageRejected(Exception):
    """The storage refused this one operation's values (a constraint, a value it cannot hold):
    trying again unchanged will fail again."""


#: what `DigestJobStore.finish` may close a job as: not PENDING (that is no end) nor SKIPPED (never
#: worked on)
FINISHED_STATES: frozenset[JobState] = frozenset(
    {JobState.POSTED, JobState.GAVE_UP, JobState.FAILED, JobState.NO_RECIPIENTS}
)


def require_finished(outcome: JobState) -> None:
    """ValueError unless `outcome` is one `DigestJobStore.finish` may close a job as."""
    if outcome not in FINISHED_STATES:
        allowed = sorted(state.value for state in FINISHED_STATES)
        raise ValueError(f"outcome must be one of {allowed}, not {outcome!r}")


def created_in_order(jobs: Sequence[NewDigest], created: set[str]) -> list[bool]:
    """`DigestJobStore.enqueue`'s answer: for each job, whether its occurrence key is among those
    `created`, and only for the first job of each key (a repeat later in `jobs` was not created)."""
    remaining = set(created)
    answers = []
    for job in jobs:
        answers.append(job.meeting.occurrence_key in remaining)
        remaining.discard(job.meeting.occurrence_key)
    return answers


class LinkStore(Protocol):
    async def get(self, team_id: str, slack_user_id: str) -> Link | None: ...

    async def save(
        self,
        team_id: str,
        slack_user_id: str,
        tencent_userid: str,
        *,
        method: LinkMethod,
        linked_by: str,
    ) -> Link:
        """Link (or re-link) a Slack user; keeps the first created_at, returns the stored link."""
        ...

    async def delete(self, team_id: str, slack_user_id: str) -> Link | None:
        """Remove a link; returns what was removed, None when there was none."""
        ...

    async def for_tencent_user(self, tencent_userid: str) -> list[Link]:
        """Every Slack user linked to this userid, ordered by (team_id, slack_user_id)."""
        ...


class PreferenceStore(Protocol):
    async def dm_digests_enabled(self, team_id: str, slack_user_id: str) -> bool:
        """True unless the user turned digest DMs off."""
        ...

    async def set_dm_digests(self, team_id: str, slack_user_id: str, enabled: bool) -> None: ...


class SubscriptionStore(Protocol):
    async def add(
        self,
        team_id: str,
        channel_id: str,
        tencent_userid: str,
        meeting_code: str | None,
        *,
        created_by: str,
        subject_match: str = "",
    ) -> bool:
        """Subscribe a channel (to every meeting when `meeting_code` is None, only to those whose
        subject contains `subject_match` when it is not ''); False when it was subscribed
        already."""
        ...

    async def remove(
        self,
        team_id: str,
        channel_id: str,
        tencent_userid: str,
        meeting_code: str | None,
        *,
        subject_match: str = "",
    ) -> bool:
        """Remove one subscription (the one with this filter); False when there was none."""
        ...

    async def in_channel(self, team_id: str, channel_id: str) -> list[Subscription]: ...

    async def for_meeting(self, tencent_userid: str, meeting_code: str) -> list[Subscription]:
        """Who wants a digest of this meeting: the all-meetings subscriptions and this code's."""
        ...

    async def watched_codes(self) -> list[tuple[str, str]]:
        """Every distinct (tencent_userid, meeting_code) that some channel subscribed to by code."""
        ...

    async def made_by(self, team_id: str, slack_user_id: str) -> list[Subscription]:
        """The subscriptions this Slack user made, in any channel, ordered like `in_channel`."""
        ...

    async def all_meetings_creators(self) -> list[str]:
        """Every distinct tencent_userid that some channel subscribed to without a code (all their
        meetings, filtered or not), in order."""
        ...


class MeetingStore(Protocol):
    """What the app learned about meetings that Tencent will not say again for free: who created
    a meeting, and who is *not* its creator (an attendee). Both never change for a meeting ID."""

    async def learn_creator(self, meeting_id: str, meeting_code: str, creator_userid: str) -> None:
        """Remember (or confirm, refreshing when it was learned) a meeting's creator."""
        ...

    async def creator_by_id(self, meeting_id: str) -> str | None: ...

    async def creator_by_code(self, meeting_code: str, *, learned_since: datetime) -> str | None:
        """The creator of the meeting with this code learned most recently, if at or after
        `learned_since` (codes are recycled, so older knowledge of a code is not trusted)."""
        ...

    async def note_not_creator(self, meeting_id: str, userid: str) -> None:
        """Remember that Tencent said `userid` did not create this meeting (idempotent)."""
        ...

    async def not_creator_of(self, userid: str, meeting_ids: Collection[str]) -> set[str]:
        """Which of `meeting_ids` this userid is known not to have created."""
        ...


class VisibilityStore(Protocol):
    async def get(self, team_id: str, creator_userid: str) -> Visibility:
        """The creator's setting in this workspace; `Visibility.ME` unless they chose otherwise."""
        ...

    async def set(
        self, team_id: str, creator_userid: str, visibility: Visibility, *, set_by: str
    ) -> None: ...


class SeenEvents(Protocol):
    async def first_sighting(self, key: str) -> bool:
        """True for the first caller ever with this key, in any process; False for repeats."""
        ...

    async def forget_before(self, cutoff: datetime, *, prefix: str) -> int:
        """Delete the keys starting with `prefix` first seen before `cutoff`; returns how many."""
        ...


class DigestJobStore(Protocol):
    async def enqueue(self, jobs: Sequence[NewDigest]) -> list[bool]:
        """Create jobs in one transaction; for each, whether it was created (False when a job with
        its occurrence key existed, or came earlier in `jobs`)."""
        ...

    async def record_known_replays(self, meeting: EndedMeeting, replay_keys: Iterable[str]) -> bool:
        """Note replays that must never be posted, as a SKIPPED job; False if a job with this
        occurrence key exists already."""
        ...

    async def claim_due(
        self, *, worker_id: str, now: datetime, lease_seconds: float, limit: int
    ) -> list[DigestJob]:
        """Lease up to `limit` PENDING jobs that are due and not leased (or whose lease ran out),
        earliest due first; no job is handed to two workers while its lease holds."""
        ...

    async def next_due(self) -> datetime | None:
        """When the earliest unleased PENDING job falls due (None when there is none), so that a
        worker can sleep exactly until then instead of polling."""
        ...

    async def renew_lease(self, job_id: int, *, worker_id: str, until: datetime) -> bool:
        """Extend `worker_id`'s lease on a PENDING job; False if it no longer holds it."""
        ...

    async def reschedule(
        self,
        job_id: int,
        *,
        worker_id: str,
        due_at: datetime,
        attempts: int,
        posted_replays: Iterable[str] | None = None,
    ) -> bool:
        """Release a leased job to run again at `due_at` (noting the replays it posted so far,
        when given); False if `worker_id` lost the lease."""
        ...

    async def finish(
        self, job_id: int, *, worker_id: str, outcome: JobState, posted_replays: Iterable[str] = ()
    ) -> bool:
        """Close a leased job for good (any state but PENDING and SKIPPED), noting the replays it
        posted; False if `worker_id` lost the lease."""
        ...

    async def record_delivery(
        self, job_id: int, recipient: str, *, channel: str | None = None, ts: str | None = None
    ) -> bool:
        """Note that (a part of) a digest went to `recipient`, as Slack message `ts` in `channel`
        when given; True only the first time, in any process. A job that does not exist is
        refused (`StorageRejected`)."""
        ...

    async def place_messages(
        self, meeting_id: str, place_prefix: str, *, since: datetime
    ) -> list[PostedPart]:
        """The recorded Slack messages (deliveries with a ts) of jobs of this meeting created at
        or after `since`, whose delivery key starts with `place_prefix`; by job id, then key."""
        ...

    async def deliveries(self, job_id: int) -> set[str]: ...

    async def replays_posted_for_meeting(
        self, meeting_id: str, *, excluding_job: int | None = None
    ) -> set[str]:
        """The replay keys that jobs of this meeting (every occurrence) have posted or skipped."""
        ...

    async def for_meeting(self, meeting_id: str) -> list[DigestJob]:
        """Every job of this meeting, oldest first."""
        ...

    async def get(self, job_id: int) -> DigestJob | None: ...


@dataclass(frozen=True, slots=True)
class PostedPart:
    """A recorded digest message: which job, which delivery key, and where it is in Slack."""

    job_id: int
    key: str
    channel: str
    ts: str


class LiveMeetingStore(Protocol):
    async def mark_live(self, meeting_id: str, *, seen_at: datetime) -> None:
        """Note that this meeting went live (`meeting.live-started`); repeats keep the newest."""
        ...

    async def went_live(self, meeting_id: str) -> bool: ...

    async def latest(self) -> datetime | None:
        """When the newest live-started event was seen; None when none ever was."""
        ...


class PollWindowStore(Protocol):
    """How far the poller has read each creator's meeting history (`poll_windows`)."""

    async def window_end(self, tencent_userid: str) -> datetime | None:
        """The end of the last history window read for this creator; None before the first."""
        ...

    async def advance(self, tencent_userid: str, window_end: datetime) -> None:
        """Note that the history up to `window_end` was read; an earlier end than the stored one
        changes nothing (instances polling together only ever move it forward)."""
        ...


class OpsStore(Protocol):
    """What the people who run the app see (`bot.core.status`): each instance's heartbeat row
    with the last webhook delivery it received, and the digest backlog."""

    async def beat(self, instance: Instance) -> None:
        """Create or refresh this instance's row (its `last_seen` and the rest)."""
        ...

    async def alive(self, since: datetime) -> list[Instance]:
        """Instances seen at or after `since`, earliest started first."""
        ...

    async def forget_before(self, cutoff: datetime) -> int:
        """Delete the rows of instances last seen before `cutoff`; returns how many."""
        ...

    async def record_webhook(self, instance_id: str, outcome: str, at: datetime) -> None:
        """Note the latest webhook delivery this instance received; nothing happens for an
        instance without a row."""
        ...

    async def last_webhook(self) -> WebhookNote | None:
        """The newest delivery any instance noted."""
        ...

    async def digest_backlog(self, now: datetime) -> DigestBacklog:
        """How many digest jobs are in each state, and those due at `now` that no worker holds
        (what a worker would claim next)."""
        ...


@dataclass(frozen=True)
class Storage:
    """Everything durable, one implementation of each part, as the composition root hands it out."""

    links: LinkStore
    preferences: PreferenceStore
    subscriptions: SubscriptionStore
    events: SeenEvents
    digest_jobs: DigestJobStore
    meetings: MeetingStore
    visibility: VisibilityStore
    live: LiveMeetingStore
    poll_windows: PollWindowStore
    ops: OpsStore
