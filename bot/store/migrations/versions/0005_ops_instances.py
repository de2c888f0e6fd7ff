"""The `instances` table: each running instance's heartbeat and the last webhook it received.

Every instance upserts its row about every 10 s (`bot.core.status.Heartbeat`), so `/replays status`
on any instance can tell which instances are alive. The last Tencent webhook delivery an instance
received (when, and whether it was accepted) sits in the same row: the status shows the newest of
them, whichever instance Tencent's balancer picked. No existing table changes.

Revision ID: 0005
Revises: 0004
Create Date: 2025-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "instances",
        sa.Column("instance_id", sa.Text, nullable=False),
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("version", sa.Text, nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_webhook_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_webhook_outcome", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("instance_id", name="pk_instances"),
    )
    op.create_index("ix_instances_last_seen", "instances", ["last_seen"])


def downgrade() -> None:
    op.drop_index("ix_instances_last_seen", table_name="instances")
    op.drop_table("instances")
