"""The schema at head, as SQLAlchemy Core tables; the Alembic revisions must build exactly this.

tests/store checks that migrating an empty database to head gives this schema, so the two cannot
drift apart silently.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

# Named constraints so that later revisions can alter them by name on both dialects.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC datetimes at the API on both dialects.

    PostgreSQL keeps `timestamptz`. SQLite has no time zones, so values are stored as naive UTC in
    SQLAlchemy's fixed-width text format, which makes comparisons in SQL order correctly.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            # A naive value would be silently read as UTC on SQLite and as local time on
            # PostgreSQL; refusing it catches the bug where it is made.
            raise ValueError(f"naive datetime {value!r}: pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


links = sa.Table(
    "links",
    metadata,
    sa.Column("team_id", sa.Text, primary_key=True),
    sa.Column("slack_user_id", sa.Text, primary_key=True),
    sa.Column("tencent_userid", sa.Text, nullable=False, index=True),
    sa.Column("method", sa.Text, nullable=False),
    sa.Column("linked_by", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

seen_events = sa.Table(
    "seen_events",
    metadata,
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("seen_at", UTCDateTime, nullable=False, index=True),
)

# meeting_code '' means "every meeting": NULL would make the primary key useless for idempotence.
subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("team_id", sa.Text, primary_key=True),
    sa.Column("channel_id", sa.Text, primary_key=True),
    sa.Column("tencent_userid", sa.Text, primary_key=True),
    sa.Column("meeting_code", sa.Text, primary_key=True, server_default=""),
    # words the subject must contain (`subscribe match <words>`), '' for no filter
    sa.Column("subject_match", sa.Text, primary_key=True, server_default=""),
    sa.Column("created_by", sa.Text, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index(None, "tencent_userid", "meeting_code"),
)

user_prefs = sa.Table(
    "user_prefs",
    metadata,
    sa.Column("team_id", sa.Text, primary_key=True),
    sa.Column("slack_user_id", sa.Text, primary_key=True),
    sa.Column("dm_digests", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

# One job per occurrence of a meeting: a recurring meeting keeps its meeting_id across occurrences,
# so the occurrence key (`EndedMeeting.occurrence_key`) is what must be unique, not the meeting.
digest_jobs = sa.Table(
    "digest_jobs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("meeting_id", sa.Text, nullable=False, index=True),
    sa.Column("meeting_code", sa.Text, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("creator_userid", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("due_at", UTCDateTime, nullable=False),
    sa.Column("lease_owner", sa.Text, nullable=True),
    sa.Column("lease_until", UTCDateTime, nullable=True),
    sa.Column("finished_at", UTCDateTime, nullable=True),
    sa.Column("occurrence_key", sa.Text, nullable=False, unique=True),
    # JSON list of the replays this job posted (`replay_key`s), so that a later occurrence of the
    # same meeting posts only the replays that are new.
    sa.Column("posted_replays", sa.Text, nullable=True),
    # What a digest says about the meeting (from `meeting.end` or the history query); empty for
    # jobs made before they were kept.
    sa.Column("start_time", UTCDateTime, nullable=True),
    sa.Column("end_time", UTCDateTime, nullable=True),
    sa.Column("creator_name", sa.Text, nullable=False, server_default=""),
    sa.Column("meeting_type", sa.Integer, nullable=False, server_default="0"),
    sa.Column("sub_meeting_id", sa.Text, nullable=False, server_default=""),
    sa.CheckConstraint(
        "state IN ('pending', 'posted', 'gave_up', 'failed', 'no_recipients', 'skipped')",
        name="state",
    ),
    sa.Index(None, "state", "due_at"),
)

digest_deliveries = sa.Table(
    "digest_deliveries",
    metadata,
    sa.Column(
        "job_id",
        sa.Integer,
        sa.ForeignKey("digest_jobs.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("recipient", sa.Text, primary_key=True),
    sa.Column("delivered_at", UTCDateTime, nullable=False),
    # the Slack message of a part (its channel and ts), so that later replays update it
    sa.Column("channel", sa.Text, nullable=True),
    sa.Column("ts", sa.Text, nullable=True),
)

# Meetings a `meeting.live-started` event said went live; the newest `seen_at` also tells whether
# such events arrive at all (the console may not be subscribed to them).
live_meetings = sa.Table(
    "live_meetings",
    metadata,
    sa.Column("meeting_id", sa.Text, primary_key=True),
    sa.Column("seen_at", UTCDateTime, nullable=False, index=True),
)

# Per creator, the end of the last window of their meeting history the poller has read.
poll_windows = sa.Table(
    "poll_windows",
    metadata,
    sa.Column("tencent_userid", sa.Text, primary_key=True),
    sa.Column("window_end", UTCDateTime, nullable=False),
)

# One row per running instance, upserted by its heartbeat; the status command reads them all.
instances = sa.Table(
    "instances",
    metadata,
    sa.Column("instance_id", sa.Text, primary_key=True),
    sa.Column("host", sa.Text, nullable=False),
    sa.Column("version", sa.Text, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("last_seen", UTCDateTime, nullable=False, index=True),
    sa.Column("last_webhook_at", UTCDateTime, nullable=True),
    sa.Column("last_webhook_outcome", sa.Text, nullable=True),
)

# What Tencent told about meetings, kept because asking again costs a call: a meeting's creator
# (learned from `meeting.end` and from the creator's own look-ups) and who is not its creator.
meeting_creators = sa.Table(
    "meeting_creators",
    metadata,
    sa.Column("meeting_id", sa.Text, primary_key=True),
    sa.Column("meeting_code", sa.Text, nullable=False, index=True),
    sa.Column("creator_userid", sa.Text, nullable=False),
    sa.Column("learned_at", UTCDateTime, nullable=False),
)

not_creators = sa.Table(
    "not_creators",
    metadata,
    sa.Column("meeting_id", sa.Text, primary_key=True),
    sa.Column("userid", sa.Text, primary_key=True),
    sa.Column("noted_at", UTCDateTime, nullable=False),
    # the recent list asks "which of these meetings is this user not the creator of"
    sa.Index(None, "userid", "meeting_id"),
)

creator_visibility = sa.Table(
    "creator_visibility",
    metadata,
    sa.Column("team_id", sa.Text, primary_key=True),
    sa.Column("creator_userid", sa.Text, primary_key=True),
    sa.Column("visibility", sa.Text, nullable=False),
    sa.Column("set_by", sa.Text, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.CheckConstraint("visibility IN ('me', 'workspace')", name="visibility"),
)
