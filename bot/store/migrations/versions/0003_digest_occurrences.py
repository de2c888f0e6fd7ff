"""Digest jobs per meeting occurrence, the 'no_recipients' outcome, and the replays each job posted.

A recurring meeting keeps one meeting_id for all its occurrences, so `digest_jobs.meeting_id` can no
longer be unique: the new `occurrence_key` (the webhook's dedupe key) is. Jobs that exist already get
their meeting_id as key, which keeps them unique and every row in place. A redelivery of a
`meeting.end` that straddles the upgrade gets the new spelling of the key and so a second job; that
job finds every replay already posted by the first one and posts nothing (see `posted_replays`).

Also lets a job end as 'no_recipients' (nobody subscribed, DMs off), which the 0002 CHECK refused,
records which replays a job posted, so that later occurrences post only the new ones, and allows
'skipped' jobs: replays the poller (bot.core.poller) found already there, recorded as known.

Revision ID: 0003
Revises: 0002
Create Date: 2025-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

OLD_STATES = "state IN ('pending', 'posted', 'gave_up', 'failed')"
NEW_STATES = "state IN ('pending', 'posted', 'gave_up', 'failed', 'no_recipients', 'skipped')"


def upgrade() -> None:
    # SQLite cannot alter constraints: batch mode rebuilds the table, copying every row (and its id,
    # which digest_deliveries refers to). bot.store.migrate turns foreign keys off meanwhile, so
    # dropping the old table does not cascade into the deliveries.
    with op.batch_alter_table("digest_jobs") as batch:
        batch.add_column(sa.Column("occurrence_key", sa.Text, nullable=True))
        batch.add_column(sa.Column("posted_replays", sa.Text, nullable=True))
    op.execute("UPDATE digest_jobs SET occurrence_key = meeting_id")
    with op.batch_alter_table("digest_jobs") as batch:
        batch.alter_column("occurrence_key", existing_type=sa.Text, nullable=False)
        batch.drop_constraint("uq_digest_jobs_meeting_id", type_="unique")
        batch.create_unique_constraint("uq_digest_jobs_occurrence_key", ["occurrence_key"])
        batch.drop_constraint("ck_digest_jobs_state", type_="check")
        batch.create_check_constraint("ck_digest_jobs_state", NEW_STATES)
    # Still looked up by meeting (digests_for_meeting, replays posted by earlier occurrences).
    op.create_index("ix_digest_jobs_meeting_id", "digest_jobs", ["meeting_id"])


def downgrade() -> None:
    # 0002 allows one job per meeting: keep each meeting's first job and drop later occurrences
    # (with their deliveries: foreign keys are off on SQLite here, so delete them explicitly).
    first_jobs = "SELECT min(id) FROM digest_jobs GROUP BY meeting_id"
    op.execute(f"DELETE FROM digest_deliveries WHERE job_id NOT IN ({first_jobs})")
    op.execute(f"DELETE FROM digest_jobs WHERE id NOT IN ({first_jobs})")
    # 0002 knows neither 'no_recipients' nor 'skipped'; such jobs are done with nothing owed.
    op.execute(
        "UPDATE digest_jobs SET state = 'posted' WHERE state IN ('no_recipients', 'skipped')"
    )
    op.drop_index("ix_digest_jobs_meeting_id", table_name="digest_jobs")
    with op.batch_alter_table("digest_jobs") as batch:
        batch.drop_constraint("ck_digest_jobs_state", type_="check")
        batch.create_check_constraint("ck_digest_jobs_state", OLD_STATES)
        batch.drop_constraint("uq_digest_jobs_occurrence_key", type_="unique")
        batch.create_unique_constraint("uq_digest_jobs_meeting_id", ["meeting_id"])
        batch.drop_column("posted_replays")
        batch.drop_column("occurrence_key")
