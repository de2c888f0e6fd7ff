"""What the store hands out: frozen snapshots of rows, never ORM objects tied to a session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# A job is 'pending' (leased or not) until a worker finishes it with one of these.
DIGEST_OUTCOMES: frozenset[str] = frozenset({"posted", "gave_up", "failed"})


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

    state: 'pending' until finished as 'posted', 'gave_up' or 'failed'. A pending job with a
    lease_owner whose lease_until is still ahead is being worked on by that worker.
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
