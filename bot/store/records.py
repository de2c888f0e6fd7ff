"""What the store hands out: frozen snapshots of rows, never ORM objects tied to a session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# A job is 'pending' (leased or not) until a worker finishes it with one of these.
# 'no_recipients': nobody wanted this digest (no subscribed channel, creator's DM off or unlinked),
# so the job ended without asking Tencent at all.
DIGEST_OUTCOMES: frozenset[str] = frozenset({"posted", "gave_up", "failed", "no_recipients"})
# Never worked on: replays the poller found already there, recorded so that they are not posted.
SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class NewDigest:
    """A digest job to create: one ended occurrence of a meeting, first due at `due_at`."""

    occurrence_key: str
    meeting_id: str
    meeting_code: str
    subject: str
    creator_userid: str
    team_id: str | None
    due_at: datetime


@dataclass(frozen=True, slots=True)
class Link:
    """A Slack user's Tencent Meeting userid, and how we came to trust it.

    method: 'self_verified' (emails matched when they linked themselves), 'admin' (linked by
    `linked_by`, an admin) or 'email_match' (found by email without asking).
    """

    team_id: str
    slack_user_id: str
    tencent_userid: str
    method: str
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


@dataclass(frozen=True, slots=True)
class DigestJob:
    """Durable work: post the replays of one ended meeting once they exist.

    state: 'pending' until finished as one of DIGEST_OUTCOMES, or 'skipped' from the start. A
    pending job with a lease_owner whose lease_until is still ahead is being worked on by that
    worker.

    occurrence_key: unique per occurrence of a meeting (recurring meetings share meeting_id);
    jobs created before revision 0003 have their meeting_id here.
    posted_replays: the keys of the replays the job posted (see `bot.core.digests.replay_key`);
    for a 'skipped' job, those it recorded as known. Either way, no later job posts them.
    """

    id: int
    meeting_id: str
    meeting_code: str
    subject: str
    creator_userid: str
    team_id: str | None
    state: str
    attempts: int
    created_at: datetime
    due_at: datetime
    lease_owner: str | None
    lease_until: datetime | None
    finished_at: datetime | None
    occurrence_key: str
    posted_replays: tuple[str, ...] = ()
