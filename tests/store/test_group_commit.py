"""Digest jobs written in groups: a burst of meeting.end deliveries shares transactions, each caller
still learns whether its own job was new, and a failed write fails only its own callers."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import DataError, OperationalError

from bot.core.group_commit import GroupCommit
from bot.store import ROW_ERRORS, NewDigest, Store

T0 = datetime(2025, 11, 25, 10, 0, tzinfo=UTC)


def job(key: str) -> NewDigest:
    return NewDigest(key, f"m-{key}", "123456789", "Weekly sync", "alice", "T1", T0)


class RecordingWrites:
    """The store's own batch write, noting the size of every batch it was given."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.batches: list[int] = []

    async def __call__(self, jobs: Sequence[NewDigest]) -> list[bool]:
        self.batches.append(len(jobs))
        return await self.store.enqueue_digests(jobs)


async def test_a_batch_reports_each_job_once(store: Store) -> None:
    assert await store.enqueue_digests([job("a")]) == [True]
    assert await store.enqueue_digests([job("a"), job("b"), job("b"), job("c")]) == [
        False,
        True,
        False,
        True,
    ]
    assert {j.occurrence_key for j in await store.digests_for_meeting("m-b")} == {"b"}


async def test_a_burst_shares_transactions_and_every_job_is_stored(store: Store) -> None:
    writes = RecordingWrites(store)
    intake = GroupCommit(writes)
    keys = [f"k{n}" for n in range(100)] + ["k1", "k2"]  # two redeliveries in the burst
    created = await asyncio.gather(*(intake.submit(job(key)) for key in keys))

    assert sum(created) == 100
    assert created[:100] == [True] * 100
    assert created[100:] == [False, False]
    assert sum(writes.batches) == len(keys)
    assert len(writes.batches) < 10  # not a transaction each
    for n in range(100):
        assert [j.occurrence_key for j in await store.digests_for_meeting(f"m-k{n}")] == [f"k{n}"]


async def test_a_quiet_write_goes_at_once_alone(store: Store) -> None:
    writes = RecordingWrites(store)
    intake = GroupCommit(writes)
    assert await intake.submit(job("a")) is True
    assert await intake.submit(job("b")) is True
    assert writes.batches == [1, 1]


async def test_a_failed_write_fails_its_callers_and_the_next_batch_still_runs(
    store: Store,
) -> None:
    failures = 1

    async def flaky(jobs: Sequence[NewDigest]) -> list[bool]:
        nonlocal failures
        if failures:
            failures -= 1
            raise OperationalError("INSERT", {}, Exception("connection lost"))
        return await store.enqueue_digests(jobs)

    intake = GroupCommit(flaky, split_on=ROW_ERRORS)
    first = asyncio.gather(intake.submit(job("a")), intake.submit(job("b")))
    with pytest.raises(OperationalError):  # not a bad row: both fail, no retry one by one
        await first
    assert await intake.submit(job("c")) is True
    assert await store.digests_for_meeting("m-a") == []
    assert await store.digests_for_meeting("m-b") == []


async def test_a_bad_item_fails_alone(store: Store) -> None:
    async def refusing_bad(jobs: Sequence[NewDigest]) -> list[bool]:
        # As PostgreSQL refuses a NUL character in text: the whole statement fails.
        if any(j.occurrence_key == "bad" for j in jobs):
            raise DataError("INSERT", {}, Exception("invalid byte sequence"))
        return await store.enqueue_digests(jobs)

    intake = GroupCommit(refusing_bad, split_on=ROW_ERRORS)
    results = await asyncio.gather(
        *(intake.submit(job(key)) for key in ("a", "bad", "b")), return_exceptions=True
    )
    assert results[0] is True and results[2] is True
    assert isinstance(results[1], DataError)


async def test_a_caller_going_away_does_not_cancel_the_write(store: Store) -> None:
    intake = GroupCommit(store.enqueue_digests)
    impatient = asyncio.ensure_future(intake.submit(job("a")))
    await asyncio.sleep(0)  # its item is waiting for the writer
    impatient.cancel()
    assert await intake.submit(job("b")) is True
    assert [j.occurrence_key for j in await store.digests_for_meeting("m-a")] == ["a"]
