"""Two Databases (two engines, as two processes would have) racing on one SQL database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bot.core.records import EndedMeeting, LinkMethod, NewDigest
from bot.core.storage import Storage
from bot.store import Database

T0 = datetime(2025, 11, 25, 10, 0, tzinfo=UTC)
ROUNDS = 15


def new_digest(n: int | str, due_at: datetime = T0) -> NewDigest:
    meeting = EndedMeeting(f"meeting.end:m{n}:", f"m{n}", "123456789", f"Meeting {n}", "alice")
    return NewDigest(meeting, due_at)


async def test_racing_links_of_one_user_leave_one_consistent_row(
    database: Database, other_database: Database
) -> None:
    one, two = database.storage.links, other_database.storage.links
    writes = {
        ("alice", LinkMethod.SELF_VERIFIED, "U1"),
        ("bob", LinkMethod.ADMIN, "UADMIN"),
    }
    for _ in range(ROUNDS):
        returned = await asyncio.gather(
            one.save("T1", "U1", "alice", method=LinkMethod.SELF_VERIFIED, linked_by="U1"),
            two.save("T1", "U1", "bob", method=LinkMethod.ADMIN, linked_by="UADMIN"),
        )
        assert {(r.tencent_userid, r.method, r.linked_by) for r in returned} == writes

        final = await one.get("T1", "U1")
        assert final is not None
        assert (final.tencent_userid, final.method, final.linked_by) in writes
        assert final in returned

    async with database.engine.connect() as connection:
        count = await connection.scalar(sa.text("SELECT count(*) FROM links"))
    assert count == 1


async def test_only_one_instance_sees_an_event_first(
    database: Database, other_database: Database
) -> None:
    both = (database.storage, other_database.storage)
    for round_ in range(ROUNDS):
        key = f"slack-event:Ev{round_}"
        results = await asyncio.gather(*(s.events.first_sighting(key) for s in both * 2))
        assert sorted(results) == [False, False, False, True]


async def test_a_meeting_gets_one_digest_job_however_many_ends_arrive(
    database: Database, other_database: Database
) -> None:
    async def enqueue(s: Storage) -> bool:
        [created] = await s.digest_jobs.enqueue([new_digest(1)])
        return created

    both = (database.storage, other_database.storage)
    results = await asyncio.gather(*(enqueue(s) for s in both * 3))

    assert sorted(results) == [False] * 5 + [True]
    assert len(await other_database.storage.digest_jobs.for_meeting("m1")) == 1


async def test_overlapping_batches_create_each_job_once(
    database: Database, other_database: Database
) -> None:
    # Overlapping batches in opposite orders: written in key order, they cannot deadlock.
    forward = [new_digest(n) for n in range(20)]
    results = await asyncio.gather(
        database.storage.digest_jobs.enqueue(forward),
        other_database.storage.digest_jobs.enqueue(forward[::-1]),
        database.storage.digest_jobs.enqueue(forward[5:15]),
    )
    assert sum(sum(created) for created in results) == 20
    for n in range(20):
        assert len(await database.storage.digest_jobs.for_meeting(f"m{n}")) == 1


async def test_racing_workers_claim_each_job_once(
    database: Database, other_database: Database
) -> None:
    await database.storage.digest_jobs.enqueue(
        [new_digest(i, T0 - timedelta(seconds=i)) for i in range(24)]
    )

    async def worker(s: Storage, name: str) -> list[int]:
        mine: list[int] = []
        while jobs := await s.digest_jobs.claim_due(
            worker_id=name, now=T0, lease_seconds=300, limit=3
        ):
            assert len(jobs) <= 3
            assert all(job.lease_owner == name for job in jobs)
            mine.extend(job.id for job in jobs)
        return mine

    tagged = (("a", database.storage), ("b", other_database.storage))
    claims = await asyncio.gather(*(worker(s, f"{tag}{n}") for n in range(3) for tag, s in tagged))

    claimed = [job_id for mine in claims for job_id in mine]
    assert len(claimed) == len(set(claimed)) == 24


async def test_a_delivery_is_recorded_once_under_races(
    database: Database, other_database: Database
) -> None:
    jobs = database.storage.digest_jobs
    await jobs.enqueue([new_digest(1)])
    (job,) = await jobs.for_meeting("m1")

    both = (database.storage, other_database.storage)
    for round_ in range(ROUNDS):
        recipient = f"C{round_}"
        results = await asyncio.gather(
            *(s.digest_jobs.record_delivery(job.id, recipient) for s in both * 2)
        )
        assert sorted(results) == [False, False, False, True]

    delivered = await other_database.storage.digest_jobs.deliveries(job.id)
    assert delivered == {f"C{r}" for r in range(ROUNDS)}
