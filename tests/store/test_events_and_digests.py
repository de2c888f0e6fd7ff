"""Seen events and the digest job queue, from a single instance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import StatementError

from bot.store import DigestJob, NewDigest, Store

T0 = datetime(2025, 11, 25, 10, 0, tzinfo=UTC)


async def enqueue(store: Store, meeting_id: str, due_at: datetime = T0) -> DigestJob:
    await store.enqueue_digest(
        NewDigest(
            occurrence_key=f"meeting.end:{meeting_id}:",
            meeting_id=meeting_id,
            meeting_code="123456789",
            subject="Weekly sync",
            creator_userid="alice",
            team_id="T1",
            due_at=due_at,
        )
    )
    (job,) = await store.digests_for_meeting(meeting_id)
    return job


async def test_first_sighting_is_true_once(store: Store) -> None:
    assert await store.first_sighting("slack:Ev1") is True
    assert await store.first_sighting("slack:Ev1") is False
    assert await store.first_sighting("slack:Ev2") is True


async def test_forget_events_before_deletes_only_older_events(store: Store) -> None:
    await store.first_sighting("old")
    assert await store.forget_events_before(datetime.now(UTC) - timedelta(hours=1)) == 0
    assert await store.first_sighting("old") is False

    assert await store.forget_events_before(datetime.now(UTC) + timedelta(seconds=1)) == 1
    assert await store.first_sighting("old") is True


async def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        await store.forget_events_before(datetime(2025, 1, 1))


async def test_enqueue_creates_one_pending_job_per_meeting(store: Store) -> None:
    assert await store.enqueue_digest(
        NewDigest(
            occurrence_key="meeting.end:m1:",
            meeting_id="m1",
            meeting_code="123456789",
            subject="Weekly sync",
            creator_userid="alice",
            team_id=None,
            due_at=T0,
        )
    )
    assert not await store.enqueue_digest(
        NewDigest(
            occurrence_key="meeting.end:m1:",
            meeting_id="m1",
            meeting_code="999999999",
            subject="Changed",
            creator_userid="bob",
            team_id="T9",
            due_at=T0 + timedelta(hours=1),
        )
    )

    (job,) = await store.digests_for_meeting("m1")
    assert (job.meeting_code, job.subject, job.creator_userid, job.team_id) == (
        "123456789",
        "Weekly sync",
        "alice",
        None,
    )
    assert (job.state, job.attempts, job.due_at) == ("pending", 0, T0)
    assert (job.lease_owner, job.lease_until, job.finished_at) == (None, None, None)
    assert await store.get_digest(job.id) == job
    assert await store.get_digest(job.id + 1000) is None


async def test_claim_takes_due_jobs_in_due_order_up_to_the_limit(store: Store) -> None:
    later = await enqueue(store, "later", T0 + timedelta(minutes=2))
    first = await enqueue(store, "first", T0 - timedelta(minutes=5))
    second = await enqueue(store, "second", T0)
    await enqueue(store, "future", T0 + timedelta(hours=1))

    claimed = await store.claim_due_digests(
        worker_id="w1", now=T0 + timedelta(minutes=3), lease_seconds=60, limit=2
    )

    assert [job.id for job in claimed] == [first.id, second.id]
    assert all(job.lease_owner == "w1" for job in claimed)
    assert all(job.lease_until == T0 + timedelta(minutes=4) for job in claimed)
    rest = await store.claim_due_digests(
        worker_id="w1", now=T0 + timedelta(minutes=3), lease_seconds=60, limit=10
    )
    assert [job.id for job in rest] == [later.id]


async def test_a_leased_job_is_not_claimed_again_until_the_lease_expires(store: Store) -> None:
    job = await enqueue(store, "m1")
    (claimed,) = await store.claim_due_digests(worker_id="w1", now=T0, lease_seconds=30, limit=5)

    during = T0 + timedelta(seconds=29)
    assert (
        await store.claim_due_digests(worker_id="w2", now=during, lease_seconds=30, limit=5) == []
    )

    after = T0 + timedelta(seconds=31)
    (reclaimed,) = await store.claim_due_digests(
        worker_id="w2", now=after, lease_seconds=30, limit=5
    )
    assert reclaimed.id == claimed.id == job.id
    assert reclaimed.lease_owner == "w2"

    # The first worker woke up late: it no longer owns the job and cannot touch it.
    assert not await store.finish_digest(job.id, worker_id="w1", outcome="posted")
    assert not await store.reschedule_digest(job.id, worker_id="w1", due_at=after, attempts=9)
    assert await store.finish_digest(job.id, worker_id="w2", outcome="posted")


async def test_reschedule_releases_the_lease_until_the_new_due_time(store: Store) -> None:
    job = await enqueue(store, "m1")
    await store.claim_due_digests(worker_id="w1", now=T0, lease_seconds=600, limit=1)
    retry_at = T0 + timedelta(minutes=5)

    assert await store.reschedule_digest(job.id, worker_id="w1", due_at=retry_at, attempts=1)

    after = await store.get_digest(job.id)
    assert after is not None
    assert (after.state, after.attempts, after.due_at) == ("pending", 1, retry_at)
    assert (after.lease_owner, after.lease_until) == (None, None)
    early = retry_at - timedelta(seconds=1)
    assert await store.claim_due_digests(worker_id="w2", now=early, lease_seconds=60, limit=1) == []
    (again,) = await store.claim_due_digests(
        worker_id="w2", now=retry_at, lease_seconds=60, limit=1
    )
    assert again.id == job.id


@pytest.mark.parametrize("outcome", ["posted", "gave_up", "failed", "no_recipients"])
async def test_a_finished_job_is_never_claimed_again(store: Store, outcome: str) -> None:
    job = await enqueue(store, "m1")
    await store.claim_due_digests(worker_id="w1", now=T0, lease_seconds=1, limit=1)

    assert await store.finish_digest(job.id, worker_id="w1", outcome=outcome)

    done = await store.get_digest(job.id)
    assert done is not None
    assert done.state == outcome
    assert done.finished_at is not None and done.lease_owner is None
    far = T0 + timedelta(days=1)
    assert await store.claim_due_digests(worker_id="w2", now=far, lease_seconds=1, limit=9) == []
    assert not await store.finish_digest(job.id, worker_id="w1", outcome="failed")


async def test_finish_refuses_an_unknown_outcome(store: Store) -> None:
    job = await enqueue(store, "m1")
    with pytest.raises(ValueError, match="outcome"):
        await store.finish_digest(job.id, worker_id="w1", outcome="pending")


async def test_deliveries_are_recorded_once_per_recipient(store: Store) -> None:
    job = await enqueue(store, "m1")
    other = await enqueue(store, "m2")

    assert await store.record_delivery(job.id, "C1") is True
    assert await store.record_delivery(job.id, "C1") is False
    assert await store.record_delivery(job.id, "dm:U1") is True
    assert await store.record_delivery(other.id, "C1") is True

    assert await store.deliveries(job.id) == {"C1", "dm:U1"}
    assert await store.deliveries(other.id) == {"C1"}
