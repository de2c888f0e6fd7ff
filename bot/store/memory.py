"""Every storage Protocol of `bot.core.storage` in memory, for fast tests of the core.

It keeps what the SQL stores promise, so that a test passing here means the same on a database:
leases and due times when claiming, the same orderings, first sightings, duplicates within one
batch, changes to a job only by its lease owner while it is PENDING, the refusal of naive datetimes
and of deliveries for jobs that do not exist (`StorageRejected`), and frozen snapshots handed out.
Orderings compare strings by code point, as SQLite and PostgreSQL's "C" collation do.

Each method runs without awaiting anything, so on one event loop it is as atomic as the SQL
statement it stands for. Nothing here imports SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.core.records import (
    DigestJob,
    EndedMeeting,
    JobState,
    Link,
    LinkMethod,
    NewDigest,
    Subscription,
    Visibility,
)
from bot.core.storage import (
    PostedPart,
    Storage,
    StorageRejected,
    created_in_order,
    require_finished,
)

# How a subscription to every meeting is keyed, as in the subscriptions table.
ALL_MEETINGS = ""


def memory_storage() -> Storage:
    """A fresh, empty `Storage` whose parts live in this process only."""
    return Storage(
        links=MemoryLinkStore(),
        preferences=MemoryPreferenceStore(),
        subscriptions=MemorySubscriptionStore(),
        events=MemorySeenEvents(),
        digest_jobs=MemoryDigestJobStore(),
        meetings=MemoryMeetingStore(),
        visibility=MemoryVisibilityStore(),
        live=MemoryLiveMeetingStore(),
        poll_windows=MemoryPollWindowStore(),
    )


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _utc(value: datetime) -> datetime:
    """`value` in UTC, as the database hands it back; a naive one is refused, as the SQL stores
    refuse it (it would mean UTC on SQLite and local time on PostgreSQL)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise StorageRejected(f"naive datetime {value!r}: pass an aware UTC datetime")
    return value.astimezone(UTC)


class MemoryLinkStore:
    """`bot.core.storage.LinkStore` in a dict."""

    def __init__(self) -> None:
        self._links: dict[tuple[str, str], Link] = {}

    async def get(self, team_id: str, slack_user_id: str) -> Link | None:
        return self._links.get((team_id, slack_user_id))

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
        now = _utcnow()
        old = self._links.get((team_id, slack_user_id))
        link = Link(
            team_id=team_id,
            slack_user_id=slack_user_id,
            tencent_userid=tencent_userid,
            method=LinkMethod(method),
            linked_by=linked_by,
            created_at=old.created_at if old else now,
            updated_at=now,
        )
        self._links[(team_id, slack_user_id)] = link
        return link

    async def delete(self, team_id: str, slack_user_id: str) -> Link | None:
        """Remove a link; returns what was removed, None when there was none."""
        return self._links.pop((team_id, slack_user_id), None)

    async def for_tencent_user(self, tencent_userid: str) -> list[Link]:
        """Every Slack user linked to this userid, ordered by (team_id, slack_user_id)."""
        ordered = [self._links[key] for key in sorted(self._links)]
        return [link for link in ordered if link.tencent_userid == tencent_userid]


class MemoryPreferenceStore:
    """`bot.core.storage.PreferenceStore` in a dict."""

    def __init__(self) -> None:
        self._dm_digests: dict[tuple[str, str], bool] = {}

    async def dm_digests_enabled(self, team_id: str, slack_user_id: str) -> bool:
        """True unless the user turned digest DMs off."""
        return self._dm_digests.get((team_id, slack_user_id), True)

    async def set_dm_digests(self, team_id: str, slack_user_id: str, enabled: bool) -> None:
        self._dm_digests[(team_id, slack_user_id)] = bool(enabled)


class MemorySubscriptionStore:
    """`bot.core.storage.SubscriptionStore` in a dict keyed like the table's primary key."""

    def __init__(self) -> None:
        self._subscriptions: dict[tuple[str, str, str, str, str], Subscription] = {}

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
        key = (team_id, channel_id, tencent_userid, meeting_code or ALL_MEETINGS, subject_match)
        if key in self._subscriptions:
            return False
        self._subscriptions[key] = Subscription(
            team_id=team_id,
            channel_id=channel_id,
            tencent_userid=tencent_userid,
            meeting_code=meeting_code or None,
            created_by=created_by,
            created_at=_utcnow(),
            subject_match=subject_match,
        )
        return True

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
        key = (team_id, channel_id, tencent_userid, meeting_code or ALL_MEETINGS, subject_match)
        return self._subscriptions.pop(key, None) is not None

    async def in_channel(self, team_id: str, channel_id: str) -> list[Subscription]:
        return [s for s in self._ordered() if (s.team_id, s.channel_id) == (team_id, channel_id)]

    async def for_meeting(self, tencent_userid: str, meeting_code: str) -> list[Subscription]:
        """Who wants a digest of this meeting: the all-meetings subscriptions and this code's."""
        return [
            s
            for s in self._ordered()
            if s.tencent_userid == tencent_userid
            and (s.meeting_code or ALL_MEETINGS) in (ALL_MEETINGS, meeting_code)
        ]

    async def watched_codes(self) -> list[tuple[str, str]]:
        """Every distinct (tencent_userid, meeting_code) that some channel subscribed to by code."""
        return sorted(
            {(s.tencent_userid, s.meeting_code) for s in self._ordered() if s.meeting_code}
        )

    async def made_by(self, team_id: str, slack_user_id: str) -> list[Subscription]:
        """The subscriptions this Slack user made, in any channel, ordered like `in_channel`."""
        return [s for s in self._ordered() if (s.team_id, s.created_by) == (team_id, slack_user_id)]

    async def all_meetings_creators(self) -> list[str]:
        """Every distinct tencent_userid that some channel subscribed to without a code."""
        return sorted({s.tencent_userid for s in self._ordered() if not s.meeting_code})

    def _ordered(self) -> list[Subscription]:
        return [self._subscriptions[key] for key in sorted(self._subscriptions)]


class MemorySeenEvents:
    """`bot.core.storage.SeenEvents` in a dict of when each key was first seen."""

    def __init__(self) -> None:
        self._seen_at: dict[str, datetime] = {}

    async def first_sighting(self, key: str) -> bool:
        """True for the first caller ever with this key; False for repeats."""
        if key in self._seen_at:
            return False
        self._seen_at[key] = _utcnow()
        return True

    async def forget_before(self, cutoff: datetime, *, prefix: str) -> int:
        """Delete the keys starting with `prefix` first seen before `cutoff`; returns how many."""
        cutoff = _utc(cutoff)
        old = [
            key
            for key, seen_at in self._seen_at.items()
            if seen_at < cutoff and key.startswith(prefix)
        ]
        for key in old:
            del self._seen_at[key]
        return len(old)


@dataclass(slots=True)
class _Job:
    """A row of the digest_jobs table; `DigestJob` is its frozen snapshot."""

    id: int
    meeting: EndedMeeting
    state: JobState
    attempts: int
    created_at: datetime
    due_at: datetime
    lease_owner: str | None = None
    lease_until: datetime | None = None
    finished_at: datetime | None = None
    #: None where the table holds NULL: no list was ever recorded
    posted_replays: tuple[str, ...] | None = None
    deliveries: set[str] = field(default_factory=set)
    #: delivery key → (channel, ts) of the Slack message, when recorded
    messages: dict[str, tuple[str, str]] = field(default_factory=dict)

    def snapshot(self) -> DigestJob:
        return DigestJob(
            id=self.id,
            meeting=self.meeting,
            state=self.state,
            attempts=self.attempts,
            created_at=self.created_at,
            due_at=self.due_at,
            lease_owner=self.lease_owner,
            lease_until=self.lease_until,
            finished_at=self.finished_at,
            posted_replays=self.posted_replays or (),
        )

    def claimable(self, now: datetime) -> bool:
        return (
            self.state is JobState.PENDING
            and self.due_at <= now
            and (self.lease_until is None or self.lease_until <= now)
        )


class MemoryDigestJobStore:
    """`bot.core.storage.DigestJobStore` in a dict of jobs by id (ids count up from 1)."""

    def __init__(self) -> None:
        self._jobs: dict[int, _Job] = {}
        self._by_key: dict[str, int] = {}
        self._last_id = 0

    async def enqueue(self, jobs: Sequence[NewDigest]) -> list[bool]:
        """Create jobs in one transaction; for each, whether it was created (False when a job with
        its occurrence key existed, or came earlier in `jobs`)."""
        # Check every value before changing anything: a refused batch leaves nothing behind.
        due = [_utc(job.due_at) for job in jobs]
        now = _utcnow()
        created: set[str] = set()
        # Created in key order, as the SQL store inserts them: ids then ascend in the same order.
        for job, due_at in sorted(
            zip(jobs, due, strict=True), key=lambda p: p[0].meeting.occurrence_key
        ):
            key = job.meeting.occurrence_key
            if key in self._by_key:
                continue
            self._add(job.meeting, state=JobState.PENDING, created_at=now, due_at=due_at)
            created.add(key)
        return created_in_order(jobs, created)

    async def record_known_replays(self, meeting: EndedMeeting, replay_keys: Iterable[str]) -> bool:
        """Note replays that must never be posted, as a SKIPPED job; False if a job with this
        occurrence key exists already."""
        keys = tuple(replay_keys)
        if meeting.occurrence_key in self._by_key:
            return False
        now = _utcnow()
        job = self._add(meeting, state=JobState.SKIPPED, created_at=now, due_at=now)
        job.finished_at = now
        job.posted_replays = keys
        return True

    async def claim_due(
        self, *, worker_id: str, now: datetime, lease_seconds: float, limit: int
    ) -> list[DigestJob]:
        """Lease up to `limit` PENDING jobs that are due and not leased (or whose lease ran out),
        earliest due first; no job is handed to two workers while its lease holds."""
        if limit <= 0:
            return []
        now = _utc(now)
        picked = sorted(
            (job for job in self._jobs.values() if job.claimable(now)),
            key=lambda job: (job.due_at, job.id),
        )[:limit]
        for job in picked:
            job.lease_owner = worker_id
            job.lease_until = now + timedelta(seconds=lease_seconds)
        return [job.snapshot() for job in picked]

    async def next_due(self) -> datetime | None:
        """When the earliest unleased PENDING job falls due; None when there is none."""
        due = [
            job.due_at
            for job in self._jobs.values()
            if job.state is JobState.PENDING and job.lease_owner is None
        ]
        return min(due, default=None)

    async def renew_lease(self, job_id: int, *, worker_id: str, until: datetime) -> bool:
        """Extend `worker_id`'s lease on a PENDING job; False if it no longer holds it."""
        until = _utc(until)
        job = self._owned(job_id, worker_id)
        if job is None:
            return False
        job.lease_until = until
        return True

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
        due_at = _utc(due_at)
        job = self._owned(job_id, worker_id)
        if job is None:
            return False
        job.due_at, job.attempts = due_at, attempts
        job.lease_owner = job.lease_until = None
        if posted_replays is not None:
            job.posted_replays = tuple(posted_replays) or None
        return True

    async def finish(
        self, job_id: int, *, worker_id: str, outcome: JobState, posted_replays: Iterable[str] = ()
    ) -> bool:
        """Close a leased job for good (any state but PENDING and SKIPPED), noting the replays it
        posted; False if `worker_id` lost the lease."""
        require_finished(outcome)
        posted = tuple(posted_replays)
        job = self._owned(job_id, worker_id)
        if job is None:
            return False
        job.state = JobState(outcome)
        job.finished_at = _utcnow()
        job.lease_owner = job.lease_until = None
        job.posted_replays = posted or None
        return True

    async def record_delivery(
        self, job_id: int, recipient: str, *, channel: str | None = None, ts: str | None = None
    ) -> bool:
        """Note that (a part of) a digest went to `recipient`; True only the first time. A job
        that does not exist is refused, as the table's foreign key refuses it."""
        job = self._jobs.get(job_id)
        if job is None:
            raise StorageRejected(f"no digest job {job_id} to record a delivery for")
        if recipient in job.deliveries:
            return False
        job.deliveries.add(recipient)
        if channel is not None and ts is not None:
            job.messages[recipient] = (channel, ts)
        return True

    async def place_messages(
        self, meeting_id: str, place_prefix: str, *, since: datetime
    ) -> list[PostedPart]:
        """The recorded Slack messages of this meeting's jobs created at or after `since` whose
        key starts with `place_prefix`; by job id, then key."""
        since = _utc(since)
        return [
            PostedPart(job.id, key, channel, ts)
            for _, job in sorted(self._jobs.items())
            if job.meeting.meeting_id == meeting_id and job.created_at >= since
            for key, (channel, ts) in sorted(job.messages.items())
            if key.startswith(place_prefix)
        ]

    async def deliveries(self, job_id: int) -> set[str]:
        job = self._jobs.get(job_id)
        return set(job.deliveries) if job else set()

    async def replays_posted_for_meeting(
        self, meeting_id: str, *, excluding_job: int | None = None
    ) -> set[str]:
        """The replay keys that jobs of this meeting (every occurrence) have posted or skipped."""
        posted: set[str] = set()
        for job in self._jobs.values():
            if job.meeting.meeting_id == meeting_id and job.id != excluding_job:
                posted.update(job.posted_replays or ())
        return posted

    async def for_meeting(self, meeting_id: str) -> list[DigestJob]:
        """Every job of this meeting, oldest first."""
        return [
            job.snapshot()
            for _, job in sorted(self._jobs.items())
            if job.meeting.meeting_id == meeting_id
        ]

    async def get(self, job_id: int) -> DigestJob | None:
        job = self._jobs.get(job_id)
        return job.snapshot() if job else None

    def _add(
        self, meeting: EndedMeeting, *, state: JobState, created_at: datetime, due_at: datetime
    ) -> _Job:
        self._last_id += 1
        job = _Job(
            id=self._last_id,
            meeting=meeting,
            state=state,
            attempts=0,
            created_at=created_at,
            due_at=due_at,
        )
        self._jobs[job.id] = job
        self._by_key[meeting.occurrence_key] = job.id
        return job

    def _owned(self, job_id: int, worker_id: str) -> _Job | None:
        """The job if `worker_id` holds its lease and it is PENDING, as the SQL WHERE tests."""
        job = self._jobs.get(job_id)
        if job is None or job.state is not JobState.PENDING or job.lease_owner != worker_id:
            return None
        return job


class MemoryMeetingStore:
    """`bot.core.storage.MeetingStore` in dicts."""

    def __init__(self) -> None:
        #: meeting_id -> (meeting_code, creator_userid, learned_at)
        self._creators: dict[str, tuple[str, str, datetime]] = {}
        self._not_creators: set[tuple[str, str]] = set()

    async def learn_creator(self, meeting_id: str, meeting_code: str, creator_userid: str) -> None:
        """Remember (or confirm, refreshing when it was learned) a meeting's creator."""
        old = self._creators.get(meeting_id)
        code = meeting_code or (old[0] if old else "")
        self._creators[meeting_id] = (code, creator_userid, _utcnow())

    async def creator_by_id(self, meeting_id: str) -> str | None:
        known = self._creators.get(meeting_id)
        return known[1] if known else None

    async def creator_by_code(self, meeting_code: str, *, learned_since: datetime) -> str | None:
        """The creator of the meeting with this code learned most recently, if at or after
        `learned_since` (codes are recycled, so older knowledge of a code is not trusted)."""
        learned_since = _utc(learned_since)
        matching = [
            (learned_at, creator)
            for code, creator, learned_at in self._creators.values()
            if code == meeting_code and learned_at >= learned_since
        ]
        return max(matching)[1] if matching else None

    async def note_not_creator(self, meeting_id: str, userid: str) -> None:
        """Remember that Tencent said `userid` did not create this meeting (idempotent)."""
        self._not_creators.add((meeting_id, userid))

    async def not_creator_of(self, userid: str, meeting_ids: Collection[str]) -> set[str]:
        """Which of `meeting_ids` this userid is known not to have created."""
        return {m for m in meeting_ids if (m, userid) in self._not_creators}


class MemoryVisibilityStore:
    """`bot.core.storage.VisibilityStore` in a dict."""

    def __init__(self) -> None:
        self._settings: dict[tuple[str, str], Visibility] = {}

    async def get(self, team_id: str, creator_userid: str) -> Visibility:
        return self._settings.get((team_id, creator_userid), Visibility.ME)

    async def set(
        self, team_id: str, creator_userid: str, visibility: Visibility, *, set_by: str
    ) -> None:
        self._settings[(team_id, creator_userid)] = Visibility(visibility)


class MemoryLiveMeetingStore:
    """`bot.core.storage.LiveMeetingStore` in a dict of meeting id → when it was seen live."""

    def __init__(self) -> None:
        self._seen: dict[str, datetime] = {}

    async def mark_live(self, meeting_id: str, *, seen_at: datetime) -> None:
        seen_at = _utc(seen_at)
        self._seen[meeting_id] = max(seen_at, self._seen.get(meeting_id, seen_at))

    async def went_live(self, meeting_id: str) -> bool:
        return meeting_id in self._seen

    async def latest(self) -> datetime | None:
        return max(self._seen.values(), default=None)


class MemoryPollWindowStore:
    """`bot.core.storage.PollWindowStore` in a dict of each creator's window end."""

    def __init__(self) -> None:
        self._ends: dict[str, datetime] = {}

    async def window_end(self, tencent_userid: str) -> datetime | None:
        return self._ends.get(tencent_userid)

    async def advance(self, tencent_userid: str, window_end: datetime) -> None:
        """Keep the later of the stored end and `window_end`."""
        end = _utc(window_end)
        stored = self._ends.get(tencent_userid)
        if stored is None or end > stored:
            self._ends[tencent_userid] = end
