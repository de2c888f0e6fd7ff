"""Drop digest_jobs.team_id, which the app always left NULL and nothing reads.

Every row stays, with its id (which digest_deliveries refers to). A downgrade adds the column back,
NULL in every row.

Revision ID: 0004
Revises: 0003
Create Date: 2025-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # SQLite before 3.35 cannot drop a column: batch mode rebuilds the table, copying every row
    # (and its id). bot.store.migrate turns foreign keys off meanwhile, so dropping the old table
    # does not cascade into the deliveries. On PostgreSQL this is a plain ALTER TABLE.
    with op.batch_alter_table("digest_jobs") as batch:
        batch.drop_column("team_id")


def downgrade() -> None:
    with op.batch_alter_table("digest_jobs") as batch:
        batch.add_column(sa.Column("team_id", sa.Text, nullable=True))
