"""Seen events and the digest job queue, from a single instance, on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.core.records import DigestJob, EndedMeeting, JobState, NewDigest
from bot.core.storage import Storage, StorageRejected

T0 = datetime(2025, 11, 25, 10, 0, tzinfo=UTC)


def meeting(meeting_id: str, **changes: str) -> EndedMeeting:
    values = {
        "occurrence_key": f"meeting.end:{meeting_id}:",
        "meeting_id": meeting_id,
        "meeting_code": "123456789",
        "subject": "Weekly sync",
        "creator_userid": "alice",
    }
    return EndedMeeting(**(values | changes))


async def enqueue(storage: Storage, meeting_id: str, due_at: datetime = T0) -> DigestJob:
    assert await storage.digest_jobs.enqueue([NewDigest(meeting(meeting_id), due_at)]) == [True]
    (job,) = await storage.digest_jobs.for_meeting(meeting_id)
    return job


async def test_first_sighting_is_true_once(storage: Storage) -> None:
    assert await storage.events.first_sighting("slack-event:Ev1") is True
    assert await storage.events.first_sighting("slack-event:Ev1") is False
    assert await storage.events.first_sighting("slack-event:Ev2") is True


async def test_forget_before_deletes_only_older_events(storage: Storage) -> None:
    events = storage.events
    await events.first_sighting("slack-event:old")
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    assert await events.forget_before(an_hour_ago, prefix="slack-event:") == 0
    assert await events.first_sighting("slack-event:old") is False

    soon = datetime.now(UTC) + timedelta(seconds=1)
    assert await events.forget_before(soon, prefix="slack-event:") == 1
    assert await events.first_sighting("slack-event:old") is True


async def test_forget_before_deletes_only_keys_with_the_prefix(storage: Storage) -> None:
    events = storage.events
    keys = ["slack-event:Ev1", "slack-event:Ev2", "poller:watch:alice:1", "SLACK-EVENT:Ev3", "x"]
    for key in keys:
        assert await events.first_sighting(key)

    soon = datetime.now(UTC) + timedelta(seconds=1)
    assert await events.forget_before(soon, prefix="slack-event:") == 2
    # The poller's keys (and anything else, even differing only in case) stay seen.
    assert [await events.first_sighting(key) for key in keys] == [True, True, False, False, False]
    # A prefix is literal: LIKE's wildcards match nothing more.
    assert await events.forget_before(soon, prefix="%") == 0
    assert await events.forget_before(soon, prefix="poller_watch") == 0


async def test_naive_datetimes_are_refused(storage: Storage) -> None:
    with pytest.raises(StorageRejected, match="naive datetime"):
        await storage.events.forget_before(datetime(2025, 1, 1), prefix="slack-event:")
    with pytest.raises(StorageRejected, match="naive datetime"):
        await storage.digest_jobs.enqueue([NewDigest(meeting("m1"), datetime(2025, 1, 1))])
    assert await storage.digest_jobs.for_meeting("m1") == []


async def test_enqueue_creates_one_pending_job_per_occurrence(storage: Storage) -> None:
    jobs = storage.digest_jobs
    assert await jobs.enqueue([NewDigest(meeting("m1"), T0)]) == [True]
    changed = meeting("m1", meeting_code="999999999", subject="Changed", creator_userid="bob")
    assert await jobs.enqueue([NewDigest(changed, T0 + timedelta(hours=1))]) == [False]

    (job,) = await jobs.for_meeting("m1")
    assert job.meeting == meeting("m1")
    assert (job.state, job.attempts, job.due_at) == (JobState.PENDING, 0, T0)
    assert job.state is JobState.PENDING
    assert (job.lease_owner, job.lease_until, job.finished_at) == (None, None, None)
    assert job.posted_replays == ()
    assert job.created_at.tzinfo is not None
    assert await jobs.get(job.id) == job
    assert await jobs.get(job.id + 1000) is None


async def test_enqueue_of_nothing_creates_nothing(storage: Storage) -> None:
    assert await storage.digest_jobs.enqueue([]) == []
    assert await storage.digest_jobs.next_due() is None


async def test_due_times_come_back_in_utc(storage: Storage) -> None:
    beijing = T0.astimezone(timezone(timedelta(hours=8)))
    job = await enqueue(storage, "m1", beijing)
    assert job.due_at == T0
    assert job.due_at.utcoffset() == timedelta(0)


async def test_claim_takes_due_jobs_in_due_order_up_to_the_limit(storage: Storage) -> None:
    jobs = storage.digest_jobs
    later = await enqueue(storage, "later", T0 + timedelta(minutes=2))
    first = await enqueue(storage, "first", T0 - timedelta(minutes=5))
    second = await enqueue(storage, "second", T0)
    await enqueue(storage, "future", T0 + timedelta(hours=1))

    now = T0 + timedelta(minutes=3)
    claimed = await jobs.claim_due(worker_id="w1", now=now, lease_seconds=60, limit=2)

    assert [job.id for job in claimed] == [first.id, second.id]
    assert all(job.lease_owner == "w1" for job in claimed)
    assert all(job.lease_until == T0 + timedelta(minutes=4) for job in claimed)
    rest = await jobs.claim_due(worker_id="w1", now=now, lease_seconds=60, limit=10)
    assert [job.id for job in rest] == [later.id]
    assert (
        await jobs.claim_due(
            worker_id="w1", now=now + timedelta(hours=1), lease_seconds=60, limit=0
        )
        == []
    )


async def test_jobs_due_together_are_claimed_oldest_first(storage: Storage) -> None:
    created = [await enqueue(storage, f"m{i}") for i in range(5)]
    claimed = await storage.digest_jobs.claim_due(worker_id="w1", now=T0, lease_seconds=60, limit=5)
    assert [job.id for job in claimed] == sorted(job.id for job in created)


async def test_a_leased_job_is_not_claimed_again_until_the_lease_expires(storage: Storage) -> None:
    jobs = storage.digest_jobs
    job = await enqueue(storage, "m1")
    (claimed,) = await jobs.claim_due(worker_id="w1", now=T0, lease_seconds=30, limit=5)

    during = T0 + timedelta(seconds=29)
    assert await jobs.claim_due(worker_id="w2", now=during, lease_seconds=30, limit=5) == []

    after = T0 + timedelta(seconds=31)
    (reclaimed,) = await jobs.claim_due(worker_id="w2", now=after, lease_seconds=30, limit=5)
    assert reclaimed.id == claimed.id == job.id
    assert reclaimed.lease_owner == "w2"

    # The first worker woke up late: it no longer owns the job and cannot touch it.
    assert not await jobs.finish(job.id, worker_id="w1", outcome=JobState.POSTED)
    assert not await jobs.reschedule(job.id, worker_id="w1", due_at=after, attempts=9)
    assert not await jobs.renew_lease(job.id, worker_id="w1", until=after + timedelta(hours=1))
    unchanged = await jobs.get(job.id)
    assert unchanged is not None
    assert (unchanged.lease_owner, unchanged.lease_until, unchanged.attempts) == (
        "w2",
        after + timedelta(seconds=30),
        0,
    )
    assert await jobs.finish(job.id, worker_id="w2", outcome=JobState.POSTED)


async def test_renewing_the_lease_keeps_other_workers_away(storage: Storage) -> None:
    jobs = storage.digest_jobs
    job = await enqueue(storage, "m1")
    await jobs.claim_due(worker_id="w1", now=T0, lease_seconds=30, limit=1)

    assert await jobs.renew_lease(job.id, worker_id="w1", until=T0 + timedelta(minutes=5))

    renewed = await jobs.get(job.id)
    assert renewed is not None and renewed.lease_until == T0 + timedelta(minutes=5)
    past_first_lease = T0 + timedelta(minutes=1)
    assert (
        await jobs.claim_due(worker_id="w2", now=past_first_lease, lease_seconds=30, limit=1) == []
    )
    (taken,) = await jobs.claim_due(
        worker_id="w2", now=T0 + timedelta(minutes=5), lease_seconds=30, limit=1
    )
    assert taken.lease_owner == "w2"
    assert not await jobs.renew_lease(job.id, worker_id="w1", until=T0 + timedelta(hours=1))


async def test_reschedule_releases_the_lease_until_the_new_due_time(storage: Storage) -> None:
    jobs = storage.digest_jobs
    job = await enqueue(storage, "m1")
    await jobs.claim_due(worker_id="w1", now=T0, lease_seconds=600, limit=1)
    retry_at = T0 + timedelta(minutes=5)

    assert await jobs.reschedule(job.id, worker_id="w1", due_at=retry_at, attempts=1)

    after = await jobs.get(job.id)
    assert after is not None
    assert (after.state, after.attempts, after.due_at) == (JobState.PENDING, 1, retry_at)
    assert (after.lease_owner, after.lease_until) == (None, None)
    # Released: the worker holds it no more.
    assert not await jobs.reschedule(job.id, worker_id="w1", due_at=retry_at, attempts=2)
    early = retry_at - timedelta(seconds=1)
    assert await jobs.claim_due(worker_id="w2", now=early, lease_seconds=60, limit=1) == []
    (again,) = await jobs.claim_due(worker_id="w2", now=retry_at, lease_seconds=60, limit=1)
    assert again.id == job.id


@pytest.mark.parametrize(
    "outcome", [JobState.POSTED, JobState.GAVE_UP, JobState.FAILED, JobState.NO_RECIPIENTS]
)
async def test_a_finished_job_is_never_claimed_again(storage: Storage, outcome: JobState) -> None:
    jobs = storage.digest_jobs
    job = await enqueue(storage, "m1")
    await jobs.claim_due(worker_id="w1", now=T0, lease_seconds=1, limit=1)

    assert await jobs.finish(job.id, worker_id="w1", outcome=outcome)

    done = await jobs.get(job.id)
    assert done is not None
    assert done.state is outcome
    assert done.finished_at is not None and done.lease_owner is None
    assert done.posted_replays == ()
    far = T0 + timedelta(days=1)
    assert await jobs.claim_due(worker_id="w2", now=far, lease_seconds=1, limit=9) == []
    assert not await jobs.finish(job.id, worker_id="w1", outcome=JobState.FAILED)
    assert not await jobs.reschedule(job.id, worker_id="w1", due_at=far, attempts=1)
    assert not await jobs.renew_lease(job.id, worker_id="w1", until=far)
    assert await jobs.get(job.id) == done


@pytest.mark.parametrize("outcome", [JobState.PENDING, JobState.SKIPPED, "bogus"])
async def test_finish_refuses_what_is_no_outcome(storage: Storage, outcome: str) -> None:
    jobs = storage.digest_jobs
    job = await enqueue(storage, "m1")
    await jobs.claim_due(worker_id="w1", now=T0, lease_seconds=60, limit=1)
    with pytest.raises(ValueError, match="outcome"):
        await jobs.finish(job.id, worker_id="w1", outcome=outcome)  # type: ignore[arg-type]
    still = await jobs.get(job.id)
    assert still is not None and (still.state, still.lease_owner) == (JobState.PENDING, "w1")


async def test_an_unknown_job_cannot_be_changed(storage: Storage) -> None:
    jobs = storage.digest_jobs
    assert not await jobs.finish(404, worker_id="w1", outcome=JobState.POSTED)
    assert not await jobs.reschedule(404, worker_id="w1", due_at=T0, attempts=1)
    assert not await jobs.renew_lease(404, worker_id="w1", until=T0)


async def test_deliveries_are_recorded_once_per_recipient(storage: Storage) -> None:
    jobs = storage.digest_jobs
    job = await enqueue(storage, "m1")
    other = await enqueue(storage, "m2")

    assert await jobs.record_delivery(job.id, "C1") is True
    assert await jobs.record_delivery(job.id, "C1") is False
    assert await jobs.record_delivery(job.id, "dm:U1") is True
    assert await jobs.record_delivery(other.id, "C1") is True

    assert await jobs.deliveries(job.id) == {"C1", "dm:U1"}
    assert await jobs.deliveries(other.id) == {"C1"}
    assert await jobs.deliveries(other.id + job.id + 1000) == set()


async def test_a_delivery_needs_an_existing_job(storage: Storage) -> None:
    with pytest.raises(StorageRejected):
        await storage.digest_jobs.record_delivery(12345, "C1")
    assert await storage.digest_jobs.deliveries(12345) == set()
