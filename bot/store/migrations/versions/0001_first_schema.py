"""First schema: Slack-to-Tencent user links and the seen-events dedupe table.

Revision ID: 0001
Revises:
Create Date: 2025-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "links",
        sa.Column("team_id", sa.Text, nullable=False),
        sa.Column("slack_user_id", sa.Text, nullable=False),
        sa.Column("tencent_userid", sa.Text, nullable=False),
        sa.Column("method", sa.Text, nullable=False),
        sa.Column("linked_by", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "slack_user_id", name="pk_links"),
    )
    op.create_table(
        "seen_events",
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_seen_events"),
    )


def downgrade() -> None:
    op.drop_table("seen_events")
    op.drop_table("links")
