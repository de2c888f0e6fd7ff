"""Digest jobs written in groups: a burst of meeting.end deliveries shares transactions, each caller
still learns whether its own job was new, and a failed write fails only its own callers. On every
backend."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from bot.core.group_commit import GroupCommit
from bot.core.records import EndedMeeting, NewDigest
from bot.core.storage import Storage, StorageRejected, StorageUnavailable

T0 = datetime(2025, 11, 25, 10, 0, tzinfo=UTC)


def job(key: str) -> NewDigest:
    return NewDigest(EndedMeeting(key, f"m-{key}", "123456789", "Weekly sync", "alice"), T0)


async def keys_of_meeting(storage: Storage, meeting_id: str) -> list[str]:
    return [j.meeting.occurrence_key for j in await storage.digest_jobs.for_meeting(meeting_id)]


class RecordingWrites:
    """The store's own batch write, noting the size of every batch it was given."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.batches: list[int] = []

    async def __call__(self, jobs: Sequence[NewDigest]) -> list[bool]:
        self.batches.append(len(jobs))
        return await self.storage.digest_jobs.enqueue(jobs)


async def test_a_batch_reports_each_job_once(storage: Storage) -> None:
    enqueue = storage.digest_jobs.enqueue
    assert await enqueue([job("a")]) == [True]
    assert await enqueue([job("a"), job("b"), job("b"), job("c")]) == [False, True, False, True]
    assert await keys_of_meeting(storage, "m-b") == ["b"]


async def test_the_first_of_two_jobs_with_one_key_in_a_batch_is_the_one_stored(
    storage: Storage,
) -> None:
    first = job("k")
    second = NewDigest(EndedMeeting("k", "m-k", "999999999", "Another", "bob"), T0)
    assert await storage.digest_jobs.enqueue([first, second]) == [True, False]
    (stored,) = await storage.digest_jobs.for_meeting("m-k")
    assert stored.meeting == first.meeting


async def test_a_burst_shares_transactions_and_every_job_is_stored(storage: Storage) -> None:
    writes = RecordingWrites(storage)
    intake = GroupCommit(writes)
    keys = [f"k{n}" for n in range(100)] + ["k1", "k2"]  # two redeliveries in the burst
    created = await asyncio.gather(*(intake.submit(job(key)) for key in keys))

    assert sum(created) == 100
    assert created[:100] == [True] * 100
    assert created[100:] == [False, False]
    assert sum(writes.batches) == len(keys)
    assert len(writes.batches) < 10  # not a transaction each
    for n in range(100):
        assert await keys_of_meeting(storage, f"m-k{n}") == [f"k{n}"]


async def test_a_quiet_write_goes_at_once_alone(storage: Storage) -> None:
    writes = RecordingWrites(storage)
    intake = GroupCommit(writes)
    assert await intake.submit(job("a")) is True
    assert await intake.submit(job("b")) is True
    assert writes.batches == [1, 1]


async def test_a_failed_write_fails_its_callers_and_the_next_batch_still_runs(
    storage: Storage,
) -> None:
    failures = 1

    async def flaky(jobs: Sequence[NewDigest]) -> list[bool]:
        nonlocal failures
        if failures:
            failures -= 1
            raise StorageUnavailable("connection lost")
        return await storage.digest_jobs.enqueue(jobs)

    intake = GroupCommit(flaky, split_on=(StorageRejected,))
    first = asyncio.gather(intake.submit(job("a")), intake.submit(job("b")))
    with pytest.raises(StorageUnavailable):  # not a bad row: both fail, no retry one by one
        await first
    assert await intake.submit(job("c")) is True
    assert await storage.digest_jobs.for_meeting("m-a") == []
    assert await storage.digest_jobs.for_meeting("m-b") == []


async def test_a_bad_item_fails_alone(storage: Storage) -> None:
    async def refusing_bad(jobs: Sequence[NewDigest]) -> list[bool]:
        # As PostgreSQL refuses a NUL character in text: the whole statement fails.
        if any(j.meeting.occurrence_key == "bad" for j in jobs):
            raise StorageRejected("invalid byte sequence")
        return await storage.digest_jobs.enqueue(jobs)

    intake = GroupCommit(refusing_bad, split_on=(StorageRejected,))
    results = await asyncio.gather(
        *(intake.submit(job(key)) for key in ("a", "bad", "b")), return_exceptions=True
    )
    assert results[0] is True and results[2] is True
    assert isinstance(results[1], StorageRejected)


async def test_a_caller_going_away_does_not_cancel_the_write(storage: Storage) -> None:
    intake = GroupCommit(storage.digest_jobs.enqueue)
    impatient = asyncio.ensure_future(intake.submit(job("a")))
    await asyncio.sleep(0)  # its item is waiting for the writer
    impatient.cancel()
    assert await intake.submit(job("b")) is True
    assert await keys_of_meeting(storage, "m-a") == ["a"]
