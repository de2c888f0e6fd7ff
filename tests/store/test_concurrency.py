"""Two Store instances (two engines, as two processes would have) racing on one database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from bot.store import NewDigest, Store

T0 = datetime(2025, 11, 25, 10, 0, tzinfo=UTC)
ROUNDS = 15


async def test_racing_links_of_one_user_leave_one_consistent_row(
    store: Store, other_store: Store
) -> None:
    writes = {
        ("alice", "self_verified", "U1"),
        ("bob", "admin", "UADMIN"),
    }
    for _ in range(ROUNDS):
        returned = await asyncio.gather(
            store.save_link("T1", "U1", "alice", method="self_verified", linked_by="U1"),
            other_store.save_link("T1", "U1", "bob", method="admin", linked_by="UADMIN"),
        )
        assert {(r.tencent_userid, r.method, r.linked_by) for r in returned} == writes

        final = await store.get_link("T1", "U1")
        assert final is not None
        assert (final.tencent_userid, final.method, final.linked_by) in writes
        assert final in returned

    async with store.engine.connect() as connection:
        count = await connection.scalar(sa.text("SELECT count(*) FROM links"))
    assert count == 1


async def test_only_one_instance_sees_an_event_first(store: Store, other_store: Store) -> None:
    for round_ in range(ROUNDS):
        key = f"slack:Ev{round_}"
        results = await asyncio.gather(
            *(s.first_sighting(key) for s in (store, other_store, store, other_store))
        )
        assert sorted(results) == [False, False, False, True]


async def test_a_meeting_gets_one_digest_job_however_many_ends_arrive(
    store: Store, other_store: Store
) -> None:
    async def enqueue(s: Store) -> bool:
        return await s.enqueue_digest(
            NewDigest(
                occurrence_key="meeting.end:m1:",
                meeting_id="m1",
                meeting_code="123456789",
                subject="Weekly",
                creator_userid="alice",
                team_id="T1",
                due_at=T0,
            )
        )

    results = await asyncio.gather(*(enqueue(s) for s in (store, other_store) * 3))

    assert sorted(results) == [False] * 5 + [True]
    assert len(await other_store.digests_for_meeting("m1")) == 1


async def test_racing_workers_claim_each_job_once(store: Store, other_store: Store) -> None:
    for i in range(24):
        await store.enqueue_digest(
            NewDigest(
                occurrence_key=f"meeting.end:m{i}:",
                meeting_id=f"m{i}",
                meeting_code="123456789",
                subject=f"Meeting {i}",
                creator_userid="alice",
                team_id="T1",
                due_at=T0 - timedelta(seconds=i),
            )
        )

    async def worker(s: Store, name: str) -> list[int]:
        mine: list[int] = []
        while jobs := await s.claim_due_digests(worker_id=name, now=T0, lease_seconds=300, limit=3):
            assert all(job.lease_owner == name for job in jobs)
            mine.extend(job.id for job in jobs)
        return mine

    claims = await asyncio.gather(
        *(worker(s, f"{tag}{n}") for n in range(3) for tag, s in (("a", store), ("b", other_store)))
    )

    claimed = [job_id for mine in claims for job_id in mine]
    assert len(claimed) == len(set(claimed)) == 24


async def test_a_delivery_is_recorded_once_under_races(store: Store, other_store: Store) -> None:
    await store.enqueue_digest(
        NewDigest(
            occurrence_key="meeting.end:m1:",
            meeting_id="m1",
            meeting_code="123456789",
            subject="Weekly",
            creator_userid="alice",
            team_id="T1",
            due_at=T0,
        )
    )
    (job,) = await store.digests_for_meeting("m1")

    for round_ in range(ROUNDS):
        recipient = f"C{round_}"
        results = await asyncio.gather(
            *(s.record_delivery(job.id, recipient) for s in (store, other_store) * 2)
        )
        assert sorted(results) == [False, False, False, True]

    assert await other_store.deliveries(job.id) == {f"C{r}" for r in range(ROUNDS)}
