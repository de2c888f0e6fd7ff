"""The values the core works with and the storage hands back: frozen snapshots, never rows tied to
a database session, and the states they can be in as `StrEnum`s."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final, Literal


class LinkMethod(StrEnum):
    """How a Slack user's Tencent Meeting userid came to be trusted."""

    #: the Tencent user's email equalled the caller's Slack email when they linked themselves
    SELF_VERIFIED = "self_verified"
    #: an admin (`Link.linked_by`) linked them
    ADMIN = "admin"
    #: found by email in Tencent's directory without asking
    EMAIL_MATCH = "email_match"


class Visibility(StrEnum):
    """Who may look up the replays of the meetings a creator made (their choice)."""

    #: only the creator (the default, and what Tencent itself allows)
    ME = "me"
    #: any full member (not a guest) of the creator's Slack workspace
    WORKSPACE = "workspace"


class JobState(StrEnum):
    """Where a digest job is. PENDING until a worker finishes it with one of the others."""

    PENDING = "pending"
    #: its replays were posted to every recipient
    POSTED = "posted"
    #: no replay appeared before the give-up time
    GAVE_UP = "gave_up"
    #: Tencent refused for good (not the creator, misconfigured) or posting kept failing
    FAILED = "failed"
    #: nobody wanted this digest (no subscribed channel, the creator's DM off or unlinked)
    NO_RECIPIENTS = "no_recipients"
    #: never worked on: replays the poller found already there, kept so that they are not posted
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class EndedMeeting:
    """One ended occurrence of a meeting, as a webhook or the poller learns of it.

    `occurrence_key` is equal for redeliveries of one end and differs between occurrences of a
    recurring meeting (which share `meeting_id`).
    """

    occurrence_key: str
    meeting_id: str
    meeting_code: str
    subject: str
    creator_userid: str
    #: what the digest says about the meeting, when the event (or history query) told us
    start_time: datetime | None = None
    end_time: datetime | None = None
    #: the creator's Tencent user name, shown when they are not linked to a Slack user
    creator_name: str = ""
    #: 0 a one-off meeting, 1 a recurring one
    meeting_type: int = 0
    #: which occurrence of a recurring meeting ended
    sub_meeting_id: str = ""

    @property
    def recording_event(self) -> RecordingEvent | None:
        """Which recording event made this job (its occurrence key says); None for a meeting's
        end or replays the poller found."""
        kind = self.occurrence_key.split(":", 1)[0]
        if kind == RECORDING_COMPLETED:
            return RECORDING_COMPLETED
        if kind == RECORDING_DELETED:
            return RECORDING_DELETED
        return None

    @property
    def deleted_files(self) -> tuple[str, ...]:
        """The `record_file_id`s a `recording.deleted` job removes (its occurrence key holds them)."""
        if self.recording_event != RECORDING_DELETED:
            return ()
        listed = self.occurrence_key.split(":")[2]
        return tuple(file_id for file_id in listed.split(",") if file_id)


RECORDING_COMPLETED: Final = "recording.completed"
RECORDING_DELETED: Final = "recording.deleted"
RecordingEvent = Literal["recording.completed", "recording.deleted"]
#: the file ids a deletion's occurrence key spells out; more are summed up by a hash
_DELETED_IDS_IN_KEY = 40


def recording_occurrence_key(
    event: RecordingEvent, meeting_id: str, record_file_ids: Iterable[str]
) -> str:
    """The occurrence key of a recording event's job: equal for redeliveries of one event (the
    same files), distinct for another event of the same meeting. A deletion's key lists the
    removed files, so that its job knows them without a column of its own."""
    ids = sorted({file_id.replace(",", "").replace(":", "") for file_id in record_file_ids})
    digest = hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]
    if event == RECORDING_DELETED:
        return f"{event}:{meeting_id}:{','.join(ids[:_DELETED_IDS_IN_KEY])}:{digest}"
    return f"{event}:{meeting_id}:{digest}"


@dataclass(frozen=True, slots=True)
class RecordingChange:
    """A `recording.completed` or `recording.deleted` event's news of one meeting: the meeting as
    the event told it (its `occurrence_key` that of the event's job) and the files concerned."""

    event: RecordingEvent
    meeting: EndedMeeting
    record_file_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NewDigest:
    """A digest job to create: an ended meeting, first due at `due_at`."""

    meeting: EndedMeeting
    due_at: datetime


@dataclass(frozen=True, slots=True)
class Link:
    """A Slack user's Tencent Meeting userid, and how we came to trust it."""

    team_id: str
    slack_user_id: str
    tencent_userid: str
    method: LinkMethod
    linked_by: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Subscription:
    """A channel that wants digests of a Tencent user's meetings (all of them when code is None)."""

    team_id: str
    channel_id: str
    tencent_userid: str
    meeting_code: str | None
    created_by: str
    created_at: datetime
    #: only meetings whose subject contains these words (case-insensitive); '' for every one
    subject_match: str = ""


@dataclass(frozen=True, slots=True)
class DigestJob:
    """Durable work: post the replays of one ended meeting once they exist.

    A PENDING job with a `lease_owner` whose `lease_until` is still ahead is being worked on by
    that worker. `posted_replays`: the keys of the replays the job posted
    (`bot.core.meetings.LiveReplay.key`); for a SKIPPED job, those it recorded as known. Either
    way, no later job posts them.
    """

    id: int
    meeting: EndedMeeting
    state: JobState
    attempts: int
    created_at: datetime
    due_at: datetime
    lease_owner: str | None
    lease_until: datetime | None
    finished_at: datetime | None
    posted_replays: tuple[str, ...] = ()


@dataclass(frozen=True)
class Instance:
    """One running instance, as its heartbeat row says."""

    instance_id: str
    host: str
    version: str
    started_at: datetime
    last_seen: datetime


@dataclass(frozen=True)
class WebhookNote:
    """A Tencent webhook delivery as some instance received it; `outcome` is a label of
    `bot.metrics.webhook_outcome` (accepted, refused, unavailable, not_configured)."""

    at: datetime
    outcome: str
    instance_id: str


@dataclass(frozen=True)
class DigestBacklog:
    #: every state that has jobs, with how many
    by_state: Mapping[str, int]
    #: pending jobs whose time has come (due_at <= now)
    due: int
    #: when the earliest of those fell due; None when none is due
    oldest_due_at: datetime | None

    def oldest_due_age(self, now: datetime) -> float:
        """Seconds the oldest due job has waited (0 when none is due)."""
        if self.oldest_due_at is None:
            return 0.0
        return max((now - self.oldest_due_at).total_seconds(), 0.0)
