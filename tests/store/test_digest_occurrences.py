"""Digest jobs per occurrence of a meeting, the replays each posted, and when the next one is due."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.store import DigestJob, NewDigest, Store

T0 = datetime(2025, 11, 25, 10, 0, tzinfo=UTC)


async def enqueue(store: Store, key: str, meeting_id: str = "m1", due_at: datetime = T0) -> bool:
    return await store.enqueue_digest(
        NewDigest(
            occurrence_key=key,
            meeting_id=meeting_id,
            meeting_code="123456789",
            subject="Weekly sync",
            creator_userid="alice",
            team_id="T1",
            due_at=due_at,
        )
    )


async def claim_one(store: Store, worker: str = "w1") -> DigestJob:
    (job,) = await store.claim_due_digests(
        worker_id=worker, now=T0 + timedelta(days=1), lease_seconds=60, limit=1
    )
    return job


async def test_occurrences_of_a_recurring_meeting_get_a_job_each(
    store: Store, other_store: Store
) -> None:
    keys = [f"meeting.end:m1:{start}" for start in (1764064800, 1764669600)]
    # Each occurrence's end delivered three times, to two instances at once.
    results = await asyncio.gather(*(enqueue(s, k) for k in keys for s in (store, other_store) * 3))

    assert sorted(results) == [False] * 10 + [True] * 2
    jobs = await store.digests_for_meeting("m1")
    assert sorted(job.occurrence_key for job in jobs) == keys


async def test_a_job_remembers_the_replays_it_posted_for_later_occurrences(store: Store) -> None:
    await enqueue(store, "meeting.end:m1:1")
    await enqueue(store, "meeting.end:m2:1", meeting_id="m2")
    first = await claim_one(store)
    assert await store.finish_digest(
        first.id, worker_id="w1", outcome="posted", posted_replays=["r1 url1", "r2 url2"]
    )
    other = await claim_one(store)
    await store.finish_digest(other.id, worker_id="w1", outcome="posted", posted_replays=["x y"])
    await enqueue(store, "meeting.end:m1:2")
    (second,) = [j for j in await store.digests_for_meeting("m1") if j.id != first.id]

    assert await store.replays_posted_for_meeting("m1", excluding_job=second.id) == {
        "r1 url1",
        "r2 url2",
    }
    assert await store.replays_posted_for_meeting("m1", excluding_job=first.id) == set()
    done = await store.get_digest(first.id)
    assert done is not None and done.posted_replays == ("r1 url1", "r2 url2")
    assert second.posted_replays == ()


async def test_next_due_is_the_earliest_unleased_pending_job(store: Store) -> None:
    assert await store.next_digest_due() is None
    await enqueue(store, "a", due_at=T0 + timedelta(minutes=5))
    await enqueue(store, "b", due_at=T0 + timedelta(minutes=1))
    assert await store.next_digest_due() == T0 + timedelta(minutes=1)

    leased = await claim_one(store)
    assert leased.occurrence_key == "b"
    assert await store.next_digest_due() == T0 + timedelta(minutes=5)
    await store.finish_digest(leased.id, worker_id="w1", outcome="no_recipients")
    assert await store.next_digest_due() == T0 + timedelta(minutes=5)


async def test_known_replays_are_a_skipped_job_that_later_jobs_respect(store: Store) -> None:
    recorded = await store.record_known_replays(
        occurrence_key="poll:m1:abc",
        meeting_id="m1",
        meeting_code="123456789",
        subject="Weekly sync",
        creator_userid="alice",
        replay_keys=["r1 url1"],
    )
    again = await store.record_known_replays(
        occurrence_key="poll:m1:abc",
        meeting_id="m1",
        meeting_code="123456789",
        subject="Weekly sync",
        creator_userid="alice",
        replay_keys=["other"],
    )

    assert (recorded, again) == (True, False)
    (job,) = await store.digests_for_meeting("m1")
    assert (job.state, job.posted_replays) == ("skipped", ("r1 url1",))
    assert job.finished_at is not None
    assert await store.replays_posted_for_meeting("m1") == {"r1 url1"}
    # Never handed to a worker.
    far = T0 + timedelta(days=3650)
    assert await store.claim_due_digests(worker_id="w", now=far, lease_seconds=1, limit=9) == []


async def test_code_subscriptions_lists_each_watched_code_once(store: Store) -> None:
    await store.subscribe("T1", "C1", "alice", "111111111", created_by="U1")
    await store.subscribe("T1", "C2", "alice", "111111111", created_by="U1")
    await store.subscribe("T1", "C2", "alice", None, created_by="U1")
    await store.subscribe("T2", "C9", "bob", "222222222", created_by="U2")

    assert await store.code_subscriptions() == [("alice", "111111111"), ("bob", "222222222")]
