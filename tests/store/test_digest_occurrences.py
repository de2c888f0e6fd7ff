"""Digest jobs per occurrence of a meeting, the replays each posted, and when the next one is due,
on every backend."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.core.records import DigestJob, EndedMeeting, JobState, NewDigest
from bot.core.storage import Storage

T0 = datetime(2025, 11, 25, 10, 0, tzinfo=UTC)


def meeting(key: str, meeting_id: str = "m1") -> EndedMeeting:
    return EndedMeeting(key, meeting_id, "123456789", "Weekly sync", "alice")


async def enqueue(
    storage: Storage, key: str, meeting_id: str = "m1", due_at: datetime = T0
) -> bool:
    [created] = await storage.digest_jobs.enqueue([NewDigest(meeting(key, meeting_id), due_at)])
    return created


async def claim_one(storage: Storage, worker: str = "w1") -> DigestJob:
    (job,) = await storage.digest_jobs.claim_due(
        worker_id=worker, now=T0 + timedelta(days=1), lease_seconds=60, limit=1
    )
    return job


async def test_occurrences_of_a_recurring_meeting_get_a_job_each(
    storage: Storage, other_storage: Storage
) -> None:
    keys = [f"meeting.end:m1:{start}" for start in (1764064800, 1764669600)]
    # Each occurrence's end delivered three times, to two instances at once.
    results = await asyncio.gather(
        *(enqueue(s, k) for k in keys for s in (storage, other_storage) * 3)
    )

    assert sorted(results) == [False] * 10 + [True] * 2
    jobs = await storage.digest_jobs.for_meeting("m1")
    assert sorted(job.meeting.occurrence_key for job in jobs) == keys


async def test_jobs_of_a_meeting_are_listed_oldest_first(storage: Storage) -> None:
    for key in ("c", "a", "b"):
        assert await enqueue(storage, key)
    jobs = await storage.digest_jobs.for_meeting("m1")
    assert [job.meeting.occurrence_key for job in jobs] == ["c", "a", "b"]
    assert [job.id for job in jobs] == sorted(job.id for job in jobs)
    assert await storage.digest_jobs.for_meeting("m2") == []


async def test_a_job_remembers_the_replays_it_posted_for_later_occurrences(
    storage: Storage,
) -> None:
    jobs = storage.digest_jobs
    await enqueue(storage, "meeting.end:m1:1")
    await enqueue(storage, "meeting.end:m2:1", meeting_id="m2")
    first = await claim_one(storage)
    assert await jobs.finish(
        first.id, worker_id="w1", outcome=JobState.POSTED, posted_replays=["r1 url1", "r2 url2"]
    )
    other = await claim_one(storage)
    await jobs.finish(other.id, worker_id="w1", outcome=JobState.POSTED, posted_replays=["x y"])
    await enqueue(storage, "meeting.end:m1:2")
    (second,) = [j for j in await jobs.for_meeting("m1") if j.id != first.id]

    assert await jobs.replays_posted_for_meeting("m1", excluding_job=second.id) == {
        "r1 url1",
        "r2 url2",
    }
    assert await jobs.replays_posted_for_meeting("m1", excluding_job=first.id) == set()
    assert await jobs.replays_posted_for_meeting("m1") == {"r1 url1", "r2 url2"}
    done = await jobs.get(first.id)
    assert done is not None and done.posted_replays == ("r1 url1", "r2 url2")
    assert second.posted_replays == ()


async def test_next_due_is_the_earliest_unleased_pending_job(storage: Storage) -> None:
    jobs = storage.digest_jobs
    assert await jobs.next_due() is None
    await enqueue(storage, "a", due_at=T0 + timedelta(minutes=5))
    await enqueue(storage, "b", due_at=T0 + timedelta(minutes=1))
    assert await jobs.next_due() == T0 + timedelta(minutes=1)

    leased = await claim_one(storage)
    assert leased.meeting.occurrence_key == "b"
    assert await jobs.next_due() == T0 + timedelta(minutes=5)
    await jobs.finish(leased.id, worker_id="w1", outcome=JobState.NO_RECIPIENTS)
    assert await jobs.next_due() == T0 + timedelta(minutes=5)
    last = await claim_one(storage)
    assert await jobs.next_due() is None
    await jobs.reschedule(last.id, worker_id="w1", due_at=T0 + timedelta(hours=2), attempts=1)
    assert await jobs.next_due() == T0 + timedelta(hours=2)


async def test_known_replays_are_a_skipped_job_that_later_jobs_respect(storage: Storage) -> None:
    jobs = storage.digest_jobs
    known = meeting("poll:m1:abc")
    recorded = await jobs.record_known_replays(known, ["r1 url1"])
    again = await jobs.record_known_replays(known, ["other"])

    assert (recorded, again) == (True, False)
    (job,) = await jobs.for_meeting("m1")
    assert (job.state, job.posted_replays) == (JobState.SKIPPED, ("r1 url1",))
    assert job.meeting == known
    assert job.finished_at is not None
    assert await jobs.replays_posted_for_meeting("m1") == {"r1 url1"}
    # Never handed to a worker, nor counted as due.
    far = T0 + timedelta(days=3650)
    assert await jobs.claim_due(worker_id="w", now=far, lease_seconds=1, limit=9) == []
    assert await jobs.next_due() is None
    # And its occurrence key is taken: the meeting end arriving later makes no job.
    assert await enqueue(storage, "poll:m1:abc") is False


async def test_known_replays_of_an_existing_job_are_not_recorded(storage: Storage) -> None:
    jobs = storage.digest_jobs
    assert await enqueue(storage, "meeting.end:m1:1")
    assert await jobs.record_known_replays(meeting("meeting.end:m1:1"), ["r1 url1"]) is False
    (job,) = await jobs.for_meeting("m1")
    assert (job.state, job.posted_replays) == (JobState.PENDING, ())
    assert await jobs.replays_posted_for_meeting("m1") == set()
