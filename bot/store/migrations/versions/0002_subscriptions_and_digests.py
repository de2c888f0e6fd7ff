"""Digests: subscriptions, DM preferences, digest jobs and their deliveries.

Also indexes two tables of 0001 that now have new queries: links by Tencent userid (whose Slack
users get the digest DM) and seen events by age (housekeeping deletes old ones).

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index("ix_links_tencent_userid", "links", ["tencent_userid"])
    op.create_index("ix_seen_events_seen_at", "seen_events", ["seen_at"])
    _create_subscriptions()
    _create_user_prefs()
    _create_digest_jobs()
    _create_digest_deliveries()


def _create_subscriptions() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("team_id", sa.Text, nullable=False),
        sa.Column("channel_id", sa.Text, nullable=False),
        sa.Column("tencent_userid", sa.Text, nullable=False),
        # '' is "every meeting": a NULL would not collide in the primary key.
        sa.Column("meeting_code", sa.Text, nullable=False, server_default=""),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "team_id", "channel_id", "tencent_userid", "meeting_code", name="pk_subscriptions"
        ),
    )
    op.create_index(
        "ix_subscriptions_tencent_userid_meeting_code",
        "subscriptions",
        ["tencent_userid", "meeting_code"],
    )


def _create_user_prefs() -> None:
    op.create_table(
        "user_prefs",
        sa.Column("team_id", sa.Text, nullable=False),
        sa.Column("slack_user_id", sa.Text, nullable=False),
        sa.Column("dm_digests", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "slack_user_id", name="pk_user_prefs"),
    )


def _create_digest_jobs() -> None:
    op.create_table(
        "digest_jobs",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("meeting_id", sa.Text, nullable=False),
        sa.Column("meeting_code", sa.Text, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("creator_userid", sa.Text, nullable=False),
        sa.Column("team_id", sa.Text, nullable=True),
        sa.Column("state", sa.Text, nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.Text, nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_digest_jobs"),
        sa.UniqueConstraint("meeting_id", name="uq_digest_jobs_meeting_id"),
        sa.CheckConstraint(
            "state IN ('pending', 'posted', 'gave_up', 'failed')", name="ck_digest_jobs_state"
        ),
    )
    op.create_index("ix_digest_jobs_state_due_at", "digest_jobs", ["state", "due_at"])


def _create_digest_deliveries() -> None:
    op.create_table(
        "digest_deliveries",
        sa.Column("job_id", sa.Integer, nullable=False),
        sa.Column("recipient", sa.Text, nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "recipient", name="pk_digest_deliveries"),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["digest_jobs.id"],
            name="fk_digest_deliveries_job_id_digest_jobs",
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("digest_deliveries")
    op.drop_index("ix_digest_jobs_state_due_at", table_name="digest_jobs")
    op.drop_table("digest_jobs")
    op.drop_table("user_prefs")
    op.drop_index("ix_subscriptions_tencent_userid_meeting_code", table_name="subscriptions")
    op.drop_table("subscriptions")
    op.drop_index("ix_seen_events_seen_at", table_name="seen_events")
    op.drop_index("ix_links_tencent_userid", table_name="links")
