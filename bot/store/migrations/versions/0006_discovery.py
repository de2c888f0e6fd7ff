"""What discovery needs to remember: meetings' creators, who is not a meeting's creator, and each
creator's choice of who may see their meetings' replays.

Three new tables, no change to existing ones; a downgrade drops them (the app learns creators and
attendees again, and every creator is back to the default, `me`).

Revision ID: 0006
Revises: 0005
Create Date: 2025-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "meeting_creators",
        sa.Column("meeting_id", sa.Text, nullable=False),
        sa.Column("meeting_code", sa.Text, nullable=False),
        sa.Column("creator_userid", sa.Text, nullable=False),
        sa.Column("learned_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("meeting_id", name="pk_meeting_creators"),
    )
    op.create_index("ix_meeting_creators_meeting_code", "meeting_creators", ["meeting_code"])
    op.create_table(
        "not_creators",
        sa.Column("meeting_id", sa.Text, nullable=False),
        sa.Column("userid", sa.Text, nullable=False),
        sa.Column("noted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("meeting_id", "userid", name="pk_not_creators"),
    )
    op.create_index("ix_not_creators_userid_meeting_id", "not_creators", ["userid", "meeting_id"])
    op.create_table(
        "creator_visibility",
        sa.Column("team_id", sa.Text, nullable=False),
        sa.Column("creator_userid", sa.Text, nullable=False),
        sa.Column("visibility", sa.Text, nullable=False),
        sa.Column("set_by", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "creator_userid", name="pk_creator_visibility"),
        sa.CheckConstraint(
            "visibility IN ('me', 'workspace')", name="ck_creator_visibility_visibility"
        ),
    )


def downgrade() -> None:
    op.drop_table("creator_visibility")
    op.drop_index("ix_not_creators_userid_meeting_id", table_name="not_creators")
    op.drop_table("not_creators")
    op.drop_index("ix_meeting_creators_meeting_code", table_name="meeting_creators")
    op.drop_table("meeting_creators")
