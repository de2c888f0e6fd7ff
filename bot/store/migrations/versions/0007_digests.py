"""Digests worth reading: the meeting's times and creator kept with each job, the Slack message of
each delivery (channel and ts, so that later replays update it), which meetings went live, how far
the poller has read each creator's meeting history, and subscriptions filtered by subject words.

Every row stays: the new job columns are empty (NULL times, '' names) for jobs made before, the
new delivery columns NULL, and every existing subscription gets the empty filter ("no filter").
A downgrade drops what was added; it keeps every job and delivery, and of the subscriptions those
without a filter (a filtered one would collide with its unfiltered twin in the old primary key).

Revision ID: 0007
Revises: 0006
Create Date: 2025-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from bot.store.tables import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("digest_jobs") as batch:
        batch.add_column(sa.Column("start_time", UTCDateTime, nullable=True))
        batch.add_column(sa.Column("end_time", UTCDateTime, nullable=True))
        batch.add_column(sa.Column("creator_name", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("meeting_type", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("sub_meeting_id", sa.Text, nullable=False, server_default=""))
    with op.batch_alter_table("digest_deliveries") as batch:
        batch.add_column(sa.Column("channel", sa.Text, nullable=True))
        batch.add_column(sa.Column("ts", sa.Text, nullable=True))
    op.create_table(
        "live_meetings",
        sa.Column("meeting_id", sa.Text, nullable=False),
        sa.Column("seen_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("meeting_id", name="pk_live_meetings"),
    )
    op.create_index("ix_live_meetings_seen_at", "live_meetings", ["seen_at"])
    op.create_table(
        "poll_windows",
        sa.Column("tencent_userid", sa.Text, nullable=False),
        sa.Column("window_end", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("tencent_userid", name="pk_poll_windows"),
    )
    # The filter joins the primary key: "all my meetings" and "those matching 'standup'" are two
    # subscriptions of one channel. Batch mode rebuilds the table on SQLite, copying every row.
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("subject_match", sa.Text, nullable=False, server_default=""))
        batch.drop_constraint("pk_subscriptions", type_="primary")
        batch.create_primary_key(
            "pk_subscriptions",
            ["team_id", "channel_id", "tencent_userid", "meeting_code", "subject_match"],
        )


def downgrade() -> None:
    op.execute("DELETE FROM subscriptions WHERE subject_match != ''")
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_constraint("pk_subscriptions", type_="primary")
        batch.create_primary_key(
            "pk_subscriptions", ["team_id", "channel_id", "tencent_userid", "meeting_code"]
        )
        batch.drop_column("subject_match")
    op.drop_table("poll_windows")
    op.drop_index("ix_live_meetings_seen_at", table_name="live_meetings")
    op.drop_table("live_meetings")
    with op.batch_alter_table("digest_deliveries") as batch:
        batch.drop_column("ts")
        batch.drop_column("channel")
    with op.batch_alter_table("digest_jobs") as batch:
        for column in ("sub_meeting_id", "meeting_type", "creator_name", "end_time", "start_time"):
            batch.drop_column(column)
