"""Alembic revisions: upgrades keep data, concurrent starts are safe, head matches tables.py."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store import NewDigest, Store
from bot.store.engine import open_engine
from bot.store.migrate import current_revision, downgrade, head_revision, upgrade
from bot.store.tables import digest_deliveries, digest_jobs, metadata


async def dump(engine: AsyncEngine, *tables: str) -> dict[str, list[tuple[object, ...]]]:
    """Every row of `tables`, as the database returns them, in a stable order."""
    async with engine.connect() as connection:
        return {
            table: sorted(
                tuple(row) for row in await connection.execute(sa.text(f"SELECT * FROM {table}"))
            )
            for table in tables
        }


async def test_open_migrates_an_empty_database_to_head(database_url: str) -> None:
    store = await Store.open(database_url)
    try:
        assert head_revision() == "0003"
        assert await current_revision(store.engine) == "0003"
    finally:
        await store.close()


async def test_a_populated_0001_database_keeps_every_row_through_the_upgrade(
    database_url: str,
) -> None:
    engine = await open_engine(database_url)
    await upgrade(engine, "0001")
    # The 0001-era app wrote through the same API, on the schema of its day.
    old_app = Store(engine)
    links = [
        await old_app.save_link("T1", f"U{i}", f"user{i % 7}", method=m, linked_by="UADMIN")
        for i, m in enumerate(["self_verified", "admin", "email_match"] * 10)
    ]
    for i in range(25):
        assert await old_app.first_sighting(f"slack:Ev{i}")
    before = await dump(engine, "links", "seen_events")
    await old_app.close()

    new_app = await Store.open(database_url)
    try:
        assert await current_revision(new_app.engine) == "0003"
        assert await dump(new_app.engine, "links", "seen_events") == before
        assert [await new_app.get_link("T1", f"U{i}") for i in range(30)] == links
        assert await new_app.links_for_tencent_user("user3") == [
            link
            for link in sorted(links, key=lambda x: x.slack_user_id)
            if link.tencent_userid == "user3"
        ]
        assert not any([await new_app.first_sighting(f"slack:Ev{i}") for i in range(25)])
        # And the tables 0002 added work on the upgraded database.
        assert await new_app.subscribe("T1", "C1", "user3", None, created_by="U3")
    finally:
        await new_app.close()


async def test_downgrade_to_0001_and_back_keeps_links(database_url: str) -> None:
    store = await Store.open(database_url)
    try:
        saved = await store.save_link("T1", "U1", "alice", method="admin", linked_by="UADMIN")
        await downgrade(store.engine, "0001")
        assert await current_revision(store.engine) == "0001"
        await upgrade(store.engine)
        assert await store.get_link("T1", "U1") == saved
    finally:
        await store.close()


async def test_instances_starting_together_migrate_once(database_url: str) -> None:
    stores = await asyncio.gather(*(Store.open(database_url) for _ in range(4)))
    try:
        assert [await current_revision(s.engine) for s in stores] == ["0003"] * 4
        assert await stores[0].first_sighting("k") and not await stores[3].first_sighting("k")
    finally:
        for store in stores:
            await store.close()


async def test_head_schema_is_exactly_tables_py(store: Store) -> None:
    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    async with store.engine.connect() as connection:
        assert await connection.run_sync(differences) == []


async def test_a_populated_0002_database_keeps_every_job_and_delivery_through_0003(
    database_url: str,
) -> None:
    engine = await open_engine(database_url)
    await upgrade(engine, "0002")
    # Rows as the 0002-era app wrote them: one job per meeting, in every state, with deliveries.
    created = datetime(2025, 11, 25, 10, 0, tzinfo=UTC)
    async with engine.begin() as connection:
        for i, state in enumerate(["pending", "posted", "gave_up", "failed"] * 5):
            await connection.execute(
                sa.insert(digest_jobs).values(
                    meeting_id=f"190000412896914{i:04d}",
                    meeting_code=f"{100000000 + i}",
                    subject=f"Meeting {i}",
                    creator_userid=f"user{i % 3}",
                    team_id="T1" if i % 2 else None,
                    state=state,
                    attempts=i % 4,
                    created_at=created,
                    due_at=created + timedelta(minutes=i),
                    lease_owner="w1" if state == "pending" and i % 2 else None,
                    lease_until=created + timedelta(minutes=5) if state == "pending" else None,
                    finished_at=None if state == "pending" else created + timedelta(hours=1),
                )
            )
        job_ids = [row.id for row in await connection.execute(sa.select(digest_jobs.c.id))]
        for job_id in job_ids[::2]:
            for recipient in ("channel:C1", f"dm:U{job_id}"):
                await connection.execute(
                    sa.insert(digest_deliveries).values(
                        job_id=job_id, recipient=recipient, delivered_at=created
                    )
                )
    before = await dump(engine, "digest_jobs", "digest_deliveries")
    await engine.dispose()

    store = await Store.open(database_url)
    try:
        assert await current_revision(store.engine) == "0003"
        after = await dump(store.engine, "digest_jobs", "digest_deliveries")
        assert after["digest_deliveries"] == before["digest_deliveries"]
        # Every job keeps its columns and values, and gets its meeting_id as occurrence key.
        async with store.engine.connect() as connection:
            rows = (await connection.execute(sa.select(digest_jobs))).all()
        old_columns = [
            c for c in digest_jobs.c if c.name not in ("occurrence_key", "posted_replays")
        ]
        assert len(rows) == 20
        assert all(row.occurrence_key == row.meeting_id for row in rows)
        assert all(row.posted_replays is None for row in rows)
        jobs = [await store.get_digest(job_id) for job_id in sorted(job_ids)]
        assert [job.id for job in jobs if job] == sorted(job_ids)
        assert sorted(tuple(getattr(row, c.name) for c in old_columns) for row in rows) == sorted(
            tuple(getattr(job, c.name) for c in old_columns) for job in jobs if job
        )
        assert await store.deliveries(job_ids[0]) == {"channel:C1", f"dm:U{job_ids[0]}"}

        # What 0003 is for: another occurrence of an old meeting gets a job of its own...
        meeting_id = "1900004128969140000"
        assert await store.enqueue_digest(
            NewDigest(
                occurrence_key=f"meeting.end:{meeting_id}:1764064800",
                meeting_id=meeting_id,
                meeting_code="100000000",
                subject="Meeting 0, again",
                creator_userid="user0",
                team_id="T1",
                due_at=created,
            )
        )
        assert len(await store.digests_for_meeting(meeting_id)) == 2
        # ...and a job may end with nobody to tell.
        (claimed,) = await store.claim_due_digests(
            worker_id="w2", now=created + timedelta(hours=1), lease_seconds=60, limit=1
        )
        assert await store.finish_digest(claimed.id, worker_id="w2", outcome="no_recipients")
    finally:
        await store.close()


async def test_downgrade_from_0003_keeps_each_meetings_first_job(database_url: str) -> None:
    store = await Store.open(database_url)
    try:
        t0 = datetime(2025, 11, 25, 10, 0, tzinfo=UTC)
        for occurrence in range(3):
            await store.enqueue_digest(
                NewDigest(
                    occurrence_key=f"meeting.end:m1:{occurrence}",
                    meeting_id="m1",
                    meeting_code="123456789",
                    subject=f"Weekly #{occurrence}",
                    creator_userid="alice",
                    team_id="T1",
                    due_at=t0,
                )
            )
        first, second, _ = await store.digests_for_meeting("m1")
        await store.record_delivery(first.id, "channel:C1")
        await store.record_delivery(second.id, "channel:C1")

        await downgrade(store.engine, "0002")
        async with store.engine.connect() as connection:
            rows = (await connection.execute(sa.text("SELECT id, subject FROM digest_jobs"))).all()
            kept = (await connection.execute(sa.text("SELECT job_id FROM digest_deliveries"))).all()
        assert [tuple(row) for row in rows] == [(first.id, "Weekly #0")]
        assert [tuple(row) for row in kept] == [(first.id,)]

        await upgrade(store.engine)
        assert [job.id for job in await store.digests_for_meeting("m1")] == [first.id]
    finally:
        await store.close()
