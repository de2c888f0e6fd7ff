"""Heartbeats, last webhook deliveries and the digest backlog (`OpsStore`), on every backend; and
the announcements of link and DM-setting changes, which only PostgreSQL sends."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.records import EndedMeeting, Instance, JobState, LinkMethod, NewDigest
from bot.core.storage import DigestJobStore, OpsStore, Storage, StorageRejected
from bot.store import Database

T0 = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)


@dataclass
class Ops:
    store: OpsStore
    jobs: DigestJobStore


@pytest.fixture
def ops(storage: Storage) -> Ops:
    return Ops(storage.ops, storage.digest_jobs)


def instance(name: str, *, started: datetime = T0, seen: datetime = T0) -> Instance:
    return Instance(name, f"host-{name}", "1.2.3", started, seen)


async def test_heartbeats_tell_which_instances_are_alive(ops: Ops) -> None:
    store = ops.store
    await store.beat(instance("b", started=T0 + timedelta(seconds=5), seen=T0))
    await store.beat(instance("a", seen=T0))
    await store.beat(
        instance("gone", started=T0 - timedelta(hours=1), seen=T0 - timedelta(minutes=5))
    )
    # A later beat refreshes the row rather than adding one.
    await store.beat(instance("a", seen=T0 + timedelta(seconds=10)))

    alive = await store.alive(T0 - timedelta(seconds=30))
    assert [i.instance_id for i in alive] == ["a", "b"]  # earliest started first
    assert alive[0].last_seen == T0 + timedelta(seconds=10)
    assert (alive[0].host, alive[0].version, alive[0].started_at) == ("host-a", "1.2.3", T0)
    assert [i.instance_id for i in await store.alive(T0 + timedelta(seconds=1))] == ["a"]

    assert await store.forget_before(T0 - timedelta(minutes=1)) == 1
    assert len(await store.alive(T0 - timedelta(days=1))) == 2


async def test_the_newest_webhook_delivery_of_any_instance_is_the_last(ops: Ops) -> None:
    store = ops.store
    assert await store.last_webhook() is None
    await store.beat(instance("a"))
    await store.beat(instance("b"))
    await store.record_webhook("a", "accepted", T0 + timedelta(seconds=2))
    await store.record_webhook("b", "refused", T0 + timedelta(seconds=1))
    # No row, nothing recorded (an instance always beats before it serves).
    await store.record_webhook("nobody", "accepted", T0 + timedelta(seconds=9))

    last = await store.last_webhook()
    assert last is not None
    assert (last.instance_id, last.outcome, last.at) == ("a", "accepted", T0 + timedelta(seconds=2))

    # A heartbeat keeps the instance's delivery.
    await store.beat(instance("a", seen=T0 + timedelta(seconds=20)))
    await store.record_webhook("b", "unavailable", T0 + timedelta(seconds=3))
    last = await store.last_webhook()
    assert last is not None and (last.instance_id, last.outcome) == ("b", "unavailable")


async def test_the_backlog_counts_jobs_by_state_and_the_due_ones(ops: Ops) -> None:
    def job(n: int, due: datetime) -> NewDigest:
        return NewDigest(EndedMeeting(f"k{n}", f"m{n}", f"{n}", "S", "alice"), due)

    await ops.jobs.enqueue(
        [
            job(1, T0 - timedelta(seconds=90)),
            job(2, T0 - timedelta(seconds=30)),
            job(3, T0 + timedelta(seconds=60)),
            job(4, T0 - timedelta(seconds=120)),
        ]
    )
    # Job 4 is being worked on (leased), so it is not waiting; then finished.
    (leased,) = await ops.jobs.claim_due(worker_id="w", now=T0, lease_seconds=30, limit=1)
    assert leased.meeting.meeting_id == "m4"

    backlog = await ops.store.digest_backlog(T0)
    assert dict(backlog.by_state) == {"pending": 4}
    assert backlog.due == 2
    assert backlog.oldest_due_at == T0 - timedelta(seconds=90)
    assert backlog.oldest_due_age(T0) == 90

    assert await ops.jobs.finish(leased.id, worker_id="w", outcome=JobState.POSTED)
    backlog = await ops.store.digest_backlog(T0 + timedelta(seconds=60))
    assert dict(backlog.by_state) == {"pending": 3, "posted": 1}
    assert backlog.due == 3

    empty = await ops.store.digest_backlog(T0 - timedelta(hours=1))
    assert (empty.due, empty.oldest_due_at, empty.oldest_due_age(T0)) == (0, None, 0.0)


async def test_naive_times_are_refused(ops: Ops) -> None:
    with pytest.raises(StorageRejected):
        await ops.store.beat(instance("a", seen=datetime(2025, 12, 1, 9, 0)))


# --- announcements (PostgreSQL only)


async def test_sqlite_announces_nothing_and_needs_no_listener(
    database: Database, database_url: str
) -> None:
    listener = database.change_listener()
    assert (listener is None) == database_url.startswith("sqlite")


async def test_link_and_dm_changes_are_announced_when_they_commit(
    database: Database, other_database: Database
) -> None:
    listener = other_database.change_listener()
    if listener is None:
        pytest.skip("SQLite serves one instance and announces nothing")
    heard: list[Mapping[str, str]] = []
    arrived = asyncio.Event()

    def hear(change: Mapping[str, str]) -> None:
        heard.append(dict(change))
        arrived.set()

    listener.on("link", hear)
    listener.on("dm", hear)
    stop = asyncio.Event()
    task = asyncio.create_task(listener.run(stop))
    try:
        assert await listener.wait_listening(5)
        storage = database.storage

        async def next_change() -> Mapping[str, str]:
            async with asyncio.timeout(5):
                await arrived.wait()
            arrived.clear()
            return heard.pop(0)

        await storage.links.save("T1", "U1", "alice", method=LinkMethod.ADMIN, linked_by="UA")
        assert await next_change() == {"kind": "link", "team": "T1", "user": "U1"}
        assert await storage.links.delete("T1", "U1") is not None
        assert await next_change() == {"kind": "link", "team": "T1", "user": "U1"}
        await storage.preferences.set_dm_digests("T1", "U2", False)
        assert await next_change() == {"kind": "dm", "team": "T1", "user": "U2"}
        # A write refused by the database is rolled back, and so is its announcement.
        with pytest.raises(StorageRejected):
            await storage.links.save("T1", "U3\x00", "x", method=LinkMethod.ADMIN, linked_by="UA")
        await storage.links.save("T1", "U4", "bob", method=LinkMethod.ADMIN, linked_by="UA")
        assert await next_change() == {"kind": "link", "team": "T1", "user": "U4"}
        assert heard == []
    finally:
        stop.set()
        await task
    assert not listener.listening
