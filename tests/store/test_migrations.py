"""Alembic revisions: upgrades keep data, concurrent starts are safe, head matches tables.py."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.core.records import DigestJob, EndedMeeting, JobState, LinkMethod, NewDigest
from bot.store import Database, open_database
from bot.store.engine import open_engine
from bot.store.migrate import current_revision, downgrade, head_revision, upgrade
from bot.store.tables import metadata

HEAD = "0007"
T0 = datetime(2025, 11, 25, 10, 0, tzinfo=UTC)
METHODS = [LinkMethod.SELF_VERIFIED, LinkMethod.ADMIN, LinkMethod.EMAIL_MATCH]

# digest_jobs as 0002 and 0003 left it (tables.py is head, which no longer has team_id).
JOB_COLUMNS_0002 = (
    "id",
    "meeting_id",
    "meeting_code",
    "subject",
    "creator_userid",
    "team_id",
    "state",
    "attempts",
    "created_at",
    "due_at",
    "lease_owner",
    "lease_until",
    "finished_at",
)
JOB_COLUMNS_0003 = (*JOB_COLUMNS_0002, "occurrence_key", "posted_replays")
JOB_COLUMNS_0004 = tuple(c for c in JOB_COLUMNS_0003 if c != "team_id")
#: the delivery columns every revision before 0007 had (0007 adds the message's channel and ts)
DELIVERY_COLUMNS_0002 = ("job_id", "recipient", "delivered_at")


def digest_jobs_of(columns: tuple[str, ...]) -> sa.TableClause:
    """digest_jobs with `columns`, as an older revision had it; times go in as aware UTC."""
    times = ("created_at", "due_at", "lease_until", "finished_at")
    return sa.table(
        "digest_jobs",
        *(
            sa.column(c, metadata.tables["digest_jobs"].c[c].type) if c in times else sa.column(c)
            for c in columns
        ),
    )


#: the columns of a digest job that a loaded `DigestJob` must show as a raw row holds them (times
#: are left out: SQLite's raw rows hold them as text)
COMPARED = (
    "id",
    "occurrence_key",
    "meeting_id",
    "meeting_code",
    "subject",
    "creator_userid",
    "state",
    "attempts",
    "lease_owner",
)


def job_fields(job: DigestJob | None) -> dict[str, object] | None:
    if job is None:
        return None
    meeting = dataclasses.asdict(job.meeting)
    values = {
        **meeting,
        "id": job.id,
        "state": job.state.value,
        "attempts": job.attempts,
        "lease_owner": job.lease_owner,
    }
    return {name: values[name] for name in COMPARED}


def row_fields(row: tuple[object, ...], columns: tuple[str, ...]) -> dict[str, object]:
    values = dict(zip(columns, row, strict=True))
    return {name: values[name] for name in COMPARED}


async def dump(
    engine: AsyncEngine, table: str, columns: tuple[str, ...] | None = None
) -> list[tuple[object, ...]]:
    """Every row of `table` (only `columns`, if given), as the database returns them, sorted."""
    selected = ", ".join(columns) if columns else "*"
    async with engine.connect() as connection:
        result = await connection.execute(sa.text(f"SELECT {selected} FROM {table}"))
        return sorted(tuple(row) for row in result)


async def test_open_migrates_an_empty_database_to_head(database_url: str) -> None:
    database = await open_database(database_url)
    try:
        assert head_revision() == HEAD
        assert await current_revision(database.engine) == HEAD
    finally:
        await database.close()


async def test_open_without_migrating_leaves_the_schema_alone(database_url: str) -> None:
    database = await open_database(database_url, migrate=False)
    try:
        assert await current_revision(database.engine) is None
    finally:
        await database.close()


async def test_a_populated_0001_database_keeps_every_row_through_the_upgrade(
    database_url: str,
) -> None:
    engine = await open_engine(database_url)
    await upgrade(engine, "0001")
    # The 0001-era app wrote through the same API, on the schema of its day.
    old_app = Database(engine).storage
    links = [
        await old_app.links.save("T1", f"U{i}", f"user{i % 7}", method=m, linked_by="UADMIN")
        for i, m in enumerate(METHODS * 10)
    ]
    for i in range(25):
        assert await old_app.events.first_sighting(f"slack-event:Ev{i}")
    before = {table: await dump(engine, table) for table in ("links", "seen_events")}
    await engine.dispose()

    new_app = await open_database(database_url)
    try:
        assert await current_revision(new_app.engine) == HEAD
        assert {table: await dump(new_app.engine, table) for table in before} == before
        storage = new_app.storage
        assert [await storage.links.get("T1", f"U{i}") for i in range(30)] == links
        assert await storage.links.for_tencent_user("user3") == [
            link
            for link in sorted(links, key=lambda x: x.slack_user_id)
            if link.tencent_userid == "user3"
        ]
        assert not any(
            [await storage.events.first_sighting(f"slack-event:Ev{i}") for i in range(25)]
        )
        # And the tables 0002 added work on the upgraded database.
        assert await storage.subscriptions.add("T1", "C1", "user3", None, created_by="U3")
    finally:
        await new_app.close()


async def test_downgrade_to_0001_and_back_keeps_links(database: Database) -> None:
    links = database.storage.links
    saved = await links.save("T1", "U1", "alice", method=LinkMethod.ADMIN, linked_by="UADMIN")
    await downgrade(database.engine, "0001")
    assert await current_revision(database.engine) == "0001"
    await upgrade(database.engine)
    assert await links.get("T1", "U1") == saved


async def test_instances_starting_together_migrate_once(database_url: str) -> None:
    databases = await asyncio.gather(*(open_database(database_url) for _ in range(4)))
    try:
        assert [await current_revision(d.engine) for d in databases] == [HEAD] * 4
        first, last = databases[0].storage.events, databases[3].storage.events
        assert await first.first_sighting("k") and not await last.first_sighting("k")
    finally:
        for database in databases:
            await database.close()


async def test_head_schema_is_exactly_tables_py(database: Database) -> None:
    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    async with database.engine.connect() as connection:
        assert await connection.run_sync(differences) == []


async def test_head_still_refuses_unknown_job_states(database: Database) -> None:
    # compare_metadata does not compare CHECK constraints; rebuilt tables (SQLite) must keep it.
    jobs = database.storage.digest_jobs
    await jobs.enqueue([NewDigest(EndedMeeting("k", "m1", "1", "S", "alice"), T0)])
    async with database.engine.connect() as connection:
        with pytest.raises(sa.exc.IntegrityError):
            await connection.execute(sa.text("UPDATE digest_jobs SET state = 'bogus'"))


async def insert_deliveries(connection: AsyncConnection, job_ids: list[int]) -> None:
    deliveries = sa.table(
        "digest_deliveries",
        *map(sa.column, ("job_id", "recipient")),
        sa.column("delivered_at", metadata.tables["digest_deliveries"].c.delivered_at.type),
    )
    for job_id in job_ids:
        for recipient in ("channel:C1", f"dm:U{job_id}"):
            await connection.execute(
                sa.insert(deliveries).values(job_id=job_id, recipient=recipient, delivered_at=T0)
            )


async def test_a_populated_0002_database_keeps_every_job_and_delivery_through_0003(
    database_url: str,
) -> None:
    engine = await open_engine(database_url)
    await upgrade(engine, "0002")
    # Rows as the 0002-era app wrote them: one job per meeting, in every state, with deliveries.
    async with engine.begin() as connection:
        for i, state in enumerate(["pending", "posted", "gave_up", "failed"] * 5):
            await connection.execute(
                sa.insert(digest_jobs_of(JOB_COLUMNS_0002[1:])).values(
                    meeting_id=f"190000412896914{i:04d}",
                    meeting_code=f"{100000000 + i}",
                    subject=f"Meeting {i}",
                    creator_userid=f"user{i % 3}",
                    team_id="T1" if i % 2 else None,
                    state=state,
                    attempts=i % 4,
                    created_at=T0,
                    due_at=T0 + timedelta(minutes=i),
                    lease_owner="w1" if state == "pending" and i % 2 else None,
                    lease_until=T0 + timedelta(minutes=5) if state == "pending" else None,
                    finished_at=None if state == "pending" else T0 + timedelta(hours=1),
                )
            )
        job_ids = sorted(
            row.id for row in await connection.execute(sa.text("SELECT id FROM digest_jobs"))
        )
        await insert_deliveries(connection, job_ids[::2])
    jobs_before = await dump(engine, "digest_jobs", JOB_COLUMNS_0002)
    deliveries_before = await dump(engine, "digest_deliveries", DELIVERY_COLUMNS_0002)

    await upgrade(engine, "0003")
    # Every job keeps its columns and values, and gets its meeting_id as occurrence key.
    jobs_after = await dump(engine, "digest_jobs", JOB_COLUMNS_0003)
    assert [row[: len(JOB_COLUMNS_0002)] for row in jobs_after] == jobs_before
    assert all(row[-2:] == (row[1], None) for row in jobs_after)
    assert await dump(engine, "digest_deliveries", DELIVERY_COLUMNS_0002) == deliveries_before
    await engine.dispose()

    database = await open_database(database_url)
    try:
        assert await current_revision(database.engine) == HEAD
        jobs = database.storage.digest_jobs
        # The record of each old job is its row, with its meeting_id as occurrence key.
        rows = await dump(database.engine, "digest_jobs", JOB_COLUMNS_0004)
        assert len(rows) == 20
        assert [job_fields(await jobs.get(job_id)) for job_id in job_ids] == [
            row_fields(row, JOB_COLUMNS_0004) for row in rows
        ]
        assert await jobs.deliveries(job_ids[0]) == {"channel:C1", f"dm:U{job_ids[0]}"}

        # What 0003 is for: another occurrence of an old meeting gets a job of its own...
        meeting_id = "1900004128969140000"
        again = EndedMeeting(
            f"meeting.end:{meeting_id}:1764064800", meeting_id, "100000000", "Again", "user0"
        )
        assert await jobs.enqueue([NewDigest(again, T0)]) == [True]
        assert len(await jobs.for_meeting(meeting_id)) == 2
        # ...and a job may end with nobody to tell.
        (claimed,) = await jobs.claim_due(
            worker_id="w2", now=T0 + timedelta(hours=1), lease_seconds=60, limit=1
        )
        assert await jobs.finish(claimed.id, worker_id="w2", outcome=JobState.NO_RECIPIENTS)
    finally:
        await database.close()


async def test_a_populated_0003_database_keeps_every_job_and_delivery_through_0004(
    database_url: str,
) -> None:
    engine = await open_engine(database_url)
    await upgrade(engine, "0003")
    # Rows as the 0003-era app wrote them: every state, occurrences of one meeting, skipped
    # replays, replays posted, leases, and deliveries.
    states = ["pending", "posted", "gave_up", "failed", "no_recipients", "skipped"]
    async with engine.begin() as connection:
        for i, state in enumerate(states * 4):
            done = state != "pending"
            await connection.execute(
                sa.insert(digest_jobs_of(JOB_COLUMNS_0003[1:])).values(
                    occurrence_key=f"meeting.end:m{i % 5}:{1764064800 + i}",
                    meeting_id=f"m{i % 5}",
                    meeting_code=f"{100000000 + i % 5}",
                    subject=f"Meeting {i}",
                    creator_userid=f"user{i % 3}",
                    team_id=None,
                    state=state,
                    attempts=i % 4,
                    created_at=T0,
                    due_at=T0 + timedelta(minutes=i),
                    lease_owner="w1" if state == "pending" and i % 2 else None,
                    lease_until=T0 + timedelta(minutes=5) if state == "pending" else None,
                    finished_at=T0 + timedelta(hours=1) if done else None,
                    posted_replays=json.dumps([f"r{i} url{i}"]) if done and i % 3 else None,
                )
            )
        job_ids = sorted(
            row.id for row in await connection.execute(sa.text("SELECT id FROM digest_jobs"))
        )
        await insert_deliveries(connection, job_ids[::3])
    jobs_before = await dump(engine, "digest_jobs", JOB_COLUMNS_0004)
    deliveries_before = await dump(engine, "digest_deliveries", DELIVERY_COLUMNS_0002)
    await engine.dispose()

    database = await open_database(database_url)
    try:
        assert await current_revision(database.engine) == HEAD
        assert await dump(database.engine, "digest_jobs", JOB_COLUMNS_0004) == jobs_before
        assert (
            await dump(database.engine, "digest_deliveries", DELIVERY_COLUMNS_0002)
            == deliveries_before
        )
        async with database.engine.connect() as connection:
            columns = await connection.run_sync(
                lambda sync: [c["name"] for c in sa.inspect(sync).get_columns("digest_jobs")]
            )
        assert "team_id" not in columns

        jobs = database.storage.digest_jobs
        loaded = [await jobs.get(job_id) for job_id in job_ids]
        assert [job_fields(job) for job in loaded] == [
            row_fields(row, JOB_COLUMNS_0004) for row in jobs_before
        ]
        assert [job.due_at for job in loaded if job] == [
            T0 + timedelta(minutes=i) for i in range(len(job_ids))
        ]
        assert await jobs.deliveries(job_ids[0]) == {"channel:C1", f"dm:U{job_ids[0]}"}
        # The replays old jobs posted or skipped still keep later occurrences from posting them.
        posted: set[str] = set()
        for job in loaded:
            if job and job.meeting.meeting_id == "m1":
                posted.update(job.posted_replays)
        assert posted and await jobs.replays_posted_for_meeting("m1") == posted
        # And the queue works on: the due pending jobs are claimable, unleased first by due time.
        claimed = await jobs.claim_due(
            worker_id="w2", now=T0 + timedelta(hours=1), lease_seconds=60, limit=100
        )
        assert len(claimed) == states.count("pending") * 4
    finally:
        await database.close()


async def test_downgrade_from_0004_keeps_every_job(database: Database) -> None:
    jobs = database.storage.digest_jobs
    await jobs.enqueue(
        [NewDigest(EndedMeeting(f"k{n}", "m1", "1", "S", "alice"), T0) for n in range(3)]
    )
    first, *_ = await jobs.for_meeting("m1")
    await jobs.record_delivery(first.id, "channel:C1")
    before = await dump(database.engine, "digest_jobs", JOB_COLUMNS_0004)

    await downgrade(database.engine, "0003")

    assert await dump(database.engine, "digest_jobs", JOB_COLUMNS_0004) == before
    assert await dump(database.engine, "digest_jobs", ("team_id",)) == [(None,)] * 3
    assert await dump(database.engine, "digest_deliveries", ("job_id",)) == [(first.id,)]
    await upgrade(database.engine)
    assert await dump(database.engine, "digest_jobs", JOB_COLUMNS_0004) == before


async def test_downgrade_from_0003_keeps_each_meetings_first_job(database: Database) -> None:
    jobs = database.storage.digest_jobs
    await jobs.enqueue(
        [
            NewDigest(EndedMeeting(f"meeting.end:m1:{n}", "m1", "1", f"Weekly #{n}", "alice"), T0)
            for n in range(3)
        ]
    )
    first, second, _ = await jobs.for_meeting("m1")
    await jobs.record_delivery(first.id, "channel:C1")
    await jobs.record_delivery(second.id, "channel:C1")

    await downgrade(database.engine, "0002")
    assert await dump(database.engine, "digest_jobs", ("id", "subject")) == [
        (first.id, "Weekly #0")
    ]
    assert await dump(database.engine, "digest_deliveries", ("job_id",)) == [(first.id,)]

    await upgrade(database.engine)
    assert [job.id for job in await jobs.for_meeting("m1")] == [first.id]
